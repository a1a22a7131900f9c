//! `tsreplay explain`: the compiled plan laid out as the seed page lays out a rule: stages,
//! indicators, BY list, prefilter literals per format, source fields read per format.
//!
//! Owns the layout only; the engine hands in what other stages decided.

use std::fmt::Write as _;

use crate::plan::Plan;
use crate::schema::RecordFormat;

/// What the engine decided for a plan, for display.
#[derive(Debug, Clone, Default)]
pub struct Decisions {
    /// The prefilter literals per format (`None`: no prefilter for that format).
    pub literals: Vec<(RecordFormat, Option<Vec<String>>)>,
    /// The literals searched in raw EVTX chunks, as UTF-16LE and ASCII (`None`: every chunk
    /// is decoded).
    pub evtx_chunks: Option<Vec<String>>,
    /// Source fields read, per profile section: `(section, description, fields)`.
    pub sources: Vec<(String, String, Vec<String>)>,
    /// Where the mapping profile came from.
    pub profile: String,
}

/// Renders the explain text.
pub fn render(plan: &Plan, d: &Decisions) -> String {
    let mut out = String::new();
    let version = if plan.version.is_empty() { "-" } else { &plan.version };
    let _ = writeln!(out, "Rule: {} (id {}, version {version})", plan.name, or_dash(&plan.id));
    let _ = writeln!(out, "\nStages and Predicates");
    for (i, stage) in plan.stages.iter().enumerate() {
        let verb = stage.split_whitespace().next().unwrap_or("");
        let _ = writeln!(out, "\nStage {}: {verb}\n\n| {stage}", i + 1);
    }
    let _ = writeln!(
        out,
        "\nFilter (Splunk precedence: NOT, then OR, then AND)\n\n  {}",
        plan.describe_filter()
    );
    let _ = writeln!(out, "\nIndicators\n");
    let mut rows: Vec<(String, String, Vec<String>)> = plan
        .indicators
        .iter()
        .map(|ind| {
            let kind = if ind.negated { format!("not {}", ind.op) } else { ind.op.to_string() };
            let mut values: Vec<String> = ind.values.iter().map(|v| format!("\"{v}\"")).collect();
            values.sort();
            (ind.field.clone(), kind, values)
        })
        .collect();
    rows.sort();
    let _ = writeln!(out, "{:<40} {:<8} Values", "Field", "Kind");
    for (field, kind, values) in rows {
        let _ = writeln!(out, "{field:<40} {kind:<8} {}", values.join(", "));
    }
    let width = plan.by.len() + usize::from(plan.time_bucket.is_some());
    let _ = writeln!(out, "\nGroup by ({width})\n");
    if let Some((_, span)) = plan.time_bucket {
        let _ = writeln!(out, "  (_time in buckets of {span} seconds)");
    }
    for name in &plan.columns[..width] {
        let _ = writeln!(out, "  {name}");
    }
    let fill = plan
        .fillnull
        .as_deref()
        .map_or("none: events missing a BY field are dropped".into(), |f| format!("\"{f}\""));
    let _ = writeln!(out, "\nfillnull_value: {fill}");
    let _ = writeln!(out, "Output columns: {}", plan.final_columns.join(", "));
    let _ = writeln!(out, "\nPrefilter literals (any one must occur, ASCII case folded)\n");
    for (format, lits) in &d.literals {
        let shown = match lits {
            None => "none: every record is parsed".to_string(),
            Some(l) if l.is_empty() => "no record can match".to_string(),
            Some(l) => l.iter().map(|x| format!("\"{x}\"")).collect::<Vec<_>>().join(", "),
        };
        let _ = writeln!(out, "  {:<16} {shown}", format.name());
    }
    let chunks = match &d.evtx_chunks {
        None => "none: every chunk is decoded".to_string(),
        Some(l) if l.is_empty() => "no chunk can match".to_string(),
        Some(l) => {
            let l: Vec<String> = l.iter().map(|x| format!("\"{x}\"")).collect();
            format!("{} (as UTF-16LE and ASCII)", l.join(", "))
        }
    };
    let _ = writeln!(out, "  {:<16} {chunks}", "evtx chunks");
    let _ = writeln!(out, "\nSource fields read (profile: {})\n", d.profile);
    // Sections of other data sets read nothing for this rule.
    for (section, what, fields) in d.sources.iter().filter(|(_, _, f)| !f.is_empty()) {
        let _ = writeln!(out, "  {section} ({what}): {}", fields.join(", "));
    }
    out
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}
