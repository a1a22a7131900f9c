//! Stage 3: CIM normalisation. Raw source fields → Endpoint.Processes fields, through the
//! add-on mapping profile (data, `profile`) and the data model's calculated fields
//! (`datamodel`).
//!
//! Owns the meaning of every CIM value. It must not read bytes or evaluate rules.

pub mod datamodel;
pub mod mapping;
pub mod profile;
pub mod time;

pub use mapping::{CimEvent, Mapper, Unmapped};
pub use profile::{Profile, ProfileError};
