//! The only file with `unsafe`: mapping an input file into memory, and surviving the file
//! shrinking under the map.
//!
//! Owns the mapping, its fallback, and the SIGBUS guard. A mapped file that another process
//! truncates during a run raises SIGBUS when a vanished page is read. Every map is registered
//! in a fixed table; the process's SIGBUS handler looks the faulting address up there and, for
//! a registered map, puts zero-filled anonymous pages over the rest of it and marks it cut, so
//! the read goes on (over zeros, which the framing counts as damaged text) and the engine
//! reports the file as changed during the run. A SIGBUS at any other address gets the default
//! action. When mapping fails the file is read into memory instead (logged at debug level).
#![allow(unsafe_code)]

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use memmap2::Mmap;

/// An input file's bytes: mapped, or read into memory.
#[derive(Debug)]
pub enum Bytes {
    /// A read-only map of the file, guarded against truncation.
    Mapped(Guarded),
    /// The file's bytes read (or decoded) into memory.
    Owned(Vec<u8>),
}

impl Bytes {
    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(g) => &g.map,
            Bytes::Owned(v) => v,
        }
    }

    /// Whether the file shrank under the map while it was read: the bytes past the new end
    /// read as zeros.
    pub fn was_cut(&self) -> bool {
        match self {
            Bytes::Mapped(g) => g.slot.is_some_and(|s| SLOTS[s].cut.load(Ordering::Acquire)),
            Bytes::Owned(_) => false,
        }
    }
}

/// A map registered with the SIGBUS guard for as long as it lives.
#[derive(Debug)]
pub struct Guarded {
    map: Mmap,
    /// The guard's slot, or `None` when the table was full (the map is then unguarded).
    slot: Option<usize>,
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if let Some(s) = self.slot {
            SLOTS[s].len.store(0, Ordering::Release);
            SLOTS[s].cut.store(false, Ordering::Release);
            SLOTS[s].start.store(0, Ordering::Release);
        }
    }
}

/// One registered map: its address range, and whether the guard cut it.
struct Slot {
    start: AtomicUsize,
    len: AtomicUsize,
    cut: AtomicBool,
}

/// How many maps can be guarded at once (a run maps at most about 65,000 files).
const SLOT_COUNT: usize = 1 << 16;

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot =
    Slot { start: AtomicUsize::new(0), len: AtomicUsize::new(0), cut: AtomicBool::new(false) };

static SLOTS: [Slot; SLOT_COUNT] = [EMPTY; SLOT_COUNT];

/// One past the highest slot ever used: the handler scans no further.
static USED: AtomicUsize = AtomicUsize::new(0);

static INSTALL: std::sync::Once = std::sync::Once::new();

fn register(map: &Mmap) -> Option<usize> {
    INSTALL.call_once(install_handler);
    let start = map.as_ptr() as usize;
    for (i, slot) in SLOTS.iter().enumerate() {
        if slot.start.compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            slot.cut.store(false, Ordering::Release);
            slot.len.store(map.len(), Ordering::Release);
            USED.fetch_max(i + 1, Ordering::AcqRel);
            return Some(i);
        }
    }
    log::debug!("mmap: more than {SLOT_COUNT} maps at once; this one is not guarded");
    None
}

fn install_handler() {
    // SAFETY: a zeroed `sigaction` is a valid starting value; the handler has the
    // `SA_SIGINFO` signature; `sigemptyset` and `sigaction` get valid pointers to it.
    let installed = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut())
    };
    if installed != 0 {
        log::debug!("mmap: SIGBUS guard not installed; a file truncated during a run is fatal");
    }
}

/// The SIGBUS handler. It only reads atomics, makes one `mmap` system call and stores atomics,
/// which is safe in a signal handler (no locks, no allocation).
extern "C" fn on_sigbus(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid `siginfo_t` to an `SA_SIGINFO` handler; for SIGBUS
    // `si_addr` is the faulting address.
    let addr = unsafe { (*info).si_addr() } as usize;
    let used = USED.load(Ordering::Acquire);
    for slot in &SLOTS[..used] {
        let start = slot.start.load(Ordering::Acquire);
        let len = slot.len.load(Ordering::Acquire);
        if start == 0 || addr < start || addr >= start + len {
            continue;
        }
        let page = page_size();
        let from = addr & !(page - 1);
        let end = (start + len).div_ceil(page) * page;
        // SAFETY: `from..end` lies inside a live read-only map this module created (the slot
        // is cleared before the map is dropped); `MAP_FIXED` replaces those pages with
        // anonymous zero pages, which no Rust reference can observe changing except as the
        // bytes past the file's new end, which were unreadable anyway.
        let replaced = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if replaced != libc::MAP_FAILED {
            slot.cut.store(true, Ordering::Release);
            return;
        }
        break;
    }
    // Not ours (or not fixable): the default action, when the fault repeats on return.
    // SAFETY: resetting a signal's disposition to the default is always valid.
    unsafe {
        libc::signal(libc::SIGBUS, libc::SIG_DFL);
    }
}

fn page_size() -> usize {
    // SAFETY: `sysconf` has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 {
        n as usize
    } else {
        4096
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
    if meta.len() > 0 {
        // SAFETY: the map is read-only and lives no longer than `Bytes`. Another process may
        // truncate the file while it is mapped: the SIGBUS guard registered here then replaces
        // the vanished pages with zeros (see the module doc), so no read faults.
        match unsafe { Mmap::map(&file) } {
            Ok(map) => {
                let slot = register(&map);
                return Ok(Bytes::Mapped(Guarded { map, slot }));
            }
            Err(e) => log::debug!("{}: mmap failed ({e}), reading instead", path.display()),
        }
    }
    let mut buf = Vec::new();
    (&file).read_to_end(&mut buf)?;
    Ok(Bytes::Owned(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_truncated_under_the_map_reads_as_zeros_and_is_marked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.xml");
        std::fs::write(&path, vec![b'a'; 64 << 10]).unwrap();
        let bytes = open(&path).unwrap();
        assert!(matches!(bytes, Bytes::Mapped(_)));
        assert!(!bytes.was_cut());
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(4096).unwrap();
        let data = bytes.as_slice();
        // The first page is still the file's; past the new end there are zeros, not a fault.
        assert_eq!(data[100], b'a');
        assert_eq!(data[40 << 10], 0);
        assert!(data[8192..].iter().all(|b| *b == 0));
        assert!(bytes.was_cut());
    }
}
