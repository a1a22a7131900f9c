//! The split manifest: every input file, how it is read, and its byte-range splits.
//!
//! Owns planning splits from file sizes (no record is read: the ownership rule of
//! `input::split` makes any cut correct) and the manifest's JSON form with its id. It must
//! not read records.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{digest, ExchangeError, Unread};
use crate::input::{self, split, Format, Opened};

/// The manifest format this version writes and reads.
pub const MANIFEST_VERSION: u32 = 1;

/// The default split size: 256 MiB.
pub const DEFAULT_SPLIT: u64 = 256 << 20;

/// The splits of a set of input files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The format version (`MANIFEST_VERSION`).
    pub tsreplay_manifest: u32,
    /// A digest of everything below: partials name the manifest by it.
    pub id: String,
    /// The split size asked for, in bytes.
    pub split_size: u64,
    /// The files with splits, in the order their splits are numbered.
    pub files: Vec<ManifestFile>,
    /// The splits; a split's id is its position.
    pub splits: Vec<Split>,
    /// Paths not read, empty files and repeated paths (reported again by `finish`).
    pub unread: Unread,
}

impl ManifestFile {
    /// Its format (checked by `Manifest::read`; JSON lines for a name it would refuse).
    pub fn format(&self) -> Format {
        Format::from_name(&self.format).unwrap_or(Format::JsonLines)
    }
}

/// One input file of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// The path as given (executors must see the same path).
    pub path: PathBuf,
    /// `xml`, `json-lines` or `evtx`.
    pub format: String,
    /// Read as one stream (compressed, a pipe, or UTF-16 text): a single split.
    pub whole: bool,
    /// Its size in bytes when the manifest was made.
    pub size: u64,
    /// Its modification time then, in nanoseconds since 1970.
    pub modified_ns: u64,
    /// The bytes its splits cover: its text after a byte-order mark (decoded, for UTF-16),
    /// or all of an EVTX file, or its size for a stream.
    pub len: u64,
}

/// One split: the records that start in bytes `[start, end)` of a file's text (after a BOM),
/// or the EVTX chunks that start there, or a whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// The file, as an index into `files`.
    pub file: u32,
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl Manifest {
    /// Plans the splits of the files under `paths`, about `size` bytes each; `forced` is a
    /// format forced on every file (`--sourcetype`).
    pub fn plan(paths: &[PathBuf], size: u64, forced: Option<Format>) -> Manifest {
        let found = input::discover(paths);
        let mut m = Manifest {
            tsreplay_manifest: MANIFEST_VERSION,
            id: String::new(),
            split_size: size.max(1),
            files: Vec::new(),
            splits: Vec::new(),
            unread: Unread {
                failed: found.errors.into_iter().map(|e| (e.path, e.reason)).collect(),
                empty: Vec::new(),
                repeated: found.repeats,
            },
        };
        for path in found.files {
            if path.as_os_str() == "-" {
                let why = "standard input cannot be split: give files".to_string();
                m.unread.failed.push((path, why));
                continue;
            }
            m.add_file(&path, forced);
        }
        m.id = m.content_digest();
        log::debug!("splits: {} files in {} splits", m.files.len(), m.splits.len());
        m
    }

    fn add_file(&mut self, path: &Path, forced: Option<Format>) {
        let regular = std::fs::metadata(path).is_ok_and(|m| m.is_file());
        if !regular {
            let why = "not a regular file: a pipe or device is read once, so it cannot be split \
                       (give it to `run`)";
            return self.unread.failed.push((path.to_path_buf(), why.to_string()));
        }
        let (format, whole, len) = match input::open(path, forced, 64 << 10) {
            Opened::File(f) => (f.format, f.decoded, f.data().len()),
            Opened::Stream(s) => {
                (s.format, true, std::fs::metadata(path).map_or(1, |m| m.len() as usize).max(1))
            }
            Opened::Empty(p) => return self.unread.empty.push(p),
            Opened::Failed(e) => return self.unread.failed.push((e.path, e.reason)),
        };
        let stamp = match FileStamp::of(path) {
            Ok(s) => s,
            Err(e) => {
                let why = format!("cannot read: {e}");
                return self.unread.failed.push((path.to_path_buf(), why));
            }
        };
        let file = self.files.len() as u32;
        self.files.push(ManifestFile {
            path: path.to_path_buf(),
            format: format.name().to_string(),
            whole,
            size: stamp.size,
            modified_ns: stamp.modified_ns,
            len: len as u64,
        });
        let cuts = match whole {
            true => std::iter::once(0..len).collect(),
            false => split::cut(len, format, self.split_size as usize),
        };
        for r in cuts {
            self.splits.push(Split { file, start: r.start as u64, end: r.end as u64 });
        }
    }

    /// The digest of the manifest's content, without its id.
    fn content_digest(&self) -> String {
        let mut bare = self.clone();
        bare.id = String::new();
        digest(&serde_json::to_string(&bare).expect("a manifest serialises"))
    }

    /// The manifest as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest serialises") + "\n"
    }

    /// Reads a manifest file and checks its id.
    pub fn read(path: &Path) -> Result<Manifest, ExchangeError> {
        let io = |source| ExchangeError::Io { path: path.to_path_buf(), source };
        let text = input::read_regular(path, 1 << 30, "1 GiB").map_err(io)?;
        let m: Manifest = serde_json::from_slice(&text)
            .map_err(|source| ExchangeError::Json { path: path.to_path_buf(), source })?;
        if m.tsreplay_manifest != MANIFEST_VERSION || m.id != m.content_digest() {
            return Err(ExchangeError::ManifestEdited(path.to_path_buf()));
        }
        if let Some(what) = m.problem() {
            return Err(ExchangeError::ManifestInvalid { path: path.to_path_buf(), what });
        }
        Ok(m)
    }

    /// What makes the manifest one `plan` cannot have written, if anything: each file's
    /// splits must follow one another from byte 0 to its length, without gap or overlap (a
    /// whole file has one), and formats must be known.
    fn problem(&self) -> Option<&'static str> {
        if self.files.iter().any(|f| Format::from_name(&f.format).is_none()) {
            return Some("a file has an unknown format");
        }
        let mut seen = std::collections::HashSet::new();
        for f in &self.files {
            if !seen.insert(std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone())) {
                return Some("a file is listed twice");
            }
            if !f.whole && f.len > f.size {
                return Some("a file's split length is past its size");
            }
        }
        let mut next = vec![0u64; self.files.len()];
        let mut count = vec![0usize; self.files.len()];
        let mut last_file = 0;
        for s in &self.splits {
            let f = s.file as usize;
            if f >= self.files.len() {
                return Some("a split names a file past the file list");
            }
            if f < last_file || s.start != next[f] || s.end <= s.start {
                return Some("a file's splits do not follow one another from its first byte");
            }
            (last_file, next[f], count[f]) = (f, s.end, count[f] + 1);
        }
        for (i, f) in self.files.iter().enumerate() {
            if next[i] != f.len || (f.whole && count[i] != 1) {
                return Some("a file's splits do not cover it exactly once");
            }
        }
        None
    }

    /// Split `id`, checked.
    pub fn split(&self, id: u32) -> Result<Split, ExchangeError> {
        let splits = self.splits.len();
        self.splits
            .get(id as usize)
            .copied()
            .ok_or(ExchangeError::NoSuchSplit { split: id, splits })
    }

    /// Checks that a listed file is as the manifest saw it.
    pub fn check_unchanged(&self, file: &ManifestFile) -> Result<(), ExchangeError> {
        let changed = |what: String| ExchangeError::FileChanged { path: file.path.clone(), what };
        if !std::fs::metadata(&file.path).is_ok_and(|m| m.is_file()) && file.path.exists() {
            let reason = "not a regular file now; a manifest lists regular files only".into();
            return Err(ExchangeError::FileUnreadable { path: file.path.clone(), reason });
        }
        let now = FileStamp::of(&file.path).map_err(|e| {
            let reason =
                format!("cannot be read now ({e}), though it was when the manifest was made");
            ExchangeError::FileUnreadable { path: file.path.clone(), reason }
        })?;
        if now.size != file.size {
            return Err(changed(format!("its size went from {} to {} bytes", file.size, now.size)));
        }
        if now.modified_ns != file.modified_ns {
            return Err(changed("it was modified".to_string()));
        }
        Ok(())
    }
}

/// A file's size and modification time.
struct FileStamp {
    size: u64,
    modified_ns: u64,
}

impl FileStamp {
    fn of(path: &Path) -> std::io::Result<FileStamp> {
        let m = std::fs::metadata(path)?;
        let t = m.modified()?.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Ok(FileStamp { size: m.len(), modified_ns: t.as_nanos() as u64 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(dir: &Path) -> Manifest {
        let text = "{\"a\":1}\n".repeat(100); // 800 bytes
        let path = dir.join("a.json");
        std::fs::write(&path, text).unwrap();
        Manifest::plan(&[path], 100, None)
    }

    /// Writes `m` with its id recomputed, as a hand edit that knows the digest would.
    fn reread(dir: &Path, mut m: Manifest) -> Result<Manifest, ExchangeError> {
        m.id = m.content_digest();
        let path = dir.join("m.json");
        std::fs::write(&path, m.to_json()).unwrap();
        Manifest::read(&path)
    }

    #[test]
    fn splits_that_plan_cannot_write_are_refused_even_with_a_good_id() {
        let dir = tempfile::tempdir().unwrap();
        let m = planned(dir.path());
        assert_eq!(m.splits.len(), 8);
        assert!(reread(dir.path(), m.clone()).is_ok());
        let invalid = |m: Manifest| match reread(dir.path(), m) {
            Err(ExchangeError::ManifestInvalid { what, .. }) => what,
            other => panic!("not refused: {other:?}"),
        };
        let mut doubled = m.clone();
        doubled.splits.insert(3, doubled.splits[2]);
        assert!(invalid(doubled).contains("do not follow one another"));
        let mut gap = m.clone();
        gap.splits.remove(3);
        assert!(invalid(gap).contains("do not follow one another"));
        let mut short = m.clone();
        short.splits.pop();
        assert!(invalid(short).contains("cover it exactly once"));
        let mut far = m.clone();
        far.splits[0].file = 7;
        assert!(invalid(far).contains("past the file list"));
        let mut format = m.clone();
        format.files[0].format = "csv".into();
        assert!(invalid(format).contains("unknown format"));
        // The same file under a second name, with its splits again: counted twice.
        let mut twice = m;
        let mut alias = twice.files[0].clone();
        alias.path = dir.path().join(".").join("a.json");
        twice.files.push(alias);
        let again: Vec<Split> = twice.splits.iter().map(|s| Split { file: 1, ..*s }).collect();
        twice.splits.extend(again);
        assert!(invalid(twice).contains("listed twice"));
    }
}
