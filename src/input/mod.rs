//! Stage 1: bytes in. Walks the input paths, recognises each file, maps it (or decodes it),
//! and hands out chunks cut at record boundaries; EVTX files are read through the evtx crate.
//!
//! Owns paths, encodings and framing. It knows nothing about rules and must not parse
//! records.

pub mod detect;
pub mod evtx;
pub mod frame;
pub mod mmap;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use detect::Format;
pub use mmap::Bytes;

/// A path that could not be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The path.
    pub path: PathBuf,
    /// The reason, for the summary.
    pub reason: String,
}

/// A recognised, opened input file.
#[derive(Debug)]
pub struct InputFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Its text (after BOM removal and UTF-16 decoding), or its EVTX bytes.
    pub bytes: Bytes,
    /// Bytes dropped at the start (a BOM), added back to reported offsets.
    pub skip: usize,
    /// Whether the text was decoded from UTF-16 (offsets then refer to the decoded text).
    pub decoded: bool,
}

impl InputFile {
    /// The bytes records are read from.
    pub fn data(&self) -> &[u8] {
        &self.bytes.as_slice()[self.skip..]
    }
}

/// What opening one file gave.
#[derive(Debug)]
pub enum Opened {
    /// A file to read.
    File(InputFile),
    /// A zero-length file, or one holding only whitespace: nothing to read.
    Empty(PathBuf),
    /// A file that cannot be read or recognised.
    Failed(InputError),
}

/// Expands `paths` into files: folders are walked recursively in name order; symlinked
/// folders are followed once (a loop is reported, not followed again). A file reached twice
/// (named twice, or through two paths) is read once; the count of such repeats is returned.
pub fn discover(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<InputError>, usize) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for p in paths {
        walk(p, &mut files, &mut errors, &mut seen);
    }
    let mut unique = HashSet::new();
    let before = files.len();
    files.retain(|f| unique.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    let repeats = before - files.len();
    if repeats > 0 {
        log::debug!("input: {repeats} repeated file paths read once");
    }
    (files, errors, repeats)
}

fn walk(
    p: &Path,
    files: &mut Vec<PathBuf>,
    errors: &mut Vec<InputError>,
    seen: &mut HashSet<PathBuf>,
) {
    let fail = |reason: String| InputError { path: p.to_path_buf(), reason };
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) => return errors.push(fail(format!("cannot read: {e}"))),
    };
    if !meta.is_dir() {
        files.push(p.to_path_buf());
        return;
    }
    let canonical = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if !seen.insert(canonical) {
        return errors.push(fail("folder already visited (symlink loop?), skipped".into()));
    }
    let entries = match std::fs::read_dir(p) {
        Ok(rd) => rd,
        Err(e) => return errors.push(fail(format!("cannot list folder: {e}"))),
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    for child in children {
        walk(&child, files, errors, seen);
    }
}

/// Opens and recognises one file; `forced` overrides recognition (`--sourcetype`).
pub fn open(path: &Path, forced: Option<Format>) -> Opened {
    let fail = |reason: String| Opened::Failed(InputError { path: path.to_path_buf(), reason });
    let bytes = match mmap::open(path) {
        Ok(b) => b,
        Err(e) => return fail(format!("cannot read: {e}")),
    };
    let raw = bytes.as_slice();
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Opened::Empty(path.to_path_buf());
    }
    let is_evtx = raw.starts_with(detect::EVTX_MAGIC);
    if forced == Some(Format::Evtx) && !is_evtx {
        return fail("not an EVTX file (no ElfFile magic), though --sourcetype evtx".into());
    }
    if is_evtx && forced.is_none_or(|f| f == Format::Evtx) {
        log::trace!("{}: EVTX", path.display());
        let file = InputFile {
            path: path.to_path_buf(),
            format: Format::Evtx,
            bytes,
            skip: 0,
            decoded: false,
        };
        return Opened::File(file);
    }
    let (bytes, skip, decoded) = match detect::encoding(raw) {
        detect::Encoding::Utf8 { bom } => (bytes, bom, false),
        detect::Encoding::Utf16Le => (Bytes::Owned(detect::decode_utf16(raw, true)), 0, true),
        detect::Encoding::Utf16Be => (Bytes::Owned(detect::decode_utf16(raw, false)), 0, true),
    };
    let format = match forced {
        Some(f) => f,
        None => match detect::text_format(&bytes.as_slice()[skip..]) {
            Ok(f) => f,
            Err(why) => return fail(why.to_string()),
        },
    };
    log::trace!(
        "{}: {} text (BOM {skip} bytes, UTF-16 decoded: {decoded})",
        path.display(),
        format.name()
    );
    Opened::File(InputFile { path: path.to_path_buf(), format, bytes, skip, decoded })
}
