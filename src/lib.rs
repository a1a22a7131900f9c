//! tsreplay replays Splunk security_content detections over security logs offline and returns
//! the rows Splunk's search would return over the same raw events.
//!
//! # Pipeline
//!
//! ```text
//!  input ──► prefilter ──► event ──► cim ──► eval ──► group ──► output
//!  (mmap,    (raw-byte     (only the   (add-on   (tstats   (per-worker  (post-ops,
//!   chunks)   literals)     projected   profile,   WHERE)    hash maps,   table/csv/json,
//!                           fields)     CIM)                 merged)      summary)
//!                 ▲            ▲          ▲         ▲          ▲
//!                 └────────────┴──── plan ◄── spl (YAML, macros, SPL subset)
//! ```
//!
//! `engine` is the only module that wires stages together. Dependencies point one way:
//! `spl → plan → cim::datamodel`; `prefilter → plan, schema`; `eval → plan, cim (event
//! values)`; `group → plan, cim`; `event → schema`; `cim → event, schema`; `output → group,
//! plan, eval, schema`. `input` knows nothing about rules.
//!
//! Around the pipeline: `compare` reads result tables (Splunk exports, tsreplay's own output)
//! and compares them, reading only `output` tables and `cim::profile`; `harness` runs a
//! detection's `tests:` by calling `engine` as the command line does; `catalog` compiles every
//! detection under some folders into a rule set for `engine::run_set` and reports coverage.
#![deny(missing_docs)]

pub mod bench;
pub mod catalog;
pub mod cim;
pub mod compare;
pub mod engine;
pub mod error;
pub mod eval;
pub mod event;
pub mod exchange;
pub mod fuzzing;
pub mod gen;
pub mod group;
pub mod harness;
pub mod input;
pub mod output;
pub mod plan;
pub mod prefilter;
pub mod schema;
pub mod spl;
