//! The only file with `unsafe`: mapping an input file into memory.
//!
//! Owns the mapping and its fallback. A mapped file that another process truncates while it is
//! mapped can raise SIGBUS when the vanished pages are read; tsreplay maps only regular files
//! and documents that inputs must not be modified during a run (a later issue adds a size
//! check). When mapping fails the file is read into memory instead, and the fallback is logged
//! at debug level.
#![allow(unsafe_code)]

use std::fs::File;
use std::io::Read;
use std::path::Path;

use memmap2::Mmap;

/// An input file's bytes: mapped, or read into memory.
#[derive(Debug)]
pub enum Bytes {
    /// A read-only map of the file.
    Mapped(Mmap),
    /// The file's bytes read (or decoded) into memory.
    Owned(Vec<u8>),
}

impl Bytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// Maps `path`, or reads it when it cannot be mapped. Only regular files come here (pipes are
/// streamed by `stream`); a device could be endless, and is refused with an `Unsupported` error.
pub fn open(path: &Path) -> std::io::Result<Bytes> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let msg = "not a regular file (devices and sockets are not read; pipes are streamed)";
        return Err(std::io::Error::new(std::io::ErrorKind::Unsupported, msg));
    }
    if meta.is_file() && meta.len() > 0 {
        // SAFETY: the map is read-only and lives no longer than `Bytes`. Its contents stay
        // valid as long as no other process truncates or rewrites the file during the run,
        // which is the documented contract of tsreplay's inputs (README, "Reliability").
        match unsafe { Mmap::map(&file) } {
            Ok(map) => return Ok(Bytes::Mapped(map)),
            Err(e) => log::debug!("{}: mmap failed ({e}), reading instead", path.display()),
        }
    }
    let mut buf = Vec::new();
    (&file).read_to_end(&mut buf)?;
    Ok(Bytes::Owned(buf))
}
