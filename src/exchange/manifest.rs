//! The split manifest: every input file, how it is read, and its byte-range splits.
//!
//! Owns planning splits from file sizes (no record is read: the ownership rule of
//! `input::split` makes any cut correct) and the manifest's JSON form with its id. It must
//! not read records.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{digest, ExchangeError};
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
    /// Paths that could not be read or recognised, with the reason (reported by `finish`).
    pub failed: Vec<(PathBuf, String)>,
    /// Empty files.
    pub empty: Vec<PathBuf>,
    /// Input paths that named a file already listed.
    pub repeated_paths: usize,
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
            failed: found.errors.into_iter().map(|e| (e.path, e.reason)).collect(),
            empty: Vec::new(),
            repeated_paths: found.repeats,
        };
        for path in found.files {
            if path.as_os_str() == "-" {
                let why = "standard input cannot be split: give files".to_string();
                m.failed.push((path, why));
                continue;
            }
            m.add_file(&path, forced);
        }
        m.id = m.content_digest();
        log::debug!("splits: {} files in {} splits", m.files.len(), m.splits.len());
        m
    }

    fn add_file(&mut self, path: &Path, forced: Option<Format>) {
        let (format, whole, len) = match input::open(path, forced, 64 << 10) {
            Opened::File(f) => (f.format, f.decoded, f.data().len()),
            Opened::Stream(s) => (s.format, true, 1),
            Opened::Empty(p) => return self.empty.push(p),
            Opened::Failed(e) => return self.failed.push((e.path, e.reason)),
        };
        let Some(stamp) = FileStamp::of(path) else {
            let why = "cannot read its size and time".to_string();
            return self.failed.push((path.to_path_buf(), why));
        };
        let file = self.files.len() as u32;
        self.files.push(ManifestFile {
            path: path.to_path_buf(),
            format: format.name().to_string(),
            whole,
            size: stamp.size,
            modified_ns: stamp.modified_ns,
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
        Ok(m)
    }

    /// Split `id`, checked.
    pub fn split(&self, id: u32) -> Result<Split, ExchangeError> {
        let splits = self.splits.len();
        self.splits
            .get(id as usize)
            .copied()
            .ok_or(ExchangeError::NoSuchSplit { split: id, splits })
    }

    /// The format of a listed file.
    pub fn format_of(&self, file: &ManifestFile) -> Format {
        match file.format.as_str() {
            "evtx" => Format::Evtx,
            "xml" => Format::Xml,
            _ => Format::JsonLines,
        }
    }

    /// Checks that a listed file is as the manifest saw it.
    pub fn check_unchanged(&self, file: &ManifestFile) -> Result<(), ExchangeError> {
        let changed = |what: String| ExchangeError::FileChanged { path: file.path.clone(), what };
        let now = FileStamp::of(&file.path).ok_or_else(|| {
            let reason = "cannot be read now, though it was when the manifest was made";
            ExchangeError::FileUnreadable { path: file.path.clone(), reason: reason.into() }
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
    fn of(path: &Path) -> Option<FileStamp> {
        let m = std::fs::metadata(path).ok()?;
        let t = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
        Some(FileStamp { size: m.len(), modified_ns: t.as_nanos() as u64 })
    }
}
