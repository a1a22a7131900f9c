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
const FILE_HEADER: usize = 4096;

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
    /// The file cannot be read as EVTX at all.
    BadFile {
        /// The crate's message.
        message: String,
    },
}

/// Reads every record of the EVTX file `data`, in file order.
pub fn read(data: &[u8], mut each: impl FnMut(Item)) {
    let settings = ParserSettings::default();
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

fn classify(data: &[u8], e: &EvtxError) -> Item {
    match e {
        EvtxError::FailedToParseChunk { chunk_id, .. } => {
            let start = FILE_HEADER + (*chunk_id as usize) * CHUNK_SIZE;
            let slot = data.get(start..(start + CHUNK_SIZE).min(data.len())).unwrap_or(&[]);
            Item::BadChunk { chunk: *chunk_id, unused: !slot.starts_with(CHUNK_MAGIC) }
        }
        EvtxError::FailedToParseRecord { record_id, source } => {
            Item::BadRecord { record_id: Some(*record_id), message: source.to_string() }
        }
        other => Item::BadRecord { record_id: None, message: other.to_string() },
    }
}
