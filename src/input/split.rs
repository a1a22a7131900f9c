//! Byte-range splits of one file: which records a split owns.
//!
//! Owns the ownership rule of the distributed contract: a split `[start, end)` of a text file
//! owns every record that *starts* inside it, so the splits of a file can be cut from its size
//! alone and still give each record to exactly one split. EVTX splits own whole chunks. It
//! must not parse records or know rules; the manifest that lists splits is `exchange`'s.

use std::ops::Range;

use super::detect::Format;
use super::evtx::{CHUNK_SIZE, FILE_HEADER};
use super::frame::next_event_start;

/// The first record start at or after `at` in the text `data` (its length when there is
/// none): the byte after a line end for JSON lines, an `<Event` element for XML.
pub fn record_start(data: &[u8], format: Format, at: usize) -> usize {
    if at == 0 || at >= data.len() {
        return at.min(data.len());
    }
    match format {
        Format::Xml => next_event_start(data, at).unwrap_or(data.len()),
        _ => match data[at - 1] {
            b'\n' | b'\r' => at,
            _ => memchr::memchr2(b'\n', b'\r', &data[at..]).map_or(data.len(), |i| at + i + 1),
        },
    }
}

/// The bytes of `data` holding the records that start in `[start, end)`. Adjacent ranges
/// give adjacent, disjoint results whose union is all of `data`.
pub fn owned_text(data: &[u8], format: Format, start: usize, end: usize) -> Range<usize> {
    let from = record_start(data, format, start);
    let to = record_start(data, format, end.max(start));
    from..to.max(from)
}

/// The EVTX chunks (by number) whose first byte lies in `[start, end)` of a file of `len`
/// bytes; a final chunk cut short counts as a chunk.
pub fn owned_chunks(len: usize, start: usize, end: usize) -> Range<u64> {
    let slots = len.saturating_sub(FILE_HEADER).div_ceil(CHUNK_SIZE) as u64;
    let first = |at: usize| (at.saturating_sub(FILE_HEADER)).div_ceil(CHUNK_SIZE) as u64;
    let (a, b) = (first(start).min(slots), first(end.max(start)).min(slots));
    a..b
}

/// Cuts a file of `len` bytes into splits of about `size` bytes: byte ranges for text, and
/// ranges on chunk boundaries for EVTX (the file header goes with the first). A tail shorter
/// than an eighth of a split joins the split before it, so a file of 1 GiB and a few bytes
/// is not a task of its own. Every split is non-empty; an empty file has none.
pub fn cut(len: usize, format: Format, size: usize) -> Vec<Range<usize>> {
    let size = size.max(1);
    let step = match format {
        Format::Evtx => size.div_ceil(CHUNK_SIZE).max(1) * CHUNK_SIZE,
        _ => size,
    };
    let mut out = Vec::new();
    let mut start = 0;
    while start < len {
        let mut end = start.saturating_add(step).min(len);
        if format == Format::Evtx && start == 0 {
            end = (FILE_HEADER + step).min(len);
        }
        if len - end < step / 8 {
            end = len;
        }
        out.push(start..end);
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record start of `data`, split by split, for splits of `size` bytes.
    fn owned_records(data: &[u8], format: Format, size: usize) -> Vec<Vec<Range<usize>>> {
        cut(data.len(), format, size)
            .into_iter()
            .map(|r| {
                let owned = owned_text(data, format, r.start, r.end);
                let mut recs = Vec::new();
                crate::input::frame::json_lines(&data[owned.clone()], |x| {
                    recs.push(x.start + owned.start..x.end + owned.start)
                });
                recs
            })
            .collect()
    }

    #[test]
    fn each_line_goes_to_the_split_it_starts_in() {
        // Records at 0..5, 6..12, 14..19 and 20..22 (the LF of the CR LF ends a blank line).
        // Splits of 7 bytes: [0,7) owns the records starting at 0 and 6; [7,14) only the blank
        // line at 13; [14,21) those at 14 and 20; [21,22) none.
        let data = b"{\"a\"}\n{\"bb\"}\r\n{\"c\"}\n{}";
        let got = owned_records(data, Format::JsonLines, 7);
        assert_eq!(got, vec![vec![0..5, 6..12], vec![], vec![14..19, 20..22], vec![]]);
        for size in 1..=data.len() + 1 {
            let all: Vec<_> = owned_records(data, Format::JsonLines, size).concat();
            assert_eq!(all, [0..5, 6..12, 14..19, 20..22], "split size {size}");
        }
    }

    #[test]
    fn xml_records_are_owned_by_their_opening_tag() {
        let data = b"<Event a><EventID>1</EventID></Event>\n<Event b></Event>";
        // A split starting inside the first record (at <EventID>) owns the second one only.
        assert_eq!(owned_text(data, Format::Xml, 10, data.len()), 38..data.len());
        assert_eq!(owned_text(data, Format::Xml, 0, 10), 0..38);
        assert_eq!(owned_text(data, Format::Xml, 39, data.len()), data.len()..data.len());
    }

    #[test]
    fn evtx_splits_own_whole_chunks() {
        // Three chunks and a cut fourth of 10,000 bytes (more than an eighth of a chunk).
        let len = FILE_HEADER + 3 * CHUNK_SIZE + 10_000;
        let splits = cut(len, Format::Evtx, CHUNK_SIZE);
        assert_eq!(splits.len(), 4);
        let chunks: Vec<_> = splits.iter().map(|r| owned_chunks(len, r.start, r.end)).collect();
        assert_eq!(chunks, [0..1, 1..2, 2..3, 3..4]);
        // A cut fourth of 100 bytes joins the third split.
        let len = FILE_HEADER + 3 * CHUNK_SIZE + 100;
        let chunks: Vec<_> = cut(len, Format::Evtx, CHUNK_SIZE)
            .iter()
            .map(|r| owned_chunks(len, r.start, r.end))
            .collect();
        assert_eq!(chunks, [0..1, 1..2, 2..4]);
        assert_eq!(owned_chunks(len, 0, len), 0..4);
    }
}
