//! The distributed contract: split manifests, partial group tables, their merge and the
//! checks that make a result complete.
//!
//! Owns the on-disk forms (a manifest is JSON, a partial is an Arrow IPC file) and the rules
//! that keep a distributed run equal to a local one: a partial is stamped with its rules,
//! profile, manifest and the splits it covers; merging refuses partials with another stamp or
//! overlapping splits; finishing refuses a merge that misses splits. It must not read
//! records, map fields or evaluate rules: `engine` runs a split and finishes a merge, with the
//! same functions as a local run.

pub mod ipc;
pub mod manifest;
pub mod partial;

use std::path::PathBuf;

pub use manifest::{Manifest, Split};
pub use partial::{Body, Partial, RuleStamp, Stamp, Unread};

/// Why a manifest or partial could not be made, read, merged or finished.
#[derive(Debug)]
pub enum ExchangeError {
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A manifest or partial stamp that is not the JSON this version writes.
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A manifest whose content does not match its id (edited by hand, or damaged).
    ManifestEdited(PathBuf),
    /// A manifest whose splits `tsreplay splits` cannot have written.
    ManifestInvalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: &'static str,
    },
    /// `--split N` where the manifest has fewer splits.
    NoSuchSplit {
        /// The split asked for.
        split: u32,
        /// How many the manifest has.
        splits: usize,
    },
    /// A data file that is not as it was when the manifest was made.
    FileChanged {
        /// The file.
        path: PathBuf,
        /// What differs.
        what: String,
    },
    /// A data file that cannot be opened or recognised now.
    FileUnreadable {
        /// The file.
        path: PathBuf,
        /// Why (the input stage's reason).
        reason: String,
    },
    /// Arrow could not read or write a partial.
    Arrow {
        /// The file.
        path: PathBuf,
        /// Arrow's error.
        source: arrow_schema::ArrowError,
    },
    /// An Arrow file that is not a tsreplay partial.
    NotPartial {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        what: &'static str,
    },
    /// A group state that cannot be read, or that does not fit its rule.
    State {
        /// The file.
        path: PathBuf,
        /// The rule.
        rule: String,
        /// What is wrong.
        source: crate::group::encode::StateError,
    },
    /// Two partials made with different rules, profiles, manifests or tsreplay versions.
    Mismatch {
        /// What differs: `rules`, `profile`, `manifest` or `tsreplay version`.
        what: &'static str,
        /// One side's value.
        left: String,
        /// The other's.
        right: String,
    },
    /// Two partials that cover the same splits: merging them would count those twice.
    Overlap(Vec<u32>),
    /// A merge that lacks splits of the manifest.
    Missing {
        /// The first splits not covered (at most 20).
        missing: Vec<u32>,
        /// How many are not covered.
        count: usize,
        /// How many the manifest has.
        total: u32,
    },
    /// A rule stamped in a partial that does not compile back to the same plan.
    Recompile {
        /// The rule.
        rule: String,
        /// Why, when compiling failed.
        source: Option<Box<crate::spl::CompileError>>,
    },
    /// No partial was given to merge.
    NothingToMerge,
    /// The paths hold nothing to split (no file, or only empty or unreadable ones).
    NoSplits,
}

impl ExchangeError {
    /// Whether this is a file that could not be read or a request that cannot be met (exit
    /// status 2), rather than a refusal of the contract (exit status 4).
    pub fn is_unreadable_or_usage(&self) -> bool {
        matches!(
            self,
            ExchangeError::Io { .. }
                | ExchangeError::NoSuchSplit { .. }
                | ExchangeError::NothingToMerge
                | ExchangeError::NoSplits
        )
    }
}

impl std::fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use ExchangeError as E;
        match self {
            E::Io { path, source } => write!(f, "{}: {source}", path.display()),
            E::Json { path, source } => {
                write!(f, "{}: not a tsreplay manifest or stamp: {source}", path.display())
            }
            E::ManifestEdited(p) => write!(
                f,
                "{}: the manifest's content does not match its id (edited or damaged); make it \
                 again with `tsreplay splits`",
                p.display()
            ),
            E::ManifestInvalid { path, what } => write!(
                f,
                "{}: not a manifest `tsreplay splits` writes: {what}; make it again",
                path.display()
            ),
            E::NoSuchSplit { split, splits: 0 } => {
                write!(f, "split {split} is not in the manifest, which has no splits")
            }
            E::NoSuchSplit { split, splits } => {
                write!(f, "split {split} is not in the manifest, which has splits 0 to ")?;
                write!(f, "{}", splits - 1)
            }
            E::FileChanged { path, what } => write!(
                f,
                "{}: {what} since the manifest was made; make the manifest again",
                path.display()
            ),
            E::FileUnreadable { path, reason } => write!(f, "{}: {reason}", path.display()),
            E::Arrow { path, source } => write!(f, "{}: Arrow IPC: {source}", path.display()),
            E::NotPartial { path, what } => {
                write!(f, "{}: not a tsreplay partial: {what}", path.display())
            }
            E::State { path, rule, source } => {
                write!(f, "{}: rule `{rule}`: {source}", path.display())
            }
            E::Mismatch { what, left, right } => write!(
                f,
                "the partials were made with different {what} ({left} against {right}); only \
                 partials of one `tsreplay partial` setup merge"
            ),
            E::Overlap(splits) => write!(
                f,
                "both partials cover split {}: merging them would count those records twice \
                 (a retried task's partial replaces the first one, it is not added)",
                ranges(splits)
            ),
            E::Missing { missing, count, total } => {
                let more = count - missing.len();
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                write!(
                    f,
                    "the merge covers {} of {total} splits; missing: split {}{more} (run \
                     `tsreplay partial MANIFEST --split N` for each and merge them in)",
                    *total as usize - count,
                    ranges(missing)
                )
            }
            E::Recompile { rule, source: Some(e) } => {
                write!(f, "rule `{rule}` stamped in the partial does not compile: {e}")
            }
            E::Recompile { rule, source: None } => write!(
                f,
                "rule `{rule}` stamped in the partial compiles to another search by this \
                 tsreplay"
            ),
            E::NothingToMerge => f.write_str("no partial to merge"),
            E::NoSplits => f.write_str(
                "no split: the paths hold no file with records to read (unreadable and empty \
                 files are named above); there is nothing to run",
            ),
        }
    }
}

impl std::error::Error for ExchangeError {}

/// Split ids as `0, 3-5, 9`.
pub fn ranges(ids: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        out.push(if i == j { ids[i].to_string() } else { format!("{}-{}", ids[i], ids[j]) });
        i = j + 1;
    }
    out.join(", ")
}

/// A short stable digest of `text` (FNV-1a, 64 bits, hex): it tells stamps apart, it does not
/// protect against tampering.
pub fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_ranges_read_as_people_write_them() {
        assert_eq!(ranges(&[0, 3, 4, 5, 9]), "0, 3-5, 9");
        assert_eq!(ranges(&[]), "");
        // FNV-1a of the empty string is its offset basis.
        assert_eq!(digest(""), "cbf29ce484222325");
    }
}
