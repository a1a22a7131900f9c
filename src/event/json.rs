//! JSON-line records: CrowdStrike FDR events and flat Sysmon/Security JSON (OTRF
//! Security-Datasets, NXLog).
//!
//! Owns parsing one line with simd-json and taking the wanted top-level keys, JSON-decoded.
//! Numbers become their decimal text; arrays of scalars become multivalue fields; nested
//! objects are not fields. It must not map fields or decide CIM values.

use std::borrow::Cow;

use memchr::memmem;
use simd_json::prelude::*;
use simd_json::BorrowedValue;

use super::{is_wanted, Projection, RawEvent};
use crate::schema::{RecordFormat, SourceKind};

/// Why a line gave no event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonSkip {
    /// Not valid JSON.
    Invalid,
    /// Valid JSON, but not an object.
    NotObject,
    /// Arrays and objects nested deeper than `MAX_DEPTH` (refused before parsing, so that a
    /// hostile line cannot exhaust the stack).
    TooDeep,
}

/// The deepest nesting of arrays and objects a line may have.
pub const MAX_DEPTH: usize = 256;

/// Whether brackets outside strings nest deeper than `MAX_DEPTH`.
pub fn too_deep(line: &[u8]) -> bool {
    if memchr::memchr2_iter(b'[', b'{', line).nth(MAX_DEPTH).is_none() {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in line {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Replaces `\uXXXX` escapes of unpaired UTF-16 surrogates with `\uFFFD` (Part A.8: U+FFFD,
/// record kept). Returns how many were replaced; `buf` is left alone when there are none.
pub fn repair_lone_surrogates(buf: &mut Vec<u8>) -> usize {
    // Surrogate escapes are `\uD800` to `\uDFFF`: without a `\ud` or `\uD` there is nothing
    // to repair, and the line is not copied.
    if memmem::find(buf, b"\\ud").is_none() && memmem::find(buf, b"\\uD").is_none() {
        return 0;
    }
    let mut out = Vec::with_capacity(buf.len());
    let mut fixed = 0;
    let mut i = 0;
    while i < buf.len() {
        if buf[i] == b'\\' && i + 1 < buf.len() {
            if buf[i + 1] == b'u' {
                if let Some(unit) = hex4(buf.get(i + 2..i + 6)) {
                    let low = hex4(buf.get(i + 8..i + 12))
                        .filter(|_| buf.get(i + 6..i + 8) == Some(b"\\u"));
                    let paired = (0xD800..0xDC00).contains(&unit)
                        && low.is_some_and(|l| (0xDC00..0xE000).contains(&l));
                    if (0xD800..0xE000).contains(&unit) && !paired {
                        out.extend_from_slice(b"\\uFFFD");
                        fixed += 1;
                        i += 6;
                        continue;
                    }
                    let take = if paired { 12 } else { 6 };
                    out.extend_from_slice(&buf[i..i + take]);
                    i += take;
                    continue;
                }
            }
            out.extend_from_slice(&buf[i..i + 2]);
            i += 2;
            continue;
        }
        out.push(buf[i]);
        i += 1;
    }
    if fixed > 0 {
        *buf = out;
    }
    fixed
}

fn hex4(b: Option<&[u8]>) -> Option<u32> {
    let s = std::str::from_utf8(b?).ok()?;
    (s.len() == 4).then(|| u32::from_str_radix(s, 16).ok())?
}

/// A parsed line: its kind, and its fields when the kind is read at all.
#[derive(Debug)]
pub struct Parsed<'a> {
    /// The event kind.
    pub kind: SourceKind,
    /// The fields, when `proj` wants this kind.
    pub event: Option<RawEvent<'a>>,
}

/// Parses `buf` (a copy of one line that simd-json may rewrite in place).
pub fn parse<'a>(buf: &'a mut [u8], proj: &Projection) -> Result<Parsed<'a>, JsonSkip> {
    parse_with(buf, proj, &mut simd_json::Buffers::default())
}

/// `parse` with simd-json's working buffers kept by the caller, so that a worker parsing many
/// lines does not allocate them for each one.
pub fn parse_with<'a>(
    buf: &'a mut [u8],
    proj: &Projection,
    buffers: &mut simd_json::Buffers,
) -> Result<Parsed<'a>, JsonSkip> {
    if too_deep(buf) {
        return Err(JsonSkip::TooDeep);
    }
    let value = simd_json::value::borrowed::to_value_with_buffers(buf, buffers)
        .map_err(|_| JsonSkip::Invalid)?;
    let BorrowedValue::Object(obj) = value else { return Err(JsonSkip::NotObject) };
    let kind = kind_of(|k| obj.get(k).and_then(scalar_text));
    let Some(wanted) = proj.wanted(kind, false) else { return Ok(Parsed { kind, event: None }) };
    let mut fields = Vec::new();
    for (key, value) in obj.into_iter() {
        if !is_wanted(wanted, &key) {
            continue;
        }
        push_values(&mut fields, key, value);
    }
    let event = RawEvent { kind, format: RecordFormat::Json, fields };
    Ok(Parsed { kind, event: Some(event) })
}

fn push_values<'a>(
    out: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>,
    key: Cow<'a, str>,
    v: BorrowedValue<'a>,
) {
    match v {
        BorrowedValue::String(s) if s.is_empty() => {}
        BorrowedValue::String(s) => out.push((key, s)),
        BorrowedValue::Array(items) => {
            for item in items.iter() {
                if let Some(t) = scalar_text(item).filter(|t| !t.is_empty()) {
                    out.push((key.clone(), Cow::Owned(t.into_owned())));
                }
            }
        }
        other => {
            if let Some(t) = scalar_text(&other) {
                out.push((key, Cow::Owned(t.into_owned())));
            }
        }
    }
}

/// A scalar's text: strings as they are, numbers and booleans in decimal, null and containers
/// as `None`.
fn scalar_text<'v>(v: &'v BorrowedValue<'_>) -> Option<Cow<'v, str>> {
    match v {
        BorrowedValue::String(s) => Some(Cow::Borrowed(s.as_ref())),
        BorrowedValue::Static(simd_json::StaticNode::Null) => None,
        BorrowedValue::Static(s) => Some(Cow::Owned(s.to_string())),
        _ => None,
    }
}

/// The kind from `event_simpleName` (CrowdStrike) or `Channel` and `EventID` (flat).
fn kind_of<'v>(get: impl Fn(&str) -> Option<Cow<'v, str>>) -> SourceKind {
    if let Some(name) = get("event_simpleName") {
        return match name.as_ref() {
            "ProcessRollup2" | "SyntheticProcessRollup2" => SourceKind::CrowdStrikeProcess,
            _ => SourceKind::Other,
        };
    }
    let (Some(channel), Some(id)) = (get("Channel"), get("EventID")) else {
        return SourceKind::Other;
    };
    match id.trim() {
        id if channel.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational") => {
            SourceKind::sysmon(id)
        }
        "4688" if channel.eq_ignore_ascii_case("Security") => SourceKind::SecurityProcess,
        _ => SourceKind::Other,
    }
}

/// A cheap guess of a line's kind without parsing it, for counting lines the prefilter
/// skipped. It reads the first occurrence of each key and may be wrong for lines whose string
/// values contain quoted key names; it never affects rows.
pub fn sniff_kind(line: &[u8]) -> SourceKind {
    kind_of(|key| sniff_value(line, key).map(Cow::Borrowed))
}

fn sniff_value<'l>(line: &'l [u8], key: &str) -> Option<&'l str> {
    // The quoted keys, without an allocation per line.
    let needle: &[u8] = match key {
        "event_simpleName" => b"\"event_simpleName\"",
        "Channel" => b"\"Channel\"",
        "EventID" => b"\"EventID\"",
        _ => return None,
    };
    let at = memmem::find(line, needle)? + needle.len();
    let rest = &line[at..];
    let colon = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    if rest[colon] != b':' {
        return None;
    }
    let rest = &rest[colon + 1..];
    let start = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &rest[start..];
    let (body, quoted) = match rest.first() {
        Some(b'"') => (&rest[1..], true),
        _ => (rest, false),
    };
    let end = body.iter().position(|&b| {
        if quoted {
            b == b'"' || b == b'\\'
        } else {
            b == b',' || b == b'}'
        }
    })?;
    std::str::from_utf8(&body[..end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proj() -> Projection {
        let mut p = Projection::default();
        let f = ["CommandLine", "ImageFileName", "EventID", "Tags", "Keywords"];
        let f: Vec<String> = f.iter().map(|s| s.to_string()).collect();
        p.set(SourceKind::CrowdStrikeProcess, false, f.clone());
        p.set(SourceKind::SysmonProcess, false, f);
        p
    }

    fn fields(line: &str) -> (SourceKind, Vec<(String, String)>) {
        let mut buf = line.as_bytes().to_vec();
        let parsed = parse(&mut buf, &proj()).unwrap();
        let f = parsed
            .event
            .map(|e| e.fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
            .unwrap_or_default();
        (parsed.kind, f)
    }

    #[test]
    fn crowdstrike_values_are_json_decoded() {
        let line = concat!(
            r#"{"event_simpleName":"ProcessRollup2","#,
            r#""CommandLine":"\"C:\\a b\\x.exe\" \\\" q","ImageFileName":"\\Device\\x.exe"}"#
        );
        let (kind, f) = fields(line);
        assert_eq!(kind, SourceKind::CrowdStrikeProcess);
        assert_eq!(f[0], ("CommandLine".into(), r#""C:\a b\x.exe" \" q"#.into()));
        assert_eq!(f[1], ("ImageFileName".into(), r"\Device\x.exe".into()));
    }

    #[test]
    fn flat_numbers_and_arrays() {
        let line = concat!(
            r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"#,
            r#""Keywords":-9223372036854775808,"Tags":["a","b"]}"#
        );
        let (kind, f) = fields(line);
        assert_eq!(kind, SourceKind::SysmonProcess);
        assert_eq!(f[0], ("EventID".into(), "1".into()));
        assert_eq!(f[1], ("Keywords".into(), "-9223372036854775808".into()));
        assert_eq!(f[2..], [("Tags".into(), "a".into()), ("Tags".into(), "b".into())]);
    }

    #[test]
    fn non_objects_and_garbage_are_told_apart() {
        let mut a = b"[1,2]".to_vec();
        assert_eq!(parse(&mut a, &proj()).unwrap_err(), JsonSkip::NotObject);
        let mut b = b"{\"a\":".to_vec();
        assert_eq!(parse(&mut b, &proj()).unwrap_err(), JsonSkip::Invalid);
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let mut deep =
            format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes();
        assert_eq!(parse(&mut deep, &proj()).unwrap_err(), JsonSkip::TooDeep);
        let brackets_in_string = format!("{{\"a\":\"{}\"}}", "[".repeat(1000));
        assert!(!too_deep(brackets_in_string.as_bytes()));
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let mut b = br#"{"a":"x\ud800y\udc00z\ud83d\ude00\\ud800"}"#.to_vec();
        assert_eq!(repair_lone_surrogates(&mut b), 2);
        assert_eq!(b, br#"{"a":"x\uFFFDy\uFFFDz\ud83d\ude00\\ud800"}"#.to_vec());
    }

    #[test]
    fn sniffing_reads_kinds_without_parsing() {
        let l = br#"{"EventID": 4688, "Channel":"Security"}"#;
        assert_eq!(sniff_kind(l), SourceKind::SecurityProcess);
        let l = br#"{"event_simpleName":"DnsRequest"}"#;
        assert_eq!(sniff_kind(l), SourceKind::Other);
    }
}
