//! EVTX files through the evtx crate: every record rendered as XML, every failure counted
//! with its chunk or record id, reading going on past it.
//!
//! Owns the file-level tolerance of Part A.8: dirty headers and stale chunk counts are the
//! crate's concern (it walks chunks by magic); a chunk slot without a chunk header (zero-filled
//! or stale bytes) is an unused preallocated slot, told apart from a damaged chunk by its
//! missing chunk magic. It must not interpret records.

use std::io::Cursor;

use evtx::err::EvtxError;
use evtx::{EvtxParser, ParserSettings};

/// The size of the EVTX file header, before the first chunk.
pub const FILE_HEADER: usize = 4096;

/// The magic that opens every EVTX chunk.
const CHUNK_MAGIC: &[u8] = b"ElfChnk\0";

/// The size of one EVTX chunk.
pub const CHUNK_SIZE: usize = 65_536;

/// One item read from an EVTX file.
#[derive(Debug)]
pub enum Item {
    /// A record: its header record id and its XML rendering.
    Record {
        /// The record header's id.
        record_id: u64,
        /// The XML the crate rendered.
        xml: String,
    },
    /// A record that failed to parse.
    BadRecord {
        /// The record id, when known.
        record_id: Option<u64>,
        /// The crate's message.
        message: String,
    },
    /// A chunk that failed to parse.
    BadChunk {
        /// Its number in the file.
        chunk: u64,
        /// Whether the slot holds no chunk header at all: an unused, preallocated slot
        /// (zero-filled or stale bytes), not damage.
        unused: bool,
    },
    /// The final chunk is cut short: `present` of its 65,536 bytes are in the file.
    CutChunk {
        /// Its number in the file.
        chunk: u64,
        /// How many of its bytes the file holds.
        present: usize,
    },
    /// A file header with no chunk after it: an empty log.
    NoChunks,
    /// A chunk the prefilter ruled out from its raw bytes, not decoded.
    SkippedChunk {
        /// Its number in the file.
        chunk: u64,
        /// How many records its header says it holds.
        records: u64,
    },
    /// The file cannot be read as EVTX at all.
    BadFile {
        /// The crate's message.
        message: String,
    },
}

/// Reads every record of the EVTX file `data`, in file order. Chunk checksums are checked, so
/// a damaged chunk is reported rather than read wrong. A final chunk cut short is read up to
/// its last whole record; the record the cut falls in is reported, never read.
///
/// `keep` sees each whole chunk's raw bytes first: a chunk it refuses is not decoded, and is
/// reported as `SkippedChunk` with its record count from the chunk header.
pub fn read(data: &[u8], keep: Option<ChunkFilter<'_>>, each: impl FnMut(Item)) {
    read_view(data, last_chunk_with_magic(data), keep, each)
}

/// The most chunks copied behind the file header at a time by `read_chunks` (4 MiB).
const WINDOW_CHUNKS: u64 = 64;

/// Reads the records of chunks `chunks` of the EVTX file `data` (a split's share), reporting
/// chunks by their number in the whole file. Windows of at most `WINDOW_CHUNKS` chunks are
/// copied behind the file header in turn (records never cross chunks), so memory stays at
/// 4 MiB whatever the split's size. Slots are judged damaged or unused against the whole
/// file, as `read` judges them.
pub fn read_chunks(
    data: &[u8],
    chunks: std::ops::Range<u64>,
    keep: Option<ChunkFilter<'_>>,
    each: impl FnMut(Item),
) {
    read_chunks_by(data, chunks, keep, each, WINDOW_CHUNKS)
}

fn read_chunks_by(
    data: &[u8],
    chunks: std::ops::Range<u64>,
    keep: Option<ChunkFilter<'_>>,
    mut each: impl FnMut(Item),
    window: u64,
) {
    let slots = data.len().saturating_sub(FILE_HEADER).div_ceil(CHUNK_SIZE) as u64;
    if chunks.start == 0 && chunks.end >= slots {
        return read(data, keep, each);
    }
    if data.len() < FILE_HEADER {
        return;
    }
    let last = last_chunk_with_magic(data);
    let mut at = chunks.start;
    while at < chunks.end.min(slots) {
        let end = (at + window).min(chunks.end).min(slots);
        read_window(data, at as usize..end as usize, last, keep, &mut each);
        at = end;
    }
}

/// Reads chunks `first..end` of `data` copied behind its header; `last` is the whole file's
/// last chunk with the chunk magic.
fn read_window(
    data: &[u8],
    std::ops::Range { start: first, end }: std::ops::Range<usize>,
    last: Option<usize>,
    keep: Option<ChunkFilter<'_>>,
    each: &mut impl FnMut(Item),
) {
    let from = (FILE_HEADER + first * CHUNK_SIZE).min(data.len());
    let to = (FILE_HEADER + end * CHUNK_SIZE).min(data.len());
    let mut view = Vec::with_capacity(FILE_HEADER + to - from);
    view.extend_from_slice(&data[..FILE_HEADER]);
    view.extend_from_slice(&data[from..to]);
    // The whole file's last chunk, in the view's numbering: past the view, every slot of the
    // view lies before it.
    let last = last.and_then(|l| match l {
        l if l < first => None,
        l if l >= end => Some(end - first),
        l => Some(l - first),
    });
    let shift = |c: u64| c + first as u64;
    read_view(&view, last, keep, |item| {
        each(match item {
            Item::BadChunk { chunk, unused } => Item::BadChunk { chunk: shift(chunk), unused },
            Item::CutChunk { chunk, present } => Item::CutChunk { chunk: shift(chunk), present },
            Item::SkippedChunk { chunk, records } => {
                Item::SkippedChunk { chunk: shift(chunk), records }
            }
            other => other,
        })
    })
}

/// `read`, with the last chunk slot holding the chunk magic given (in `data`'s numbering;
/// one past its slots when the file it was cut from goes on).
fn read_view(
    data: &[u8],
    last_magic: Option<usize>,
    keep: Option<ChunkFilter<'_>>,
    mut each: impl FnMut(Item),
) {
    let whole = FILE_HEADER + data.len().saturating_sub(FILE_HEADER) / CHUNK_SIZE * CHUNK_SIZE;
    if whole == FILE_HEADER && data.len() == FILE_HEADER {
        return each(Item::NoChunks);
    }
    for chunk in zeroed_chunks_before(data, last_magic) {
        each(Item::BadChunk { chunk, unused: false });
    }
    let body = &data[..whole.min(data.len())];
    match keep.map(|k| kept_chunks(body, k)) {
        Some((kept, skipped)) if !skipped.is_empty() => {
            for (chunk, records) in skipped {
                each(Item::SkippedChunk { chunk, records });
            }
            let map: Vec<u64> = kept.iter().map(|(i, _)| *i).collect();
            let mut copy = Vec::with_capacity(FILE_HEADER + kept.len() * CHUNK_SIZE);
            copy.extend_from_slice(&data[..FILE_HEADER]);
            kept.iter().for_each(|(_, c)| copy.extend_from_slice(c));
            // Chunk numbers in the copy are positions in `kept`: map them back.
            let back = |chunk: u64| map.get(chunk as usize).copied().unwrap_or(chunk);
            parse(&copy, true, &mut |item| match item {
                Item::BadChunk { chunk, unused } => {
                    each(Item::BadChunk { chunk: back(chunk), unused })
                }
                other => each(other),
            });
        }
        _ => parse(body, true, &mut |item| each(reclassify(item, data, last_magic))),
    }
    let rest = data.len().saturating_sub(whole);
    if rest == 0 || data.len() < FILE_HEADER {
        return;
    }
    let chunk = (whole - FILE_HEADER) / CHUNK_SIZE;
    each(Item::CutChunk { chunk: chunk as u64, present: rest });
    if !data[whole..].starts_with(CHUNK_MAGIC) {
        return;
    }
    // The cut chunk alone, behind the file header: its bytes up to the end of its last whole
    // record, then zeros. Its checksum cannot hold, so it is read without checking it; the
    // zeros end it where the cut record began.
    let present = &data[whole..];
    let keep = whole_records_end(present);
    let mut padded = Vec::with_capacity(FILE_HEADER + CHUNK_SIZE);
    padded.extend_from_slice(&data[..FILE_HEADER]);
    padded.extend_from_slice(&present[..keep]);
    padded.resize(FILE_HEADER + CHUNK_SIZE, 0);
    let mut records = 0;
    // Past the last whole record there are only zeros: the cut, already reported.
    parse(&padded, false, &mut |item| {
        if let Item::Record { .. } = item {
            records += 1;
            each(item);
        }
    });
    log::debug!("evtx: cut chunk {chunk}: {records} whole records read");
}

/// Decides from a raw chunk's bytes whether it is decoded.
pub type ChunkFilter<'f> = &'f dyn Fn(&[u8]) -> bool;

/// A chunk's number and bytes.
type Kept<'d> = Vec<(u64, &'d [u8])>;

/// Splits the whole chunks with a chunk header into those `keep` accepts (number, bytes) and
/// those it refuses (number, record count from the header). Slots without a header are kept,
/// so that the parser reports them as before.
fn kept_chunks<'d>(body: &'d [u8], keep: &dyn Fn(&[u8]) -> bool) -> (Kept<'d>, Vec<(u64, u64)>) {
    let mut kept = Vec::new();
    let mut skipped = Vec::new();
    for (i, chunk) in body[FILE_HEADER.min(body.len())..].chunks_exact(CHUNK_SIZE).enumerate() {
        if !chunk.starts_with(CHUNK_MAGIC) || keep(chunk) {
            kept.push((i as u64, chunk));
        } else {
            let id = |at: usize| u64::from_le_bytes(chunk[at..at + 8].try_into().unwrap_or([0; 8]));
            let records = id(32).saturating_sub(id(24)).saturating_add(1);
            skipped.push((i as u64, records));
        }
    }
    (kept, skipped)
}

/// The byte offset, in a chunk's present bytes, where its last wholly present record ends
/// (records start after the 512-byte chunk header; each opens with `**\0\0` and its size).
fn whole_records_end(chunk: &[u8]) -> usize {
    let mut at = 512.min(chunk.len());
    loop {
        let Some(head) = chunk.get(at..at + 8) else { return at };
        if head[..4] != [0x2a, 0x2a, 0, 0] {
            return at;
        }
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if size < 24 || at + size > chunk.len() {
            return at;
        }
        at += size;
    }
}

/// All-zero chunk slots before the last chunk: the evtx crate passes over them silently, but
/// a log does not leave holes, so they are damage.
fn zeroed_chunks_before(data: &[u8], last_magic: Option<usize>) -> Vec<u64> {
    let Some(last) = last_magic else { return Vec::new() };
    (0..last)
        .filter(|i| {
            let start = FILE_HEADER + i * CHUNK_SIZE;
            data[start..start + CHUNK_SIZE].iter().all(|b| *b == 0)
        })
        .map(|i| i as u64)
        .collect()
}

fn parse(data: &[u8], checksums: bool, each: &mut dyn FnMut(Item)) {
    let settings = ParserSettings::default().validate_checksums(checksums);
    let parser = EvtxParser::from_read_seek(Cursor::new(data));
    let mut parser = match parser {
        Ok(p) => p.with_configuration(settings),
        Err(e) => return each(Item::BadFile { message: e.to_string() }),
    };
    for result in parser.records() {
        match result {
            Ok(r) => each(Item::Record { record_id: r.event_record_id, xml: r.data }),
            Err(e) => each(classify(data, &e)),
        }
    }
}

/// Whether a slot holds a chunk header, perhaps with a damaged magic: at least 5 of the 8
/// magic bytes in place. Unused slots hold zeros or stale record bytes.
fn looks_like_chunk(slot: &[u8]) -> bool {
    let hits = slot.iter().zip(CHUNK_MAGIC).filter(|(a, b)| a == b).count();
    hits >= 5
}

/// The index of the last chunk slot that starts with the chunk magic.
fn last_chunk_with_magic(data: &[u8]) -> Option<usize> {
    let slots = data.len().saturating_sub(FILE_HEADER) / CHUNK_SIZE;
    (0..slots).rev().find(|i| data[FILE_HEADER + i * CHUNK_SIZE..].starts_with(CHUNK_MAGIC))
}

/// A slot without the chunk magic is unused only when no later slot holds a chunk; before the
/// last chunk it is a damaged chunk.
fn reclassify(item: Item, _data: &[u8], last_magic: Option<usize>) -> Item {
    match item {
        Item::BadChunk { chunk, unused: true }
            if last_magic.is_some_and(|l| chunk as usize <= l) =>
        {
            Item::BadChunk { chunk, unused: false }
        }
        other => other,
    }
}

fn classify(data: &[u8], e: &EvtxError) -> Item {
    match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => {
            let start = FILE_HEADER + (*chunk_id as usize) * CHUNK_SIZE;
            let slot = data.get(start..).unwrap_or(&[]);
            Item::BadChunk { chunk: *chunk_id, unused: !looks_like_chunk(slot) }
        }
        EvtxError::FailedToParseRecord { record_id, source } => {
            Item::BadRecord { record_id: Some(*record_id), message: source.to_string() }
        }
        other => Item::BadRecord { record_id: None, message: other.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(read: impl FnOnce(&mut dyn FnMut(Item))) -> Vec<String> {
        let mut out = Vec::new();
        read(&mut |item| out.push(format!("{item:?}")));
        out
    }

    /// Two splits of a real 17-chunk file, read in windows of 1, 2, 3 and 64 chunks, give the
    /// records and reports of the whole file, in order.
    #[test]
    fn windows_of_split_chunks_read_as_the_whole_file() {
        let path =
            concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/evtx/omerbenamram__sysmon.evtx");
        let Ok(data) = std::fs::read(path) else {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but {path} is missing");
            eprintln!("skipping: {path} is not beside the checkout");
            return;
        };
        let whole = items(|each| read(&data, None, each));
        assert!(whole.len() > 100, "{} items", whole.len());
        let slots = (data.len() - FILE_HEADER).div_ceil(CHUNK_SIZE) as u64;
        for window in [1, 2, 3, 64] {
            let mut got = items(|each| read_chunks_by(&data, 0..5, None, each, window));
            got.extend(items(|each| read_chunks_by(&data, 5..slots, None, each, window)));
            assert_eq!(got, whole, "window of {window} chunks");
        }
    }
}
