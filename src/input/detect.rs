//! Recognises an input file's format from its content; the extension is only a hint.
//!
//! Owns byte-order marks and UTF-16 decoding (Part A.8) and the choice among EVTX, XML
//! records and JSON lines. It must not read records.

/// A recognised input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Binary EVTX.
    Evtx,
    /// Windows event XML records (forwarder lines or dump-tool XML), possibly mixed with other
    /// text.
    Xml,
    /// JSON lines (CrowdStrike FDR, flat Sysmon/Security JSON).
    JsonLines,
}

impl Format {
    /// The name shown in reports.
    pub fn name(self) -> &'static str {
        match self {
            Format::Evtx => "evtx",
            Format::Xml => "xml",
            Format::JsonLines => "json-lines",
        }
    }

    /// The format a `name()` names.
    pub fn from_name(name: &str) -> Option<Format> {
        [Format::Evtx, Format::Xml, Format::JsonLines].into_iter().find(|f| f.name() == name)
    }

    /// Parses a `--sourcetype` value.
    pub fn from_sourcetype(st: &str) -> Option<Format> {
        match st.to_ascii_lowercase().as_str() {
            "xmlwineventlog"
            | "xml"
            | "xmlwineventlog:microsoft-windows-sysmon/operational"
            | "xmlwineventlog:security" => Some(Format::Xml),
            "crowdstrike:events:sensor" | "json" | "_json" | "mordor" => Some(Format::JsonLines),
            "evtx" => Some(Format::Evtx),
            _ => None,
        }
    }
}

/// The text encoding found at the start of a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8, with the length of a byte-order mark to skip.
    Utf8 {
        /// 3 when a UTF-8 BOM starts the file, else 0.
        bom: usize,
    },
    /// UTF-16 little-endian with a BOM.
    Utf16Le,
    /// UTF-16 big-endian with a BOM.
    Utf16Be,
}

/// Why a file was not recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrecognised {
    /// A JSON document that is an array (a Winlogbeat or ECS export, for example).
    JsonArray,
    /// Binary content, or text in an encoding without a BOM.
    Binary,
    /// Text that holds neither XML events nor JSON objects.
    UnknownText,
}

impl std::fmt::Display for Unrecognised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unrecognised::JsonArray => write!(
                f,
                "not recognised: a JSON array document (Winlogbeat/ECS exports are not a \
                 supported format; JSON lines are)"
            ),
            Unrecognised::Binary => {
                write!(
                    f,
                    "not recognised: binary data, or text in an encoding without a BOM \
                     (UTF-16 needs one)"
                )
            }
            Unrecognised::UnknownText => {
                write!(f, "not recognised: neither Windows event XML nor JSON lines nor EVTX")
            }
        }
    }
}

/// The EVTX file magic.
pub const EVTX_MAGIC: &[u8] = b"ElfFile\0";

/// How much of a text file is searched for a line starting `<Event` when the file does not
/// start with one.
const SNIFF: usize = 1 << 20;

/// The encoding of a text file from its first bytes.
pub fn encoding(head: &[u8]) -> Encoding {
    match head {
        [0xEF, 0xBB, 0xBF, ..] => Encoding::Utf8 { bom: 3 },
        [0xFF, 0xFE, ..] => Encoding::Utf16Le,
        [0xFE, 0xFF, ..] => Encoding::Utf16Be,
        _ => Encoding::Utf8 { bom: 0 },
    }
}

/// Recognises UTF-8 text (BOM already removed).
pub fn text_format(text: &[u8]) -> Result<Format, Unrecognised> {
    let sample = &text[..text.len().min(SNIFF)];
    if looks_like_utf16(sample) {
        return Err(Unrecognised::Binary);
    }
    let first = sample.iter().position(|b| !b.is_ascii_whitespace()).map(|i| sample[i]);
    match first {
        Some(b'{') => return Ok(Format::JsonLines),
        Some(b'[') => return Err(Unrecognised::JsonArray),
        Some(b'<') => return Ok(Format::Xml),
        None => return Ok(Format::JsonLines),
        _ => {}
    }
    if memchr::memmem::find_iter(sample, b"\n<Event").next().is_some() {
        return Ok(Format::Xml);
    }
    if sample.contains(&0) {
        return Err(Unrecognised::Binary);
    }
    Err(Unrecognised::UnknownText)
}

/// Whether text looks like UTF-16 without a BOM: many NUL bytes at its start.
fn looks_like_utf16(sample: &[u8]) -> bool {
    let head = &sample[..sample.len().min(512)];
    let nuls = head.iter().filter(|b| **b == 0).count();
    head.len() >= 4 && nuls * 10 >= head.len() * 3
}

/// Decodes UTF-16 text to UTF-8, the BOM dropped and unpaired surrogates as U+FFFD.
pub fn decode_utf16(bytes: &[u8], little_endian: bool) -> Vec<u8> {
    let body = &bytes[2.min(bytes.len())..];
    let units = body.chunks_exact(2).map(|c| {
        if little_endian {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let text: String =
        char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect();
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_from_content() {
        assert_eq!(text_format(b"  {\"a\":1}\n"), Ok(Format::JsonLines));
        assert_eq!(text_format(b"<Event xmlns='x'>"), Ok(Format::Xml));
        assert_eq!(
            text_format(b"01/14/2021 11:41:39 PM\nLogName=x\n<Event xmlns='x'>"),
            Ok(Format::Xml)
        );
        assert_eq!(text_format(b"[{\"a\":1}]"), Err(Unrecognised::JsonArray));
        assert_eq!(text_format(b"hello world"), Err(Unrecognised::UnknownText));
        assert_eq!(text_format(b"\x01\x00\x02"), Err(Unrecognised::Binary));
        let utf16: Vec<u8> =
            "<Event xmlns='x'>".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        assert_eq!(text_format(&utf16), Err(Unrecognised::Binary));
        // A few NUL bytes inside UTF-8 text do not make it UTF-16.
        assert_eq!(text_format(b"<Event xmlns='x'>\0 abc def ghi</Event>"), Ok(Format::Xml));
    }

    #[test]
    fn utf16_with_bom_decodes() {
        let mut le = vec![0xFF, 0xFE];
        for u in "<E>".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(encoding(&le), Encoding::Utf16Le);
        assert_eq!(decode_utf16(&le, true), b"<E>");
        let lone = [0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00];
        assert_eq!(String::from_utf8(decode_utf16(&lone, true)).unwrap(), "\u{FFFD}A");
    }
}
