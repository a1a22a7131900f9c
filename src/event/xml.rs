//! Windows event XML records: the forwarder's one-line XmlWinEventLog rendering, and the
//! pretty-printed, double-quoted XML of EVTX dump tools (and of the evtx crate).
//!
//! Owns finding `<System>` and `<EventData>` values. Forwarder values are taken verbatim, as
//! the Windows add-on's regex takes them (`[^<]*`, entities not decoded). Dump values are
//! normalised to the forwarder rendering (Part A.7): entities decoded then `&`, `<`, `>`
//! re-escaped, GUIDs upper-cased in braces. It must not frame records (`input` does) or map
//! fields.

use std::borrow::Cow;

use std::sync::LazyLock;

use memchr::memmem;

use super::{is_wanted, Projection, RawEvent};
use crate::schema::{RecordFormat, SourceKind};

/// The fixed needles of record parsing, with searchers built once.
const NEEDLES: &[&str] = &[
    "<EventData",
    "</EventData>",
    "<Data",
    "<System>",
    "</System>",
    "<EventID",
    "<Channel",
    "<Computer",
    "<Keywords",
    "<TimeCreated",
    "<Security",
    "Name",
    "SystemTime",
    "UserID",
];

static FINDERS: LazyLock<Vec<(&'static str, memmem::Finder<'static>)>> =
    LazyLock::new(|| NEEDLES.iter().map(|n| (*n, memmem::Finder::new(n.as_bytes()))).collect());

/// The prebuilt searcher of a fixed needle.
fn finder(needle: &str) -> Option<&'static memmem::Finder<'static>> {
    FINDERS.iter().find(|(n, _)| *n == needle).map(|(_, f)| f)
}

/// The first position of `needle` in `hay`, with a prebuilt searcher for the fixed needles.
fn find(hay: &[u8], needle: &str) -> Option<usize> {
    match finder(needle) {
        Some(f) => f.find(hay),
        None => memmem::find(hay, needle.as_bytes()),
    }
}

/// What the cheap header read tells about a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The event kind from `EventID` and `Channel`.
    pub kind: SourceKind,
    /// Forwarder or dump rendering.
    pub format: RecordFormat,
    /// Where the `<System>` block's text lies in the record, so `extract` need not find it
    /// again.
    pub system: Option<(usize, usize)>,
}

/// How an extraction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extracted<'a> {
    /// The record's fields.
    Event(RawEvent<'a>),
    /// `<EventData>` opens but is never closed: the add-on extracts no EventData field.
    EventDataCut,
}

/// Reads the kind and rendering of a record.
pub fn header(rec: &str) -> Header {
    let format = rendering(rec);
    let span = section_span(rec, "<System>", "</System>");
    let system = span.map_or(rec, |(a, b)| &rec[a..b]);
    let event_id = element_text(system, "<EventID").map(str::trim);
    let channel = element_text(system, "<Channel").map(str::trim);
    let kind = match (event_id, channel) {
        (Some(id), Some(c)) if c.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational") => {
            SourceKind::sysmon(id)
        }
        (Some("4688"), Some(c)) if c.eq_ignore_ascii_case("Security") => {
            SourceKind::SecurityProcess
        }
        _ => SourceKind::Other,
    };
    Header { kind, format, system: span }
}

/// The rendering: a forwarder writes single-quoted attributes, dump tools double quotes.
fn rendering(rec: &str) -> RecordFormat {
    let b = rec.as_bytes();
    let single = memchr::memchr(b'\'', b);
    let double = memchr::memchr(b'"', b);
    match (single, double) {
        (Some(s), Some(d)) if d < s => RecordFormat::DumpXml,
        (None, Some(_)) => RecordFormat::DumpXml,
        _ => RecordFormat::SplunkXml,
    }
}

/// Extracts the wanted fields of a record whose header is `h`.
pub fn extract<'a>(rec: &'a str, h: Header, proj: &Projection) -> Option<Extracted<'a>> {
    let wanted = proj.wanted(h.kind, true)?;
    let dump = h.format == RecordFormat::DumpXml;
    let mut fields = Vec::new();
    if let Some((a, b)) = h.system {
        system_fields(&rec[a..b], wanted, dump, &mut fields);
    }
    match eventdata(rec) {
        EventData::Closed(body) => data_fields(body, wanted, dump, &mut fields),
        EventData::Cut => return Some(Extracted::EventDataCut),
        EventData::Absent => {}
    }
    Some(Extracted::Event(RawEvent { kind: h.kind, format: h.format, fields }))
}

type Fields<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

fn system_fields<'a>(system: &'a str, wanted: &[String], dump: bool, out: &mut Fields<'a>) {
    let elements = [
        ("Computer", "<Computer"),
        ("EventID", "<EventID"),
        ("Channel", "<Channel"),
        ("Keywords", "<Keywords"),
    ];
    for (name, open) in elements {
        if is_wanted(wanted, name) {
            if let Some(v) = element_text(system, open) {
                push(out, Cow::Borrowed(name), v, dump);
            }
        }
    }
    let attrs = [("SystemTime", "<TimeCreated", "SystemTime"), ("UserID", "<Security", "UserID")];
    for (field, element, attr) in attrs {
        if is_wanted(wanted, field) {
            if let Some(v) = element_attr(system, element, attr) {
                push(out, Cow::Borrowed(field), v, dump);
            }
        }
    }
}

fn push<'a>(out: &mut Fields<'a>, name: Cow<'a, str>, value: &'a str, dump: bool) {
    if value.is_empty() {
        return;
    }
    let value = if dump { normalise(value) } else { Cow::Borrowed(value) };
    out.push((name, value));
}

enum EventData<'a> {
    Closed(&'a str),
    Cut,
    Absent,
}

fn eventdata(rec: &str) -> EventData<'_> {
    let Some(open) = find(rec.as_bytes(), "<EventData") else {
        // No EventData in a complete record is an event without data; in a record cut short,
        // the data may be what was cut.
        let complete = rec.trim_end().ends_with("</Event>");
        return if complete { EventData::Absent } else { EventData::Cut };
    };
    let after = &rec[open + "<EventData".len()..];
    let Some(gt) = after.find('>') else { return EventData::Cut };
    if after[..gt].ends_with('/') {
        return EventData::Absent;
    }
    let body = &after[gt + 1..];
    match find(body.as_bytes(), "</EventData>") {
        Some(end) => EventData::Closed(&body[..end]),
        None => EventData::Cut,
    }
}

/// Every `<Data Name='X'>value</Data>` pair whose name is wanted. The value runs to the next
/// `<`, as the add-on's `[^<]*` does.
fn data_fields<'a>(body: &'a str, wanted: &[String], dump: bool, out: &mut Fields<'a>) {
    // `<Data` is one of NEEDLES, so its searcher exists.
    let finder = finder("<Data").expect("`<Data` is a fixed needle");
    let bytes = body.as_bytes();
    let mut pos = 0;
    while let Some(at) = finder.find(&bytes[pos..]) {
        let start = pos + at + "<Data".len();
        let Some(tag_end) = memchr::memchr(b'>', &bytes[start..]).map(|i| start + i) else {
            return;
        };
        let tag = &body[start..tag_end];
        pos = tag_end + 1;
        let Some(name) = attr_value(tag, "Name") else { continue };
        if tag.ends_with('/') || !is_wanted(wanted, name) {
            continue;
        }
        let value_end = memchr::memchr(b'<', &bytes[pos..]).map_or(body.len(), |i| pos + i);
        let name = if dump { normalise(name) } else { Cow::Borrowed(name) };
        push(out, name, &body[pos..value_end], dump);
        pos = value_end;
    }
}

/// Where the text between `open` and `close` lies.
fn section_span(rec: &str, open: &str, close: &str) -> Option<(usize, usize)> {
    let start = find(rec.as_bytes(), open)? + open.len();
    let end = find(&rec.as_bytes()[start..], close)?;
    Some((start, start + end))
}

/// The text of the first `<name ...>text</name>` element; `open` is `<name`.
fn element_text<'a>(xml: &'a str, open: &str) -> Option<&'a str> {
    let mut from = 0;
    loop {
        let at = from + find(&xml.as_bytes()[from..], open)?;
        let rest = &xml[at + open.len()..];
        from = at + 1;
        match rest.bytes().next() {
            Some(b'>') => return Some(until_lt(&rest[1..])),
            Some(b) if b.is_ascii_whitespace() => {
                let gt = rest.find('>')?;
                if rest[..gt].ends_with('/') {
                    return None;
                }
                return Some(until_lt(&rest[gt + 1..]));
            }
            _ => continue,
        }
    }
}

fn until_lt(s: &str) -> &str {
    &s[..memchr::memchr(b'<', s.as_bytes()).unwrap_or(s.len())]
}

/// The value of attribute `attr` on the first `<element ...>` tag; `open` is `<element`.
fn element_attr<'a>(xml: &'a str, open: &str, attr: &str) -> Option<&'a str> {
    let mut from = 0;
    loop {
        let at = from + find(&xml.as_bytes()[from..], open)?;
        let rest = &xml[at + open.len()..];
        from = at + 1;
        if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
            continue;
        }
        let gt = rest.find('>')?;
        return attr_value(&rest[..gt], attr);
    }
}

/// The value of `name='v'` or `name="v"` inside a tag's text.
fn attr_value<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut from = 0;
    loop {
        let at = from + find(&tag.as_bytes()[from..], name)?;
        from = at + name.len();
        let before_ok = at == 0 || tag.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = tag[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=').filter(|_| before_ok) else { continue };
        let rest = rest.trim_start();
        let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
        let body = &rest[1..];
        return body.find(quote).map(|end| &body[..end]);
    }
}

/// Turns a dump-tool value into the forwarder's rendering.
pub fn normalise(value: &str) -> Cow<'_, str> {
    let decoded = decode_entities(value);
    let escaped =
        if decoded.contains(['&', '<', '>']) { Cow::Owned(escape_xml(&decoded)) } else { decoded };
    match guid_upper(&escaped) {
        Some(g) => Cow::Owned(g),
        None => escaped,
    }
}

fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}

/// Decodes the five named entities and numeric references; unknown ones stay as written.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        // An entity is short: `;` is looked for in the next few bytes only.
        let semi = memchr::memchr(b';', &tail.as_bytes()[..tail.len().min(12)]);
        match semi.and_then(|i| entity(&tail[1..i]).map(|c| (c, i))) {
            Some((c, i)) => {
                out.push(c);
                rest = &tail[i + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code).filter(|c| *c != '\0')
        }
    }
}

/// `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}` for a value that is exactly a GUID, with or without
/// braces, when it is not already written that way.
fn guid_upper(v: &str) -> Option<String> {
    let inner = v.strip_prefix('{').and_then(|x| x.strip_suffix('}')).unwrap_or(v);
    let b = inner.as_bytes();
    let shape = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if !shape {
        return None;
    }
    let g = format!("{{{}}}", inner.to_ascii_uppercase());
    (g != v).then_some(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPLUNK: &str =
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
        <EventID>1</EventID><TimeCreated SystemTime='2019-07-19T14:48:30.660877000Z'/>\
        <Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>HOST1</Computer>\
        <Security UserID='S-1-5-18'/></System><EventData><Data Name='RuleName'></Data>\
        <Data Name='CommandLine'>a &amp; b\nc</Data><Data Name='Image'>C:\\x.exe</Data>\
        <Data Name='Empty'/></EventData></Event>";

    fn proj(fields: &[&str]) -> Projection {
        let mut p = Projection::default();
        let f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
        p.set(SourceKind::SysmonProcess, true, f.clone());
        p.set(SourceKind::SecurityProcess, true, f);
        p
    }

    fn fields(rec: &str, wanted: &[&str]) -> Vec<(String, String)> {
        let h = header(rec);
        match extract(rec, h, &proj(wanted)).unwrap() {
            Extracted::Event(e) => {
                e.fields.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
            }
            Extracted::EventDataCut => panic!("cut"),
        }
    }

    #[test]
    fn forwarder_values_are_verbatim() {
        let h = header(SPLUNK);
        assert_eq!(h.kind, SourceKind::SysmonProcess);
        assert_eq!(h.format, RecordFormat::SplunkXml);
        let got = fields(SPLUNK, &["CommandLine", "Computer", "UserID", "SystemTime", "RuleName"]);
        assert_eq!(
            got,
            [
                ("Computer".into(), "HOST1".into()),
                ("SystemTime".into(), "2019-07-19T14:48:30.660877000Z".into()),
                ("UserID".into(), "S-1-5-18".into()),
                ("CommandLine".into(), "a &amp; b\nc".into()),
            ]
        );
    }

    #[test]
    fn cut_eventdata_gives_no_fields() {
        let cut = &SPLUNK[..SPLUNK.find("</EventData>").unwrap()];
        let h = header(cut);
        assert_eq!(extract(cut, h, &proj(&["Image"])), Some(Extracted::EventDataCut));
    }

    #[test]
    fn record_cut_before_eventdata_gives_no_fields() {
        let cut = &SPLUNK[..SPLUNK.find("<EventData>").unwrap() + 5];
        assert_eq!(extract(cut, header(cut), &proj(&["Image"])), Some(Extracted::EventDataCut));
        let no_data = SPLUNK.replace(
            &SPLUNK[SPLUNK.find("<EventData>").unwrap()..SPLUNK.find("</Event>").unwrap()],
            "",
        );
        assert!(matches!(
            extract(&no_data, header(&no_data), &proj(&["Image"])),
            Some(Extracted::Event(_))
        ));
    }

    #[test]
    fn dump_values_take_the_forwarder_rendering() {
        let dump = "<?xml version=\"1.0\"?>\n<Event xmlns=\"x\">\n  <System>\n    \
            <EventID>4688</EventID>\n    <Channel>Security</Channel>\n  </System>\n  \
            <EventData>\n    <Data Name=\"CommandLine\">say &quot;a&quot; &amp; b</Data>\n    \
            <Data Name=\"G\">747f3d96-d83e-5d31-0000-001042d32e00</Data>\n  </EventData>\n</Event>";
        assert_eq!(header(dump).format, RecordFormat::DumpXml);
        assert_eq!(header(dump).kind, SourceKind::SecurityProcess);
        let got = fields(dump, &["CommandLine", "G"]);
        assert_eq!(got[0].1, "say \"a\" &amp; b");
        assert_eq!(got[1].1, "{747F3D96-D83E-5D31-0000-001042D32E00}");
    }

    #[test]
    fn other_events_are_other() {
        let net = SPLUNK.replace("<EventID>1<", "<EventID>3<");
        assert_eq!(header(&net).kind, SourceKind::Other);
    }

    #[test]
    fn entities_decode() {
        assert_eq!(decode_entities("&#65;&#x42;&lt;&bogus;&"), "AB<&bogus;&");
    }
}
