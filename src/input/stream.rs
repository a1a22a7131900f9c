//! Inputs that cannot be memory-mapped: standard input (`-`), pipes, and `.gz` / `.zst`
//! files (recognised by their magic bytes). Their text is read by one producer thread into
//! chunk buffers cut at record boundaries, and handed to the workers through a bounded
//! channel, so memory stays at a few chunks whatever the input's length.
//!
//! Owns decompression, the producer loop and where a streamed chunk ends. EVTX data and UTF-16
//! text that arrive this way are read into memory whole (their formats need it). It must not
//! parse records.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crossbeam_channel::Sender;

use super::detect::{self, Format};
use super::frame;

/// A streamed source, opened, with the bytes read to recognise it.
pub struct Stream {
    /// The decompressed byte stream, after `head`.
    pub reader: Box<dyn Read + Send>,
    /// The first bytes read (already decompressed).
    pub head: Vec<u8>,
    /// How the source is compressed or where it comes from, for reports.
    pub kind: &'static str,
}

/// One chunk of a stream: whole records, and where they start in the decompressed text.
#[derive(Debug)]
pub struct StreamChunk {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The offset of `bytes[0]` in the decompressed stream.
    pub base: u64,
}

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// Whether `path` must be streamed: `-`, a pipe, or a compressed regular file.
pub fn is_stream(path: &Path, meta: &std::fs::Metadata, head: &[u8]) -> bool {
    path.as_os_str() == "-"
        || is_fifo(meta)
        || (meta.is_file() && (head.starts_with(GZIP_MAGIC) || head.starts_with(ZSTD_MAGIC)))
}

#[cfg(unix)]
fn is_fifo(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_fifo()
}

#[cfg(not(unix))]
fn is_fifo(_: &std::fs::Metadata) -> bool {
    false
}

/// The first bytes of `path` when it is a regular file, else nothing (a pipe must not be read
/// twice).
pub fn peek_if_file(path: &Path, meta: &std::fs::Metadata) -> Vec<u8> {
    if meta.is_file() {
        peek(path)
    } else {
        Vec::new()
    }
}

/// The first bytes of a regular file (for magic numbers).
pub fn peek(path: &Path) -> Vec<u8> {
    let mut head = [0u8; 8];
    let n = File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    head[..n].to_vec()
}

/// Opens a streamed source and reads up to `want` bytes of its decompressed text.
pub fn open(path: &Path, want: usize) -> io::Result<Stream> {
    let (raw, kind): (Box<dyn Read + Send>, &'static str) = if path.as_os_str() == "-" {
        (Box::new(io::stdin()), "standard input")
    } else {
        // A pipe's bytes can be read only once: only a regular file is peeked at.
        let head = peek_if_file(path, &std::fs::metadata(path)?);
        let file = File::open(path)?;
        if head.starts_with(GZIP_MAGIC) {
            (Box::new(flate2::read::MultiGzDecoder::new(file)), "gzip")
        } else if head.starts_with(ZSTD_MAGIC) {
            (Box::new(zstd::stream::read::Decoder::new(file)?), "zstd")
        } else {
            (Box::new(file), "pipe")
        }
    };
    let mut reader = raw;
    let head = read_up_to(&mut reader, want)?;
    log::debug!("{}: streamed ({kind}), not mapped", path.display());
    Ok(Stream { reader, head, kind })
}

/// Reads until `want` bytes or the end.
fn read_up_to(r: &mut dyn Read, want: usize) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(want.min(1 << 24));
    r.take(want as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads the rest of a stream into memory (EVTX data, UTF-16 text).
pub fn read_all(mut s: Stream) -> io::Result<Vec<u8>> {
    let mut all = s.head;
    s.reader.read_to_end(&mut all)?;
    Ok(all)
}

/// Whether a stream's first bytes call for reading it whole rather than in chunks.
pub fn needs_whole(head: &[u8]) -> bool {
    head.starts_with(detect::EVTX_MAGIC)
        || !matches!(detect::encoding(head), detect::Encoding::Utf8 { .. })
}

/// Sends the stream's text as chunks of about `target` bytes, each ending at a record boundary
/// of `format`. Returns the number of bytes read. Stops early, without error, when every
/// receiver is gone.
pub fn produce(
    mut s: Stream,
    format: Format,
    target: usize,
    tx: &Sender<StreamChunk>,
    stop: &(dyn Fn() -> bool + Sync),
) -> io::Result<u64> {
    let target = target.max(1);
    let mut buf = std::mem::take(&mut s.head);
    let mut base = 0u64;
    let mut eof = false;
    loop {
        if stop() {
            return Ok(base);
        }
        while !eof && buf.len() < target {
            let more = read_or_flush(&mut s.reader, target - buf.len(), &buf, format, base, tx)?;
            eof = more.is_empty();
            buf.extend_from_slice(&more);
        }
        if eof && buf.is_empty() {
            return Ok(base);
        }
        let cut = if eof { Some(buf.len()) } else { last_boundary(&buf, format) };
        let Some(cut) = cut.filter(|c| *c > 0) else {
            // One record longer than the buffer: read on until it ends.
            let want = buf.len().max(target);
            let more = read_or_flush(&mut s.reader, want, &buf, format, base, tx)?;
            eof = more.is_empty();
            buf.extend_from_slice(&more);
            continue;
        };
        let rest = buf.split_off(cut);
        let len = buf.len() as u64;
        if tx.send(StreamChunk { bytes: buf, base }).is_err() {
            return Ok(base + len);
        }
        base += len;
        buf = rest;
        if eof && buf.is_empty() {
            return Ok(base);
        }
    }
}

/// Reads up to `want` bytes; when reading fails, first sends the whole records already in
/// `buf`, so that the records before a break are read, as the report says.
fn read_or_flush(
    reader: &mut dyn Read,
    want: usize,
    buf: &[u8],
    format: Format,
    base: u64,
    tx: &Sender<StreamChunk>,
) -> io::Result<Vec<u8>> {
    read_up_to(reader, want).inspect_err(|_| {
        if let Some(cut) = last_boundary(buf, format).filter(|c| *c > 0) {
            let _ = tx.send(StreamChunk { bytes: buf[..cut].to_vec(), base });
        }
    })
}

/// Where the last whole record of `buf` ends: before the last record start (XML) or after the
/// last line end (JSON). `None` when the buffer holds no boundary.
fn last_boundary(buf: &[u8], format: Format) -> Option<usize> {
    match format {
        Format::Xml => last_event_start(buf),
        _ => memchr::memrchr2(b'\n', b'\r', buf).map(|i| i + 1),
    }
}

fn last_event_start(buf: &[u8]) -> Option<usize> {
    let mut end = buf.len();
    while let Some(at) = memchr::memmem::rfind(&buf[..end], b"<Event") {
        if frame::next_event_start(buf, at) == Some(at) {
            return Some(at);
        }
        end = at;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(text: &[u8], format: Format, target: usize) -> Vec<(u64, Vec<u8>)> {
        let (tx, rx) = crossbeam_channel::bounded(2);
        let s = Stream {
            reader: Box::new(io::Cursor::new(text[3..].to_vec())),
            head: text[..3].to_vec(),
            kind: "test",
        };
        let producer =
            std::thread::spawn(move || produce(s, format, target, &tx, &|| false).unwrap());
        let got: Vec<_> = rx.iter().map(|c| (c.base, c.bytes)).collect();
        assert_eq!(producer.join().unwrap(), text.len() as u64);
        got
    }

    #[test]
    fn xml_streams_cut_before_record_starts() {
        let text = b"<Event a></Event>\n<Event b></Event>\n<Event c>long record</Event>\n";
        let got = chunks(text, Format::Xml, 20);
        let joined: Vec<u8> = got.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(joined, text);
        for (base, bytes) in &got {
            assert!(bytes.starts_with(b"<Event"), "chunk at {base} starts mid-record");
        }
    }

    #[test]
    fn a_stream_ending_at_a_record_boundary_ends() {
        let got = chunks(b"{\"a\":1}\n{\"b\":2}\n", Format::JsonLines, 5);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn json_streams_cut_after_line_ends_and_grow_for_long_lines() {
        let text = b"{\"a\":1}\n{\"b\":\"a long line that is longer than the target\"}\r\n{}";
        let got = chunks(text, Format::JsonLines, 4);
        assert_eq!(got[0], (0, b"{\"a\":1}\n".to_vec()));
        assert_eq!(got.last().unwrap().1, b"{}".to_vec());
        let joined: Vec<u8> = got.iter().flat_map(|(_, b)| b.clone()).collect();
        assert_eq!(joined, text);
    }
}
