//! Record framing in text inputs, and cutting files into chunks at record boundaries.
//!
//! Owns where records start and end. XML records are framed by `<Event ...>` … `</Event>`;
//! values cannot hold a raw `<`, so a record lacking its closing tag ends where the next one
//! starts. Text between records is reported as a gap. JSON records are lines (`\n`, with a
//! trailing `\r` dropped). It must not parse records.

use std::ops::Range;

use std::sync::LazyLock;

use memchr::memmem;

use super::detect::Format;

/// One framed item of an XML chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlItem {
    /// An event record; `terminated` is false when `</Event>` was missing.
    Record {
        /// Byte range in the chunk.
        range: Range<usize>,
        /// Whether it ended with `</Event>`.
        terminated: bool,
    },
    /// Non-whitespace text outside any record.
    Gap(Range<usize>),
}

const CLOSE: &[u8] = b"</Event>";

/// Searchers for the two framing needles, built once (building one per call cost more than
/// the search itself on short records).
static OPEN_FINDER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b"<Event"));
static CLOSE_FINDER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(CLOSE));

/// The start of the next `<Event` element at or after `from` (not `<EventData`, `<EventID`).
pub fn next_event_start(bytes: &[u8], from: usize) -> Option<usize> {
    let finder = &*OPEN_FINDER;
    let mut pos = from;
    while pos < bytes.len() {
        let at = pos + finder.find(&bytes[pos..])?;
        match bytes.get(at + 6) {
            Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/') => return Some(at),
            _ => pos = at + 6,
        }
    }
    None
}

/// Frames every item of an XML chunk, in order.
pub fn xml_items(chunk: &[u8], mut each: impl FnMut(XmlItem)) {
    let close = &*CLOSE_FINDER;
    let mut pos = 0;
    // The start of the next record, once found, is not searched for again.
    let mut known = next_event_start(chunk, 0);
    while pos < chunk.len() {
        let Some(start) = known.filter(|s| *s >= pos).or_else(|| next_event_start(chunk, pos))
        else {
            gap(chunk, pos..chunk.len(), &mut each);
            return;
        };
        gap(chunk, pos..start, &mut each);
        known = next_event_start(chunk, start + 6);
        let next = known.unwrap_or(chunk.len());
        let end = close.find(&chunk[start..next]).map(|i| start + i + CLOSE.len());
        let (range, terminated) = match end {
            Some(e) => (start..e, true),
            None => (start..next, false),
        };
        pos = range.end;
        each(XmlItem::Record { range, terminated });
    }
}

fn gap(chunk: &[u8], range: Range<usize>, each: &mut impl FnMut(XmlItem)) {
    let text = &chunk[range.clone()];
    let Some(first) = text.iter().position(|b| !b.is_ascii_whitespace()) else { return };
    if is_dump_separator(&text[first..]) {
        return;
    }
    each(XmlItem::Gap(range.start + first..range.end));
}

/// Whether a gap holds only what EVTX dump tools write between records: XML declarations and
/// `Record N` lines.
fn is_dump_separator(text: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(text) else { return false };
    text.lines().map(str::trim).filter(|l| !l.is_empty()).all(|l| {
        (l.starts_with("<?xml") && l.ends_with("?>"))
            || l.strip_prefix("Record ").is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Calls `each` with the byte range of every non-blank line. Lines end at LF, CR or CRLF: a
/// JSON value cannot hold a raw CR or LF, so either one ends a record.
pub fn json_lines(chunk: &[u8], mut each: impl FnMut(Range<usize>)) {
    let mut pos = 0;
    while pos < chunk.len() {
        let end = memchr::memchr2(b'\n', b'\r', &chunk[pos..]).map_or(chunk.len(), |i| pos + i);
        if chunk[pos..end].iter().any(|b| !b.is_ascii_whitespace()) {
            each(pos..end);
        }
        pos = end + 1;
    }
}

/// Cuts `bytes` into chunks of about `target` bytes, each ending at a record boundary.
pub fn split(bytes: &[u8], format: Format, target: usize) -> Vec<Range<usize>> {
    let target = target.max(1);
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let want = start.saturating_add(target);
        let end = if want >= bytes.len() {
            bytes.len()
        } else {
            match format {
                Format::Xml => next_event_start(bytes, want).unwrap_or(bytes.len()),
                _ => memchr::memchr(b'\n', &bytes[want..]).map_or(bytes.len(), |i| want + i + 1),
            }
        };
        chunks.push(start..end);
        start = end;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        xml_items(text.as_bytes(), |item| match item {
            XmlItem::Record { range, terminated } => {
                out.push((text[range].to_string(), terminated))
            }
            XmlItem::Gap(range) => out.push((format!("GAP:{}", &text[range]), false)),
        });
        out
    }

    #[test]
    fn records_gaps_and_unterminated_records() {
        let text = "<Event a><EventID>1</EventID></Event>\nclassic text\nmore\n\
                    <Event b><EventData>cut\n<Event c></Event>";
        assert_eq!(
            items(text),
            [
                ("<Event a><EventID>1</EventID></Event>".to_string(), true),
                ("GAP:classic text\nmore\n".to_string(), false),
                ("<Event b><EventData>cut\n".to_string(), false),
                ("<Event c></Event>".to_string(), true),
            ]
        );
    }

    #[test]
    fn dump_separators_are_not_gaps() {
        let text = "<?xml version=\"1.0\"?>\nRecord 12\n<Event>\n</Event>\n";
        assert_eq!(items(text), [("<Event>\n</Event>".to_string(), true)]);
    }

    #[test]
    fn chunks_cut_at_record_starts_and_line_ends() {
        let xml = b"<Event 1></Event><Event 2></Event><Event 3></Event>";
        let chunks = split(xml, Format::Xml, 5);
        assert_eq!(chunks, [0..17, 17..34, 34..51]);
        let lines = b"{}\r\n{}\n\r{}";
        assert_eq!(split(lines, Format::JsonLines, 1), [0..4, 4..7, 7..10]);
        let mut got = Vec::new();
        json_lines(lines, |r| got.push(r));
        assert_eq!(got, [0..2, 4..6, 8..10]);
        let mut got = Vec::new();
        json_lines(b"{}\r{}\r", |r| got.push(r));
        assert_eq!(got, [0..2, 3..5]);
    }
}
