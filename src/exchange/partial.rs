//! Partial results: the group tables and counters of some splits, with the stamp that says
//! what made them, and the merge that combines them.
//!
//! Owns the merge rules (associative and commutative: tables fold group by group, counters
//! add, covered splits unite) and the checks around them. It must not read records or finish
//! rows: `engine` does both.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ExchangeError;
use crate::group::GroupTable;
use crate::output::stats::Stats;

/// What one rule of a partial is: enough to check it and to compile it back for finishing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStamp {
    /// The detection's name.
    pub name: String,
    /// Its id (empty when the YAML has none).
    pub id: String,
    /// Its version text.
    pub version: String,
    /// Its search after macro expansion.
    pub search: String,
}

/// The inputs a manifest lists without splits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unread {
    /// Paths that could not be read or recognised, with the reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Empty files.
    pub empty: Vec<PathBuf>,
    /// Input paths that named a file already listed.
    pub repeated: usize,
}

/// What made a partial: merging needs equal stamps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// The tsreplay version that wrote it.
    pub tsreplay: String,
    /// The manifest's id.
    pub manifest: String,
    /// How many splits the manifest has.
    pub splits: u32,
    /// The manifest's files, for the summary's locations.
    pub files: Vec<PathBuf>,
    /// What the manifest could not split: paths not read, empty files, repeated paths.
    pub unread: Unread,
    /// For rules given as `--rules`: how many detections compiled, of how many found (the
    /// rows are then printed per rule, as `run --rules` prints them).
    pub catalog: Option<(usize, usize)>,
    /// Where the mapping profile came from, and a digest of it.
    pub profile: (String, String),
    /// The rules, in result order.
    pub rules: Vec<RuleStamp>,
}

impl Stamp {
    /// The first field in which `self` and `other` differ, as a mismatch error.
    fn differs(&self, other: &Stamp) -> Option<ExchangeError> {
        let mismatch =
            |what, left: String, right: String| Some(ExchangeError::Mismatch { what, left, right });
        if self.tsreplay != other.tsreplay {
            return mismatch("tsreplay versions", self.tsreplay.clone(), other.tsreplay.clone());
        }
        if self.manifest != other.manifest || self.splits != other.splits {
            return mismatch("manifests", self.manifest.clone(), other.manifest.clone());
        }
        if self.profile != other.profile {
            return mismatch("profiles", self.profile.0.clone(), other.profile.0.clone());
        }
        if self.rules != other.rules || self.catalog != other.catalog {
            let names = |s: &Stamp| {
                let shown: Vec<String> = s.rules.iter().take(3).map(rule_label).collect();
                let n = s.rules.len();
                format!("{n} rule{}: {}", if n == 1 { "" } else { "s" }, shown.join(", "))
            };
            return mismatch("rule sets", names(self), names(other));
        }
        (self.files != other.files || self.unread != other.unread).then(|| {
            ExchangeError::Mismatch {
                what: "manifests",
                left: "its file list".into(),
                right: "another".into(),
            }
        })
    }
}

fn rule_label(r: &RuleStamp) -> String {
    format!("`{}` v{}", r.name, r.version)
}

/// The results of some records: per rule a group table and counts, and the counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Body {
    /// One group table per rule (not in the JSON part: in the Arrow rows).
    #[serde(skip)]
    pub tables: Vec<GroupTable>,
    /// Per rule: events matched, and of those dropped for a missing BY field.
    pub counts: Vec<(u64, u64)>,
    /// The record counters, with locations as manifest file indices.
    pub stats: Stats,
    /// Files that failed while read (a stream that stopped), with the reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Files that changed while read without loss, with what happened.
    pub changed: Vec<(PathBuf, String)>,
    /// Seconds spent reading, summed over the merged parts.
    pub seconds: f64,
}

impl Body {
    /// An empty body for `rules` rules.
    pub fn new(rules: usize) -> Body {
        Body {
            tables: vec![GroupTable::default(); rules],
            counts: vec![(0, 0); rules],
            ..Body::default()
        }
    }

    /// Folds `other` into this body. Both must be for the same rules.
    pub fn merge(&mut self, other: Body) {
        for (a, b) in self.tables.iter_mut().zip(other.tables) {
            a.merge(b);
        }
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            a.0 = a.0.saturating_add(b.0);
            a.1 = a.1.saturating_add(b.1);
        }
        self.stats.merge(other.stats);
        self.failed.extend(other.failed);
        self.changed.extend(other.changed);
        self.seconds = (self.seconds + other.seconds).min(f64::MAX);
    }
}

/// A body with its stamp and the splits it covers.
#[derive(Debug, Clone)]
pub struct Partial {
    /// What made it.
    pub stamp: Stamp,
    /// The manifest splits whose records it holds.
    pub covered: BTreeSet<u32>,
    /// The results.
    pub body: Body,
}

/// The JSON part of a partial as read: everything but the group tables (the body's fields
/// sit beside the stamp, its tables left empty).
#[derive(Debug, Deserialize)]
pub struct Meta {
    /// The partial format version (`PARTIAL_VERSION`).
    pub tsreplay_partial: u32,
    /// The stamp.
    pub stamp: Stamp,
    /// The covered splits.
    pub covered: Vec<u32>,
    /// The counters, without tables.
    #[serde(flatten)]
    pub body: Body,
}

/// The JSON part of a partial as written: `Meta`'s fields, borrowed.
#[derive(Serialize)]
pub struct MetaRef<'p> {
    tsreplay_partial: u32,
    stamp: &'p Stamp,
    covered: &'p BTreeSet<u32>,
    #[serde(flatten)]
    body: &'p Body,
}

/// The partial format this version writes and reads.
pub const PARTIAL_VERSION: u32 = 1;

impl Partial {
    /// Folds `other` into this partial, refusing another stamp or an overlap.
    pub fn merge(&mut self, other: Partial) -> Result<(), ExchangeError> {
        if let Some(e) = self.stamp.differs(&other.stamp) {
            return Err(e);
        }
        let both: Vec<u32> = self.covered.intersection(&other.covered).copied().collect();
        if !both.is_empty() {
            return Err(ExchangeError::Overlap(both));
        }
        self.covered.extend(other.covered);
        let mut body = other.body;
        for (rule, (a, b)) in self.body.tables.iter_mut().zip(body.tables.drain(..)).enumerate() {
            a.merge_checked(b).map_err(|source| ExchangeError::State {
                path: PathBuf::from("(merge)"),
                rule: self.stamp.rules[rule].name.clone(),
                source,
            })?;
        }
        self.body.merge(body);
        Ok(())
    }

    /// Checks that every split of the manifest is covered.
    pub fn check_complete(&self) -> Result<(), ExchangeError> {
        let total = self.stamp.splits;
        let count = total as usize - self.covered.range(..total).count();
        if count == 0 {
            return Ok(());
        }
        // Only the first few are named: a stamp may claim billions of splits.
        let missing = (0..total).filter(|s| !self.covered.contains(s)).take(20).collect();
        Err(ExchangeError::Missing { missing, count, total })
    }

    /// The JSON part, without the group tables.
    pub fn meta(&self) -> MetaRef<'_> {
        let (stamp, covered, body) = (&self.stamp, &self.covered, &self.body);
        MetaRef { tsreplay_partial: PARTIAL_VERSION, stamp, covered, body }
    }

    /// What is wrong with a JSON part, if anything: splits past the manifest's count,
    /// counts for another number of rules, or a reading time that is not one.
    pub fn meta_problem(m: &Meta) -> Option<&'static str> {
        if m.covered.iter().any(|s| *s >= m.stamp.splits) {
            return Some("it covers a split past the manifest's splits");
        }
        if m.body.counts.len() != m.stamp.rules.len() {
            return Some("its counts are for another number of rules than its stamp's");
        }
        if !(m.body.seconds.is_finite() && m.body.seconds >= 0.0) {
            return Some("its reading time is not a number of seconds");
        }
        if m.stamp
            .catalog
            .is_some_and(|(compiled, found)| compiled != m.stamp.rules.len() || compiled > found)
        {
            return Some("its stamp's count of compiled detections does not match its rules");
        }
        None
    }

    /// A partial with empty tables from its JSON part (checked with `meta_problem`).
    pub fn from_meta(m: Meta) -> Partial {
        let mut body = m.body;
        body.tables = vec![GroupTable::default(); m.stamp.rules.len()];
        Partial { stamp: m.stamp, covered: m.covered.into_iter().collect(), body }
    }
}
