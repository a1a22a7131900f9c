//! The comparison report as text, the suggested profile file, and the speed line.
//!
//! Owns the wording. It must not decide which rows are equal or what a difference means.

use std::fmt::Write as _;

use super::export::JobStats;
use super::hints::{NoFix, Pattern, ProfileLine, Remedy, Systematic};
use super::Comparison;
use crate::output::write::visible;

/// What the report says about the two sides.
#[derive(Debug, Clone)]
pub struct Context {
    /// The command (`compare` or `diff`), for the header.
    pub command: &'static str,
    /// How tsreplay's table was made (`run over 3 files`, or a path).
    pub ours: String,
    /// Where Splunk's table came from (path and shape).
    pub splunk: String,
    /// The most rows listed per list.
    pub show: usize,
    /// The speed comparison, when both sides' figures are known.
    pub speed: Option<Speed>,
    /// Warnings about how the files were read.
    pub notes: Vec<String>,
}

/// tsreplay's run against Splunk's job.
#[derive(Debug, Clone)]
pub struct Speed {
    /// tsreplay's wall-clock seconds.
    pub seconds: f64,
    /// Records tsreplay read.
    pub records: u64,
    /// Splunk's job statistics.
    pub job: JobStats,
}

/// Columns that identify a row, preferred when naming near rows.
const IDENTITY: &[&str] = &["dest", "process_guid", "process_id", "firstTime", "process_name"];

/// Renders the report.
pub fn render(cmp: &Comparison, hints: &[Systematic], ctx: &Context) -> String {
    let mut out = String::new();
    counts(&mut out, cmp, ctx);
    near_rows(&mut out, cmp, ctx.show);
    row_list(&mut out, "rows only in Splunk", &cmp.only_splunk, &cmp.common, ctx.show);
    row_list(&mut out, "rows only in tsreplay", &cmp.only_ours, &cmp.common, ctx.show);
    systematic(&mut out, hints);
    if let Some(speed) = &ctx.speed {
        speed_line(&mut out, speed);
    }
    let _ = writeln!(out, "\n{}", verdict(cmp));
    out
}

fn counts(out: &mut String, cmp: &Comparison, ctx: &Context) {
    let _ = writeln!(out, "tsreplay {}", ctx.command);
    let _ = writeln!(out, "  tsreplay: {} rows ({})", cmp.ours_rows, visible(&ctx.ours));
    let _ = writeln!(out, "  Splunk:   {} rows ({})", cmp.splunk_rows, visible(&ctx.splunk));
    for n in &ctx.notes {
        let _ = writeln!(out, "  note: {}", visible(n));
    }
    let _ = writeln!(out, "  columns compared: {}", cmp.common.len());
    if !cmp.only_splunk_columns.is_empty() {
        let list = visible(&cmp.only_splunk_columns.join(", "));
        let _ = writeln!(out, "  columns only in Splunk (not compared): {list}");
    }
    if !cmp.only_ours_columns.is_empty() {
        let list = visible(&cmp.only_ours_columns.join(", "));
        let _ = writeln!(out, "  columns only in tsreplay (not compared): {list}");
    }
    let _ = writeln!(out, "  equal rows: {}", cmp.equal.len());
    let _ = writeln!(out, "  near rows: {}", cmp.near.len());
    let _ = writeln!(out, "  rows only in Splunk: {}", cmp.only_splunk.len());
    let _ = writeln!(out, "  rows only in tsreplay: {}", cmp.only_ours.len());
    if !cmp.only_ours.is_empty() && !cmp.only_splunk.is_empty() {
        let _ = writeln!(
            out,
            "  (rows left unpaired on both sides differ in more columns than --near allows: raise \
             --near, or pair them with --key COLUMNS)"
        );
    }
}

fn near_rows(out: &mut String, cmp: &Comparison, show: usize) {
    if cmp.near.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nnear rows (the columns that differ)");
    let width = cmp.common.iter().map(|c| c.chars().count()).max().unwrap_or(0);
    for (n, pair) in cmp.near.iter().take(show).enumerate() {
        let same: Vec<usize> =
            (0..cmp.common.len()).filter(|i| !pair.differs.contains(i)).collect();
        let _ = writeln!(out, "  {}. {}", n + 1, identify(&cmp.common, &pair.ours, &same));
        for &c in &pair.differs {
            let name = visible(&cmp.common[c]);
            let _ = writeln!(out, "       {name:<width$}  tsreplay: {}", shown(&pair.ours[c]));
            let _ = writeln!(out, "       {:<width$}  Splunk:   {}", "", shown(&pair.splunk[c]));
        }
    }
    more(out, cmp.near.len(), show);
}

/// Names a row by its identity columns among `same`, else by its first three such columns.
fn identify(columns: &[String], row: &[String], same: &[usize]) -> String {
    let mut picked: Vec<usize> =
        same.iter().copied().filter(|i| IDENTITY.contains(&columns[*i].as_str())).take(4).collect();
    if picked.is_empty() {
        picked = same.iter().copied().take(3).collect();
    }
    let parts: Vec<String> = picked.iter().map(|i| pair_text(&columns[*i], &row[*i])).collect();
    if parts.is_empty() {
        "(no column equal)".to_string()
    } else {
        parts.join(" ")
    }
}

/// A cell for the side-by-side view: escaped, and `(empty)` when there is nothing.
fn shown(value: &str) -> String {
    if value.is_empty() {
        "(empty)".to_string()
    } else {
        visible(value)
    }
}

fn row_list(out: &mut String, title: &str, rows: &[Vec<String>], columns: &[String], show: usize) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}");
    for (n, row) in rows.iter().take(show).enumerate() {
        let parts: Vec<String> = columns.iter().zip(row).map(|(c, v)| pair_text(c, v)).collect();
        let _ = writeln!(out, "  {}. {}", n + 1, parts.join(" "));
    }
    more(out, rows.len(), show);
}

fn more(out: &mut String, total: usize, show: usize) {
    if total > show {
        let _ = writeln!(out, "  ... and {} more (--show N lists more)", total - show);
    }
}

fn pair_text(column: &str, value: &str) -> String {
    let column = visible(column);
    let v = visible(value);
    if v.is_empty() || v.contains([' ', '"']) {
        format!("{column}=\"{}\"", v.replace('"', "\\\""))
    } else {
        format!("{column}={v}")
    }
}

fn systematic(out: &mut String, hints: &[Systematic]) {
    if hints.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nsystematic differences");
    for h in hints {
        let _ = writeln!(
            out,
            "  {}: {} in {} of {} near rows (tsreplay `{}`, Splunk `{}`)",
            visible(&h.column),
            describe(h),
            h.rows,
            h.differing,
            visible(&h.example.0),
            visible(&h.example.1)
        );
        if h.sources_unknown && !matches!(h.remedy, Remedy::TimeZone | Remedy::NotMapped) {
            let _ = writeln!(
                out,
                "    (the rows have no vendor_product column, so their source is not known: \
                 lines for every source follow; keep the ones for your data)"
            );
        }
        remedy(out, &h.remedy);
    }
}

/// What the pattern says, in words.
pub fn describe(h: &Systematic) -> String {
    match &h.pattern {
        Pattern::DomainDropped => "Splunk drops the domain".into(),
        Pattern::DomainKept => "Splunk keeps the domain".into(),
        Pattern::ToDecimal => "Splunk writes the number in decimal".into(),
        Pattern::ToHex => "Splunk writes the number in hex".into(),
        Pattern::UnknownForNull => "Splunk has `unknown` where tsreplay has `null`".into(),
        Pattern::NullForUnknown => "Splunk has `null` where tsreplay has `unknown`".into(),
        Pattern::Wrapped(q) => format!("Splunk wraps the value in {q}"),
        Pattern::Unwrapped(q) => format!("Splunk has the value without the {q} around it"),
        Pattern::Split(sep) => format!("Splunk has a multivalue of the value split on `{sep}`"),
        Pattern::Joined(sep) => format!("Splunk has one value, joined by `{sep}`"),
        Pattern::TimeShift => {
            let parts: Vec<String> = h.offsets.iter().map(|o| offset(*o)).collect();
            format!("Splunk's times are {}", parts.join(" or "))
        }
        Pattern::TimeJitter(d) => format!("Splunk's times are {}", offset(*d)),
        Pattern::Replaced => "Splunk has another value".into(),
    }
}

/// `2:00 h later`, `1:00 h earlier`, `1 s later`.
fn offset(secs: i64) -> String {
    let word = if secs < 0 { "earlier" } else { "later" };
    let a = secs.unsigned_abs();
    if a < 60 {
        return format!("{a} s {word}");
    }
    format!("{}:{:02} h {word}", a / 3600, a % 3600 / 60)
}

fn remedy(out: &mut String, r: &Remedy) {
    match r {
        Remedy::Profile(lines) => {
            let _ = writeln!(out, "    fix, in a --profile file:");
            profile_lines(out, lines);
        }
        Remedy::AlreadySet(lines) => {
            let _ = writeln!(
                out,
                "    the profile given already has the line that gives Splunk's value, so \
                 tsreplay's table was made without it:"
            );
            profile_lines(out, lines);
        }
        Remedy::Edit(why, lines) => {
            let _ = writeln!(out, "    no profile line proposed: {}", no_fix(*why));
            if !lines.is_empty() {
                let _ = writeln!(out, "    the lines that make the value now:");
                profile_lines(out, lines);
            }
        }
        Remedy::TimeZone => {
            let _ = writeln!(
                out,
                "    Splunk's user time zone differs from the one tsreplay printed in: give \
                 tsreplay --tz with the Splunk user's zone (an IANA name; daylight saving \
                 applies, so one zone can show two offsets)"
            );
        }
        Remedy::NotMapped => {
            let _ = writeln!(out, "    not a mapped field: no profile line changes it");
        }
    }
}

fn no_fix(why: NoFix) -> String {
    match why {
        NoFix::NoSwitch => "the profile has no switch that gives Splunk's value".into(),
        NoFix::BreaksEqualRows(1) => "the change would also alter 1 row that is equal now, \
             so the difference is not the add-on's"
            .into(),
        NoFix::BreaksEqualRows(n) => format!(
            "the change would also alter {n} rows that are equal now, so the difference is not \
             the add-on's"
        ),
        NoFix::OneRowPerValue => "a BY field gives one row per value, never a multivalue cell \
             (this column comes from an aggregate or another search)"
            .into(),
        NoFix::TimeSource => "which source field Splunk's _time came from cannot be told from \
             the rows; the time lists tried now:"
            .into(),
        NoFix::LowerCasedAfter => "CIM lower-cases this field after the profile".into(),
    }
}

fn profile_lines(out: &mut String, lines: &[ProfileLine]) {
    for l in lines {
        let _ = writeln!(out, "      {}", l.header());
        let _ = writeln!(out, "      {}", l.line);
        if !l.inherited_by.is_empty() {
            let _ = writeln!(out, "      # {} inherits it", l.inherited_by.join(", "));
        }
    }
}

fn speed_line(out: &mut String, s: &Speed) {
    let _ = writeln!(out, "\nspeed");
    let _ = writeln!(out, "  tsreplay: {} over {} records", seconds(s.seconds), s.records);
    let events = |n: Option<u64>| n.map_or("-".to_string(), |n| n.to_string());
    match s.job.run_duration {
        Some(d) => {
            let _ = writeln!(
                out,
                "  Splunk:   runDuration {} (scanCount {}, eventCount {}, resultCount {})",
                seconds(d),
                events(s.job.scan_count),
                events(s.job.event_count),
                events(s.job.result_count)
            );
            let ratio = (d / s.seconds.max(1e-6)).clamp(1e-6, 1e6);
            let _ = if ratio >= 1.0 {
                writeln!(out, "  tsreplay was {ratio:.1}x as fast as Splunk")
            } else {
                writeln!(out, "  tsreplay was {:.1}x slower than Splunk", 1.0 / ratio)
            };
            if let Some(n) = s.job.scan_count.filter(|n| *n != s.records) {
                let _ = writeln!(
                    out,
                    "  note: Splunk scanned {n} events and tsreplay read {} records, so the \
                     ratio is not on the same events",
                    s.records
                );
            }
        }
        None => {
            let _ = writeln!(out, "  Splunk:   no runDuration in the job statistics");
        }
    }
}

/// Seconds for people: milliseconds below one second.
fn seconds(s: f64) -> String {
    if s < 1.0 {
        format!("{:.3} ms", s * 1000.0)
    } else {
        format!("{s:.3} s")
    }
}

/// The one-line outcome.
pub fn verdict(cmp: &Comparison) -> String {
    if cmp.is_equal() {
        return format!("EQUAL: {} rows on {} columns", cmp.equal.len(), cmp.common.len());
    }
    format!(
        "DIFFERENT: {} equal, {} near, {} only in Splunk, {} only in tsreplay",
        cmp.equal.len(),
        cmp.near.len(),
        cmp.only_splunk.len(),
        cmp.only_ours.len()
    )
}

/// A profile file holding every fix the hints propose, one section header each.
pub fn suggested_profile(hints: &[Systematic]) -> Option<String> {
    let mut by_header: Vec<(String, Vec<String>)> = Vec::new();
    for h in hints {
        let Remedy::Profile(lines) = &h.remedy else { continue };
        for l in lines {
            let header = l.header();
            let slot = match by_header.iter().position(|(hd, _)| *hd == header) {
                Some(i) => &mut by_header[i].1,
                None => {
                    by_header.push((header, Vec::new()));
                    &mut by_header.last_mut().expect("just pushed").1
                }
            };
            let line = format!("{}  # {}: {}", l.line, h.column, describe(h));
            if !slot.iter().any(|s| s.split("  #").next() == Some(l.line.as_str())) {
                slot.push(line);
            }
        }
    }
    if by_header.is_empty() {
        return None;
    }
    let mut out = String::from("# Suggested by tsreplay compare: apply with --profile FILE\n");
    for (header, lines) in by_header {
        let _ = writeln!(out, "\n{header}");
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
    Some(out)
}
