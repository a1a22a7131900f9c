//! `-o FILE`: results written through a temporary file beside FILE, flushed to disk, checked
//! and renamed into place, so that FILE is either the complete result or untouched.
//!
//! Owns the temporary-file protocol. It must not render anything itself.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Counts the bytes that pass through.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The temporary file's path: hidden, beside `path` (so the rename stays on one file
/// system), named after the process.
fn temporary(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = format!(".{name}.tsreplay-{}.tmp", std::process::id());
    path.with_file_name(tmp)
}

/// Writes what `render` produces to `path`. On any failure the temporary file is removed and
/// `path` is left as it was.
pub fn write_file(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    if path.is_dir() {
        return Err(io::Error::other("is a folder"));
    }
    let tmp = temporary(path);
    let result = write_and_check(&tmp, render).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_and_check(
    tmp: &Path,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let file = File::create(tmp)?;
    let mut out = Counting { inner: BufWriter::with_capacity(1 << 16, file), written: 0 };
    render(&mut out)?;
    out.flush()?;
    let file = out.inner.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let on_disk = file.metadata()?.len();
    if on_disk != out.written {
        let msg = format!("{on_disk} bytes on disk after writing {}", out.written);
        return Err(io::Error::other(msg));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_render_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        fs::write(&path, "old\n").unwrap();
        let err = write_file(&path, |out: &mut dyn Write| {
            out.write_all(b"partial")?;
            Err(io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1, "the temporary file is gone");
        write_file(&path, |out: &mut dyn Write| out.write_all(b"new\n")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
    }
}
