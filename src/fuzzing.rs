//! Entry points for the fuzz targets (`fuzz/`) and their regression tests
//! (`tests/fuzz_regressions.rs`): each takes any bytes and drives one stage, with the default
//! rule where a rule is needed. None may panic or hang, whatever the bytes.
//!
//! Owns no logic: it only calls the stages' public functions as the engine does.

use std::sync::LazyLock;

use crate::cim::Profile;
use crate::compare::{self, export};
use crate::engine::{self, Compiled};
use crate::event::json;
use crate::event::xml::{self, Extracted};
use crate::input::evtx::{self, Item};
use crate::input::frame::{self, XmlItem};
use crate::spl::{Detection, MacroTable};

static RULE: LazyLock<Compiled> = LazyLock::new(|| {
    let det = Detection::default_rule();
    engine::compile(&det, &MACROS, Profile::default_profile()).expect("the default rule compiles")
});

static MACROS: LazyLock<MacroTable> = LazyLock::new(MacroTable::with_defaults);

fn evaluate(raw: &crate::event::RawEvent<'_>) {
    let rule = &*RULE;
    if let Ok(cim) = rule.mapper.map(raw) {
        if let Some(f) = &rule.plan.filter {
            let _ = crate::eval::holds(f, &cim);
        }
    }
}

/// XML framing, the record header, the prefilter, extraction, CIM mapping and evaluation.
pub fn xml_record(data: &[u8]) {
    let rule = &*RULE;
    frame::xml_items(data, |item| {
        let XmlItem::Record { range, .. } = item else { return };
        let text = String::from_utf8_lossy(&data[range]);
        let h = xml::header(&text);
        let _ = rule.prefilter.may_match(h.format, text.as_bytes());
        if let Some(Extracted::Event(raw)) = xml::extract(&text, h, &rule.projection) {
            evaluate(&raw);
        }
    });
}

/// JSON line framing, surrogate repair, the prefilter, extraction, CIM mapping and evaluation.
pub fn json_line(data: &[u8]) {
    let rule = &*RULE;
    let mut buffers = simd_json::Buffers::default();
    frame::json_lines(data, |r| {
        let line = &data[r];
        let _ = json::sniff_kind(line);
        let _ = rule.prefilter.may_match(crate::schema::RecordFormat::Json, line);
        let mut buf = String::from_utf8_lossy(line).into_owned().into_bytes();
        json::repair_lone_surrogates(&mut buf);
        if let Ok(parsed) = json::parse_with(&mut buf, &rule.projection, &mut buffers) {
            if let Some(raw) = parsed.event {
                evaluate(&raw);
            }
        }
    });
}

/// The EVTX path: file header, chunk checks, record parsing and rendering, with chunk
/// skipping on and off.
pub fn evtx_file(data: &[u8]) {
    let rule = &*RULE;
    let keep = |chunk: &[u8]| rule.prefilter.evtx_chunk_may_match(chunk);
    for filter in [None, Some(&keep as evtx::ChunkFilter<'_>)] {
        evtx::read(data, filter, |item| {
            if let Item::Record { xml, .. } = item {
                let h = xml::header(&xml);
                if let Some(Extracted::Event(raw)) = xml::extract(&xml, h, &rule.projection) {
                    evaluate(&raw);
                }
            }
        });
    }
}

/// Macro expansion, lexing, parsing and planning of any search text, and detection YAML with
/// its finding and tests; a plan that compiles also groups three made-up events (a value, a
/// multivalue, a missing field, in every field) and runs its post-processing (eval, where,
/// sort...) over the rows.
pub fn spl_compile(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(plan) = crate::plan::compile(&Detection::inline("fuzz", &text), &MACROS) {
        let _ = plan.describe_filter();
        post_process(&plan);
    }
    if let Ok(det) = Detection::from_yaml(&text) {
        let _ = det.meta();
        let _ = crate::plan::compile(&det, &MACROS);
    }
}

fn post_process(plan: &crate::plan::Plan) {
    use std::borrow::Cow;
    let n = plan.fields.len();
    let shapes: [Vec<Cow<'static, str>>; 3] = [
        vec![Cow::Borrowed("10")],
        vec![Cow::Borrowed("a b"), Cow::Borrowed("C:\\x\\y.exe")],
        Vec::new(),
    ];
    let mut table = crate::group::GroupTable::default();
    for (i, shape) in shapes.iter().enumerate() {
        let values = vec![shape.clone(); n];
        let time = (i as i64 - 1) * 86_400_000_000_000;
        let ev = crate::cim::CimEvent { values, time, time_fallback: false, mapped: n };
        let _ = table.add(plan, &ev);
    }
    let _ = crate::output::finish(plan, table.into_sorted(), &jiff::tz::TimeZone::UTC);
}

/// The export reader, and a comparison of what it read with itself less its first row.
pub fn export_reader(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(e) = export::parse(&text) else { return };
    let mut other = e.table.clone();
    if !other.rows.is_empty() {
        other.rows.remove(0);
    }
    if let Ok(cmp) = compare::compare(&e.table, &other, &compare::Options::default()) {
        let hints = compare::hints::find(&cmp, &Profile::default_profile());
        let ctx = compare::report::Context {
            command: "diff",
            ours: String::new(),
            splunk: String::new(),
            show: 3,
            speed: None,
            notes: Vec::new(),
        };
        let _ = compare::report::render(&cmp, &hints, &ctx);
        let _ = compare::report::suggested_profile(&hints);
    }
}
