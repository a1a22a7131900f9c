//! Stage 1: bytes in. Walks the input paths, recognises each file, maps it (or decodes it),
//! and hands out chunks cut at record boundaries; EVTX files are read through the evtx crate.
//!
//! Owns paths, encodings and framing. It knows nothing about rules and must not parse
//! records.

pub mod detect;
pub mod evtx;
pub mod frame;
pub mod mmap;
pub mod split;
pub mod stream;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use detect::Format;
pub use mmap::Bytes;

/// Reads a whole regular file of at most `max` bytes (`limit` names the size in the error).
/// The read itself is bounded, since the length is 0 for files such as those in /proc; a
/// device or a pipe (possibly endless) is refused.
pub fn read_regular(path: &Path, max: u64, limit: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let too_large = || std::io::Error::other(format!("larger than {limit}"));
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > max {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

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
    /// Its size, modification time and identity when it was opened.
    pub opened: Option<Snapshot>,
    /// Whether the file shrank under its map while it was decoded (UTF-16) at open.
    pub source_cut: bool,
}

/// A file's size, modification time and identity (device, inode) at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    len: u64,
    modified: std::time::SystemTime,
    id: (u64, u64),
}

impl Snapshot {
    /// The snapshot of `path` now.
    pub fn of(path: &Path) -> Option<Snapshot> {
        let m = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let id = {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        };
        #[cfg(not(unix))]
        let id = (0, 0);
        Some(Snapshot { len: m.len(), modified: m.modified().ok()?, id })
    }

    /// Whether two paths name the same file now.
    pub fn same_file(a: &Path, b: &Path) -> bool {
        match (Snapshot::of(a), Snapshot::of(b)) {
            (Some(x), Some(y)) => x.id == y.id && x.id != (0, 0),
            _ => false,
        }
    }
}

/// How a file changed while a run read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    /// It shrank under the map while being read: bytes past the cut were read as zeros.
    CutWhileRead {
        /// Its size when opened.
        was: u64,
        /// Its size after the run.
        now: u64,
    },
    /// It is shorter than when opened: what lay past `now` may not have been read.
    Shrank {
        /// Its size when opened.
        was: u64,
        /// Its size after the run.
        now: u64,
    },
    /// Same size, newer modification time: its content may have been rewritten under the read.
    Rewritten,
    /// It grew: the bytes past `was` were not read.
    Grew {
        /// Its size when opened.
        was: u64,
        /// Its size after the run.
        now: u64,
    },
    /// Another file now has its name (renamed over it); the file opened was read as it was.
    Replaced,
}

impl Changed {
    /// Whether the change may have cost records (else it is a note).
    pub fn is_loss(&self) -> bool {
        matches!(self, Changed::CutWhileRead { .. } | Changed::Shrank { .. } | Changed::Rewritten)
    }
}

/// How the file at `path` changed since `then`, if it did; `cut` says whether the map saw
/// the file shrink under it.
pub fn changed_since(path: &Path, then: Snapshot, cut: bool) -> Option<Changed> {
    let now = Snapshot::of(path)?;
    let (was, len) = (then.len, now.len);
    if cut {
        return Some(Changed::CutWhileRead { was, now: len });
    }
    if now.id != then.id {
        return Some(Changed::Replaced);
    }
    match len.cmp(&was) {
        std::cmp::Ordering::Less => Some(Changed::Shrank { was, now: len }),
        std::cmp::Ordering::Greater => Some(Changed::Grew { was, now: len }),
        std::cmp::Ordering::Equal => (now.modified != then.modified).then_some(Changed::Rewritten),
    }
}

impl InputFile {
    /// How the file changed since it was opened, if it did.
    pub fn changed(&self) -> Option<Changed> {
        changed_since(&self.path, self.opened?, self.bytes.was_cut() || self.source_cut)
    }

    /// The bytes records are read from.
    pub fn data(&self) -> &[u8] {
        &self.bytes.as_slice()[self.skip..]
    }
}

/// A text input read through the streaming pipeline.
pub struct StreamInput {
    /// Where it is (`-` for standard input).
    pub path: PathBuf,
    /// Its text format.
    pub format: Format,
    /// The open stream.
    pub stream: stream::Stream,
}

/// What opening one file gave.
pub enum Opened {
    /// A file to read.
    File(InputFile),
    /// A text stream to read in chunks (standard input, a pipe, a compressed file).
    Stream(StreamInput),
    /// A zero-length file, or one holding only whitespace: nothing to read.
    Empty(PathBuf),
    /// A file that cannot be read or recognised.
    Failed(InputError),
}

/// Expands `paths` into files: folders are walked recursively in name order. A symlink back
/// to a folder being walked (a loop) is not followed, and is reported as a note. A file or a
/// folder reached twice (named twice, given inside another, or hard-linked) is read once; the
/// count of such repeats is returned.
pub fn discover(paths: &[PathBuf]) -> Discovered {
    let mut d = Discovered::default();
    let mut seen_dirs = HashSet::new();
    for p in paths {
        walk(p, &mut d, &mut seen_dirs, &mut Vec::new());
    }
    let mut unique = HashSet::new();
    let before = d.files.len();
    d.files.retain(|f| unique.insert(file_id(f)));
    d.repeats += before - d.files.len();
    if d.repeats > 0 {
        log::debug!("input: {} repeated paths read once", d.repeats);
    }
    d
}

/// What walking the input paths found.
#[derive(Debug, Default)]
pub struct Discovered {
    /// The files to read, each once.
    pub files: Vec<PathBuf>,
    /// Paths that could not be used.
    pub errors: Vec<InputError>,
    /// Files or folders reached more than once, read once.
    pub repeats: usize,
    /// Symlinks that lead back into a folder being walked, not followed.
    pub loops: Vec<PathBuf>,
}

/// A file's identity: device and inode where the platform has them, else its canonical path.
fn file_id(p: &Path) -> (u64, u64, PathBuf) {
    if p.as_os_str() == "-" {
        return (0, 0, p.to_path_buf());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(m) = std::fs::metadata(p) {
            return (m.dev(), m.ino(), PathBuf::new());
        }
    }
    (0, 0, std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
}

fn walk(p: &Path, d: &mut Discovered, seen: &mut HashSet<PathBuf>, ancestors: &mut Vec<PathBuf>) {
    if p.as_os_str() == "-" {
        return d.files.push(p.to_path_buf());
    }
    let meta = match std::fs::metadata(p) {
        Ok(m) => m,
        Err(e) => {
            let reason = format!("cannot read: {e}");
            return d.errors.push(InputError { path: p.to_path_buf(), reason });
        }
    };
    if !meta.is_dir() {
        d.files.push(p.to_path_buf());
        return;
    }
    let canonical = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    if ancestors.contains(&canonical) {
        log::debug!("input: {} leads back to a folder being walked; not followed", p.display());
        return d.loops.push(p.to_path_buf());
    }
    if !seen.insert(canonical.clone()) {
        d.repeats += 1;
        return;
    }
    let entries = match std::fs::read_dir(p) {
        Ok(rd) => rd,
        Err(e) => {
            let reason = format!("cannot list folder: {e}");
            return d.errors.push(InputError { path: p.to_path_buf(), reason });
        }
    };
    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    children.sort();
    ancestors.push(canonical);
    for child in children {
        walk(&child, d, seen, ancestors);
    }
    ancestors.pop();
}

/// Opens and recognises one file; `forced` overrides recognition (`--sourcetype`).
/// `chunk_size` is how much of a stream is read to recognise it.
pub fn open(path: &Path, forced: Option<Format>, chunk_size: usize) -> Opened {
    let fail = |reason: String| Opened::Failed(InputError { path: path.to_path_buf(), reason });
    let streamed = path.as_os_str() == "-"
        || std::fs::metadata(path)
            .is_ok_and(|m| stream::is_stream(path, &m, &stream::peek_if_file(path, &m)));
    if streamed {
        return open_stream(path, forced, chunk_size);
    }
    let opened = Snapshot::of(path);
    let bytes = match mmap::open(path) {
        Ok(b) => b,
        Err(e) => return fail(format!("cannot read: {e}")),
    };
    match recognise(path, bytes, forced) {
        Opened::File(f) => Opened::File(InputFile { opened, ..f }),
        other => other,
    }
}

/// Opens a stream: text goes through the pipeline; EVTX data and UTF-16 text are read whole.
fn open_stream(path: &Path, forced: Option<Format>, chunk_size: usize) -> Opened {
    let fail = |reason: String| Opened::Failed(InputError { path: path.to_path_buf(), reason });
    let s = match stream::open(path, chunk_size.max(64 << 10)) {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot read: {e}")),
    };
    if stream::needs_whole(&s.head) || forced == Some(Format::Evtx) {
        return match stream::read_all(s) {
            Ok(all) => recognise(path, Bytes::Owned(all), forced),
            Err(e) => fail(format!("cannot read: {e}")),
        };
    }
    if s.head.iter().all(|b| b.is_ascii_whitespace()) {
        return Opened::Empty(path.to_path_buf());
    }
    let bom = match detect::encoding(&s.head) {
        detect::Encoding::Utf8 { bom } => bom,
        _ => 0,
    };
    let format = match forced {
        Some(f) => f,
        None => match detect::text_format(&s.head[bom..]) {
            Ok(f) => f,
            Err(why) => return fail(why.to_string()),
        },
    };
    let mut s = s;
    s.head.drain(..bom);
    Opened::Stream(StreamInput { path: path.to_path_buf(), format, stream: s })
}

/// Recognises a file's bytes.
fn recognise(path: &Path, bytes: Bytes, forced: Option<Format>) -> Opened {
    let fail = |reason: String| Opened::Failed(InputError { path: path.to_path_buf(), reason });
    let raw = bytes.as_slice();
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Opened::Empty(path.to_path_buf());
    }
    let is_evtx = raw.starts_with(detect::EVTX_MAGIC);
    if forced == Some(Format::Evtx) && !is_evtx {
        return fail("not an EVTX file (no ElfFile magic), though --sourcetype evtx".into());
    }
    if is_evtx && raw.len() < evtx::FILE_HEADER {
        let n = raw.len();
        return fail(format!("too short to be EVTX: {n} bytes, and the file header alone is 4096"));
    }
    if is_evtx && forced.is_none_or(|f| f == Format::Evtx) {
        log::trace!("{}: EVTX", path.display());
        let file = InputFile {
            path: path.to_path_buf(),
            format: Format::Evtx,
            bytes,
            skip: 0,
            decoded: false,
            opened: None,
            source_cut: false,
        };
        return Opened::File(file);
    }
    let (decoded_bytes, skip, decoded) = match detect::encoding(raw) {
        detect::Encoding::Utf8 { bom } => (None, bom, false),
        detect::Encoding::Utf16Le => (Some(detect::decode_utf16(raw, true)), 0, true),
        detect::Encoding::Utf16Be => (Some(detect::decode_utf16(raw, false)), 0, true),
    };
    let source_cut = bytes.was_cut();
    let bytes = match decoded_bytes {
        Some(text) => Bytes::Owned(text),
        None => bytes,
    };
    if let Some(f) = forced {
        // A forced text format on binary bytes would read as nothing: say so instead.
        let head = &bytes.as_slice()[skip..];
        let head = &head[..head.len().min(4096)];
        if is_evtx || head.contains(&0) {
            let what = if is_evtx { "an EVTX file" } else { "binary data (NUL bytes)" };
            return fail(format!("{what}, though --sourcetype names {} text", f.name()));
        }
    }
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
    let path = path.to_path_buf();
    Opened::File(InputFile { path, format, bytes, skip, decoded, opened: None, source_cut })
}
