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

/// Creates the temporary file beside `target`: a short hidden name (so a long target name
/// still fits), created exclusively, so that nothing planted at that name (a symlink, say) is
/// followed or overwritten.
fn create_temporary(target: &Path) -> io::Result<(PathBuf, File)> {
    let dir = target.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    for n in 0..1000u32 {
        let tmp = dir.join(format!(".tsr-{}-{n}.tmp", std::process::id()));
        match fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free temporary name beside the output"))
}

/// Where the result goes: the file itself, or a symlink's target; anything that exists and is
/// not a regular file (a device, a folder) is refused rather than replaced.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let target = match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path)
            .map_err(|e| io::Error::other(format!("a symlink whose target cannot be used: {e}")))?,
        _ => path.to_path_buf(),
    };
    match fs::metadata(&target) {
        Ok(m) if m.is_dir() => Err(io::Error::other("is a folder")),
        Ok(m) if !m.is_file() => Err(io::Error::other("not a regular file (a device?)")),
        _ => Ok(target),
    }
}

/// Writes what `render` produces to `path`. On any failure the temporary file is removed and
/// `path` is left as it was. An existing file keeps its permissions.
pub fn write_file(
    path: &Path,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let target = resolve(path)?;
    let (tmp, file) = create_temporary(&target)?;
    if let Ok(m) = fs::metadata(&target) {
        let _ = fs::set_permissions(&tmp, m.permissions());
    }
    let result = write_and_check(file, render).and_then(|()| fs::rename(&tmp, &target));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_and_check(
    file: File,
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
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

#[cfg(test)]
mod planted {
    use super::*;

    #[test]
    fn a_symlink_planted_at_the_temporary_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, "precious").unwrap();
        let planted = dir.path().join(format!(".tsr-{}-0.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let out = dir.path().join("out.csv");
        write_file(&out, |w: &mut dyn Write| w.write_all(b"rows\n")).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(fs::read_to_string(&out).unwrap(), "rows\n");
        assert!(fs::symlink_metadata(&out).unwrap().file_type().is_file());
    }
}
