//! Prefilter soundness as a property: for random records (in every text format, with escapes
//! and entities) and random rules, the rows with the prefilter equal the rows without it.

mod common;

use std::io::Write;

use proptest::prelude::*;
use tsreplay::cim::Profile;
use tsreplay::engine::{self, Options};
use tsreplay::spl::{Detection, MacroTable};

const WORDS: &[&str] = &[
    "bitsadmin.exe",
    "BITSADMIN",
    "/create",
    "c:\\windows\\",
    "\"quoted\"",
    "a&b",
    "x<y",
    "{guid}",
    "unknown",
    "allowed",
    "Microsoft Sysmon",
    "é",
    "/",
    "'",
    "job",
    " ",
    "-",
];

const FIELDS: &[&str] = &[
    "process_name",
    "process",
    "process",
    "process",
    "parent_process",
    "user",
    "original_file_name",
    "process_path",
    "dest",
    "user_id",
    "process_integrity_level",
    "vendor_product",
    "action",
    "parent_process_name",
];

fn value() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 1..4).prop_map(|w| w.concat())
}

/// Values that mappings and CIM defaults produce without them being raw text.
const SYNTHETIC: &[&str] =
    &["unknown", "allowed", "Microsoft Sysmon", "'S-1-5-18'", "CrowdStrike Falcon"];

/// One generated term: which field, where its pattern text comes from, which operator, and how
/// it joins the previous term.
#[derive(Debug, Clone)]
struct TermSeed {
    field: usize,
    source: usize,
    start: usize,
    len: usize,
    anchors: u8,
    op: u8,
    or: bool,
}

fn term_seed() -> impl Strategy<Value = TermSeed> {
    (0..FIELDS.len(), 0..64usize, 0..40usize, 1..12usize, 0..4u8, 0..4u8, any::<bool>()).prop_map(
        |(field, source, start, len, anchors, op, or)| TermSeed {
            field,
            source,
            start,
            len,
            anchors,
            op,
            or,
        },
    )
}

/// The shape of a rebuilt 4688 command line (image, a space, the arguments), so that patterns
/// straddle the join.
fn rebuilt_4688(e: &Ev) -> String {
    let rest = e.cmd.trim_start().split_once(' ').map_or("", |(_, r)| r.trim_start());
    format!("{} {rest}", e.image)
}

/// The texts a field's value is made of, for an event (raw pieces and synthetic values).
fn field_texts(field: &str, e: &Ev) -> Vec<String> {
    let base = e.image.rsplit('\\').next().unwrap_or("").to_string();
    let v: Vec<&str> = match field {
        "process_name" | "parent_process_name" => vec![&base, &e.cmd, "unknown"],
        "process" => return vec![e.cmd.clone(), rebuilt_4688(e), rebuilt_4688(e)],
        "parent_process" => vec![&e.parent, "unknown"],
        "user" => vec![&e.user, "unknown"],
        "original_file_name" => vec![&e.ofn, "unknown"],
        "process_path" => vec![&e.image],
        "dest" => vec!["h", "unknown"],
        "user_id" => vec!["'S-1-5-18'", &e.user],
        "vendor_product" => vec!["Microsoft Sysmon", "Microsoft Windows", "CrowdStrike Falcon"],
        "action" => vec!["allowed"],
        _ => vec![],
    };
    v.into_iter().map(str::to_string).collect()
}

/// Builds a filter whose patterns are pieces of the events' own values (or of synthetic
/// values), so that terms match often and the prefilter is exercised on real hits.
fn build_filter(events: &[Ev], seeds: &[TermSeed]) -> String {
    let mut texts: Vec<String> = SYNTHETIC.iter().map(|s| s.to_string()).collect();
    for e in events {
        texts.extend([
            e.image.clone(),
            e.cmd.clone(),
            e.parent.clone(),
            e.user.clone(),
            e.ofn.clone(),
        ]);
        texts.push(e.image.rsplit('\\').next().unwrap_or("").to_string());
    }
    let mut out = String::new();
    for (i, t) in seeds.iter().enumerate() {
        let own = field_texts(FIELDS[t.field], &events[t.source % events.len()]);
        let text = if t.source % 4 != 0 && !own.is_empty() {
            own[t.start % own.len()].clone()
        } else {
            texts[t.source % texts.len()].clone()
        };
        let chars: Vec<char> = text.chars().collect();
        let start = t.start % chars.len().max(1);
        let piece: String = chars.iter().skip(start).take(t.len).collect();
        let (pre, post) = match t.anchors {
            0 => ("", ""),
            1 => ("*", ""),
            2 => ("", "*"),
            _ => ("*", "*"),
        };
        let whole: String = if t.anchors == 0 { chars.iter().collect() } else { piece };
        let p = format!("{pre}{whole}{post}").replace('\\', "\\\\").replace('"', "\\\"");
        let f = FIELDS[t.field];
        let term = match t.op {
            0 | 3 => format!("Processes.{f}=\"{p}\""),
            1 => format!("Processes.{f}!=\"{p}\""),
            _ => format!("NOT Processes.{f}=\"{p}\""),
        };
        if i > 0 {
            out.push_str(if t.or { " OR " } else { " " });
        }
        out.push_str(&term);
    }
    out
}

#[derive(Debug, Clone)]
struct Ev {
    image: String,
    cmd: String,
    parent: String,
    user: String,
    ofn: String,
}

fn event() -> impl Strategy<Value = Ev> {
    (value(), value(), value(), value(), value(), value(), any::<bool>()).prop_map(
        |(image, cmd, arg, parent, user, ofn, spaced)| Ev {
            image: format!("C:\\x\\{image}"),
            // Half the command lines have arguments, so the 4688 rebuild joins pieces.
            cmd: if spaced { format!("{cmd} {arg}") } else { cmd },
            parent,
            user,
            ofn,
        },
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn splunk_xml(e: &Ev, id: &str) -> String {
    let data = |n: &str, v: &str| format!("<Data Name='{n}'>{}</Data>", xml_escape(v));
    let (ch, body) = if id == "1" {
        (
            "Microsoft-Windows-Sysmon/Operational",
            [
                data("UtcTime", "2024-01-01 00:00:01.000"),
                data("Image", &e.image),
                data("CommandLine", &e.cmd),
                data("ParentCommandLine", &e.parent),
                data("User", &e.user),
                data("OriginalFileName", &e.ofn),
            ]
            .concat(),
        )
    } else {
        (
            "Security",
            [
                data("NewProcessName", &e.image),
                data("CommandLine", &e.cmd),
                data("ParentProcessName", &e.parent),
                data("TargetUserName", &e.user),
            ]
            .concat(),
        )
    };
    let system = format!(
        "<System><EventID>{id}</EventID><TimeCreated SystemTime='2024-01-01T00:00:01.5Z'/>\
         <Channel>{ch}</Channel><Computer>h</Computer><Security UserID='S-1-5-18'/></System>"
    );
    format!("<Event xmlns='x'>{system}<EventData>{body}</EventData></Event>\n")
}

fn dump_xml(e: &Ev, numeric: bool) -> String {
    let esc = |v: &str| {
        let v = xml_escape(v).replace('"', "&quot;").replace('\'', "&apos;");
        if numeric {
            v.replace('b', "&#98;").replace('e', "&#x65;")
        } else {
            v
        }
    };
    let data = |n: &str, v: &str| format!("    <Data Name=\"{n}\">{}</Data>\n", esc(v));
    let system = "  <System>\n    <EventID>1</EventID>\n    \
                  <TimeCreated SystemTime=\"2024-01-01T00:00:01.5Z\"/>\n    \
                  <Channel>Microsoft-Windows-Sysmon/Operational</Channel>\n    \
                  <Computer>h</Computer>\n  </System>\n";
    let body = [
        data("UtcTime", "2024-01-01 00:00:01.000"),
        data("Image", &e.image),
        data("CommandLine", &e.cmd),
        data("User", &e.user),
    ]
    .concat();
    format!(
        "<?xml version=\"1.0\"?>\n<Event xmlns=\"x\">\n{system}  <EventData>\n{body}  \
         </EventData>\n</Event>\n"
    )
}

fn json_line(e: &Ev, cs: bool, unicode: bool) -> String {
    let enc = |v: &str| {
        let s = serde_json::to_string(v).unwrap();
        if unicode {
            s.replace('b', "\\u0062")
        } else {
            s
        }
    };
    if cs {
        format!(
            "{{\"event_simpleName\":\"ProcessRollup2\",\"timestamp\":\"1700000000000\",\
             \"ImageFileName\":{},\"CommandLine\":{},\"UserSid\":{}}}\n",
            enc(&e.image),
            enc(&e.cmd),
            enc(&e.user)
        )
    } else {
        format!(
            "{{\"Channel\":\"Microsoft-Windows-Sysmon/Operational\",\"EventID\":1,\
             \"UtcTime\":\"2024-01-01 00:00:01.000\",\"Image\":{},\"CommandLine\":{},\
             \"User\":{},\"OriginalFileName\":{}}}\n",
            enc(&e.image),
            enc(&e.cmd),
            enc(&e.user),
            enc(&e.ofn)
        )
    }
}

const BY: &str = "by Processes.process Processes.user Processes.process_name Processes.dest";

fn rows(filter: &str, files: &[std::path::PathBuf], prefilter: bool) -> Vec<Vec<String>> {
    let search = format!(
        "| tstats fillnull_value=null count from datamodel=Endpoint.Processes where {filter} {BY}"
    );
    let det = Detection::inline("p", &search);
    let compiled = engine::compile(&det, &MacroTable::with_defaults(), Profile::default_profile())
        .expect("generated rules compile");
    let opts = Options { prefilter, threads: 1, ..Options::default() };
    engine::run(&compiled, files, &opts).table.rows
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn prefilter_never_changes_rows(
        events in prop::collection::vec(event(), 1..6),
        seeds in prop::collection::vec(term_seed(), 1..4),
    ) {
        let f = build_filter(&events, &seeds);
        let dir = tempfile::tempdir().unwrap();
        let mut xml = String::new();
        let mut dump = String::new();
        let mut json = String::new();
        for (i, e) in events.iter().enumerate() {
            xml.push_str(&splunk_xml(e, if i % 2 == 0 { "1" } else { "4688" }));
            dump.push_str(&dump_xml(e, i % 3 != 2));
            json.push_str(&json_line(e, i % 2 == 1, i % 3 == 1));
        }
        let mut files = Vec::new();
        for (name, text) in [("a.xml", &xml), ("b.xml", &dump), ("c.json", &json)] {
            let p = dir.path().join(name);
            std::fs::File::create(&p).unwrap().write_all(text.as_bytes()).unwrap();
            files.push(p);
        }
        let with = rows(&f, &files, true);
        if std::env::var("PROP_DEBUG").is_ok() { eprintln!("{} rows: {f}", with.len()); }
        prop_assert_eq!(with, rows(&f, &files, false), "filter: {}", f);
    }
}
