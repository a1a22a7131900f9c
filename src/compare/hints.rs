//! Systematic differences: a column that differs the same way across near rows (user with or
//! without its domain, a pid in hex or decimal, `null` against `unknown`, quotes, a multivalue
//! split, a time-zone shift), said once, with the profile line that would make tsreplay give
//! Splunk's value.
//!
//! Owns recognising the patterns and phrasing the fixes as profile TOML. It reads the profile
//! and must not change it or run anything.

use std::collections::BTreeMap;

use crate::cim::datamodel;
use crate::cim::profile::{FieldRule, NumberForm, Profile, RuleSource, Section, SECTIONS};

use super::Comparison;

/// How Splunk's value differs from tsreplay's in one column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pattern {
    /// Splunk has the part after the last `\\` (the user without its domain).
    DomainDropped,
    /// Splunk keeps the domain tsreplay drops.
    DomainKept,
    /// tsreplay has `0x…` hex, Splunk the same number in decimal.
    ToDecimal,
    /// tsreplay has decimal, Splunk the same number in `0x…` hex.
    ToHex,
    /// tsreplay has `null` (missing), Splunk `unknown`.
    UnknownForNull,
    /// tsreplay has `unknown`, Splunk `null`.
    NullForUnknown,
    /// Splunk wraps the value in this quote.
    Wrapped(String),
    /// Splunk has the value without the quotes tsreplay puts around it.
    Unwrapped(String),
    /// Splunk has a multivalue of tsreplay's value split on this separator.
    Split(String),
    /// Splunk has one value where tsreplay has a multivalue, joined by this separator.
    Joined(String),
    /// Times a whole number of quarter hours apart: another time zone (the offsets, Splunk
    /// minus tsreplay, are in `Systematic::offsets`).
    TimeShift,
    /// Times this many seconds apart (Splunk minus tsreplay, at most 2).
    TimeJitter(i64),
    /// Another value, the same replacement on every row.
    Replaced,
}

/// What would remove a systematic difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// Profile lines, each under its section.
    Profile(Vec<ProfileLine>),
    /// The profile given already has the line that gives Splunk's form; the tsreplay table
    /// was made without it.
    AlreadySet(Vec<ProfileLine>),
    /// Run with `--tz` set to Splunk's user time zone.
    TimeZone,
    /// No profile line is proposed, for this reason; the lines that make the value now.
    Edit(NoFix, Vec<ProfileLine>),
    /// The column is not a mapped field (a count, say).
    NotMapped,
}

/// Why no profile line is proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoFix {
    /// The profile's vocabulary has nothing that gives Splunk's value.
    NoSwitch,
    /// The change would alter this many rows that are equal now.
    BreaksEqualRows(usize),
    /// A BY field gives one row per value, never a multivalue cell.
    OneRowPerValue,
    /// Times a second or two apart: which source field Splunk's `_time` came from cannot be
    /// told from the rows.
    TimeSource,
    /// The field is lower-cased after the profile (CIM), so no profile value keeps upper case.
    LowerCasedAfter,
}

/// One line of a profile file, under its section header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileLine {
    /// The profile section (`sysmon_xml`).
    pub section: String,
    /// Whether the line is a field rule (under `.fields`) rather than a section key.
    pub field_rule: bool,
    /// The line, `user = { field = "User", strip_domain = true }`.
    pub line: String,
    /// Sections that inherit this line unchanged.
    pub inherited_by: Vec<String>,
}

impl ProfileLine {
    /// The TOML table header the line goes under.
    pub fn header(&self) -> String {
        match self.field_rule {
            true => format!("[sources.{}.fields]", self.section),
            false => format!("[sources.{}]", self.section),
        }
    }
}

/// A column that differs the same way across rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Systematic {
    /// The column.
    pub column: String,
    /// How it differs.
    pub pattern: Pattern,
    /// Near rows this pattern explains.
    pub rows: usize,
    /// Near rows in which this column differs.
    pub differing: usize,
    /// One pair of values: tsreplay's, Splunk's.
    pub example: (String, String),
    /// For `TimeShift`: the distinct offsets seen, in seconds (Splunk minus tsreplay).
    pub offsets: Vec<i64>,
    /// Whether the rows named no source (`vendor_product` absent), so the lines cover every
    /// section.
    pub sources_unknown: bool,
    /// What would fix it.
    pub remedy: Remedy,
}

/// The fewest rows a pattern must explain to be called systematic.
const MIN_ROWS: usize = 2;

/// The most distinct value pairs a lookup fix may list.
const MAX_LOOKUP: usize = 8;

/// One differing cell: tsreplay's value, Splunk's, and tsreplay's `vendor_product`.
type Cell<'c> = (&'c str, &'c str, Option<&'c str>);

/// Finds the systematic differences among a comparison's near rows.
pub fn find(cmp: &Comparison, profile: &Profile) -> Vec<Systematic> {
    let mut out = Vec::new();
    for (col, name) in cmp.common.iter().enumerate() {
        let pairs: Vec<Cell<'_>> = cmp
            .near
            .iter()
            .filter(|p| p.differs.contains(&col))
            .map(|p| (p.ours[col].as_str(), p.splunk[col].as_str(), p.vendor.as_deref()))
            .collect();
        if let Some(s) = column_hint(cmp, col, name, &pairs, profile) {
            out.push(s);
        }
    }
    out
}

fn column_hint(
    cmp: &Comparison,
    col: usize,
    column: &str,
    pairs: &[Cell<'_>],
    profile: &Profile,
) -> Option<Systematic> {
    let mut by_pattern: BTreeMap<Pattern, Vec<usize>> = BTreeMap::new();
    for (i, (ours, splunk, _)) in pairs.iter().enumerate() {
        by_pattern.entry(classify_in(column, ours, splunk)).or_default().push(i);
    }
    let (pattern, rows) = by_pattern.into_iter().max_by_key(|(_, rows)| rows.len())?;
    // Systematic: at least two rows, and at least four in five of the rows where it differs.
    if rows.len() < MIN_ROWS || rows.len() * 5 < pairs.len() * 4 {
        return None;
    }
    let chosen: Vec<Cell<'_>> = rows.iter().map(|i| pairs[*i]).collect();
    let mut offsets: Vec<i64> = Vec::new();
    if pattern == Pattern::TimeShift {
        offsets =
            chosen.iter().filter_map(|(o, s, _)| Some(time_value(s)? - time_value(o)?)).collect();
        offsets.sort_unstable();
        offsets.dedup();
    }
    let vendors: Vec<&str> = chosen.iter().filter_map(|c| c.2).collect();
    let breaks = equal_rows_changed(cmp, col, &pattern, &chosen, &vendors);
    let mut remedy = remedy(column, &pattern, &chosen, &vendors, profile);
    if breaks > 0 && matches!(remedy, Remedy::Profile(_)) {
        let now = current_lines(column, &sections_for(&vendors, profile), profile);
        remedy = Remedy::Edit(NoFix::BreaksEqualRows(breaks), now);
    }
    Some(Systematic {
        column: column.to_string(),
        example: (chosen[0].0.to_string(), chosen[0].1.to_string()),
        pattern,
        rows: rows.len(),
        differing: pairs.len(),
        offsets,
        sources_unknown: vendors.is_empty(),
        remedy,
    })
}

/// How many equal rows, from the same sources, hold a value the fix would change.
fn equal_rows_changed(
    cmp: &Comparison,
    col: usize,
    pattern: &Pattern,
    chosen: &[Cell<'_>],
    vendors: &[&str],
) -> usize {
    let lookup = lookup_pairs(chosen);
    cmp.equal
        .iter()
        .filter(|e| vendors.is_empty() || e.vendor.as_deref().is_some_and(|v| vendors.contains(&v)))
        .filter(|e| changed_by_fix(pattern, &e.row[col], lookup.as_ref()))
        .count()
}

fn changed_by_fix(
    pattern: &Pattern,
    value: &str,
    lookup: Option<&BTreeMap<String, String>>,
) -> bool {
    match pattern {
        Pattern::DomainDropped => value.contains('\\'),
        Pattern::ToDecimal => hex_value(value).is_some(),
        Pattern::ToHex => decimal_value(value).is_some(),
        Pattern::UnknownForNull => value == "null",
        Pattern::NullForUnknown => value == "unknown",
        Pattern::Wrapped(q) => {
            value != "null" && quoting(value, &format!("{q}{value}{q}")).is_some()
        }
        Pattern::Unwrapped(q) => {
            value.len() >= 2 * q.len()
                && value.starts_with(q.as_str())
                && value.ends_with(q.as_str())
        }
        Pattern::Replaced => lookup.is_some_and(|l| l.contains_key(value)),
        _ => false,
    }
}

/// How `splunk` differs from `ours` in `column`.
pub fn classify_in(column: &str, ours: &str, splunk: &str) -> Pattern {
    let p = classify(ours, splunk);
    let epoch_column = column.to_ascii_lowercase().contains("time");
    match p {
        Pattern::TimeShift | Pattern::TimeJitter(_) if !epoch_column && !is_ctime(ours) => {
            Pattern::Replaced
        }
        p => p,
    }
}

fn is_ctime(s: &str) -> bool {
    jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S", s).is_ok()
}

/// How `splunk` differs from `ours`.
pub fn classify(ours: &str, splunk: &str) -> Pattern {
    if let Some(p) = placeholder(ours, splunk) {
        return p;
    }
    if ours.contains('\\') && splunk == after_last_backslash(ours) {
        return Pattern::DomainDropped;
    }
    if splunk.contains('\\') && ours == after_last_backslash(splunk) {
        return Pattern::DomainKept;
    }
    if hex_value(ours).is_some_and(|n| decimal_value(splunk) == Some(n)) {
        return Pattern::ToDecimal;
    }
    if decimal_value(ours).is_some_and(|n| hex_value(splunk) == Some(n)) {
        return Pattern::ToHex;
    }
    if let Some(p) = quoting(ours, splunk) {
        return p;
    }
    if let Some(p) = splitting(ours, splunk) {
        return p;
    }
    let delta = time_value(ours).zip(time_value(splunk)).and_then(|(a, b)| b.checked_sub(a));
    match delta {
        Some(d) if d != 0 && d.abs() <= 2 => Pattern::TimeJitter(d),
        Some(d) if d != 0 && d % 900 == 0 && d.abs() <= 14 * 3600 => Pattern::TimeShift,
        _ => Pattern::Replaced,
    }
}

fn placeholder(ours: &str, splunk: &str) -> Option<Pattern> {
    match (ours, splunk) {
        ("null", "unknown") => Some(Pattern::UnknownForNull),
        ("unknown", "null") => Some(Pattern::NullForUnknown),
        _ => None,
    }
}

fn quoting(ours: &str, splunk: &str) -> Option<Pattern> {
    for q in ["'", "\""] {
        let wrapped = |inner: &str, outer: &str| {
            outer.len() == inner.len() + 2 * q.len()
                && outer.starts_with(q)
                && outer.ends_with(q)
                && &outer[q.len()..outer.len() - q.len()] == inner
        };
        if wrapped(ours, splunk) {
            return Some(Pattern::Wrapped(q.to_string()));
        }
        if wrapped(splunk, ours) {
            return Some(Pattern::Unwrapped(q.to_string()));
        }
    }
    None
}

fn splitting(ours: &str, splunk: &str) -> Option<Pattern> {
    for sep in [",", ";", "|", " "] {
        if splunk.contains('\n') && splunk.replace('\n', sep) == ours {
            return Some(Pattern::Split(sep.to_string()));
        }
        if ours.contains('\n') && ours.replace('\n', sep) == splunk {
            return Some(Pattern::Joined(sep.to_string()));
        }
    }
    None
}

fn after_last_backslash(s: &str) -> &str {
    s.rsplit('\\').next().unwrap_or(s)
}

fn hex_value(s: &str) -> Option<u64> {
    let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    u64::from_str_radix(h, 16).ok()
}

fn decimal_value(s: &str) -> Option<u64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// Seconds of a `convert ctime` value (`%Y-%m-%dT%H:%M:%S`, read as UTC) or of an epoch.
fn time_value(s: &str) -> Option<i64> {
    if let Ok(dt) = jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S", s) {
        return dt.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().as_second());
    }
    // An epoch: digits with an optional fraction, as Splunk prints an unconverted `_time`.
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !(digits(int) && digits(frac)) || int.len() < 9 || int.len() > 11 || int.starts_with('0') {
        return None;
    }
    int.parse().ok()
}

fn remedy(
    column: &str,
    pattern: &Pattern,
    pairs: &[Cell<'_>],
    vendors: &[&str],
    profile: &Profile,
) -> Remedy {
    let sections = sections_for(vendors, profile);
    match pattern {
        Pattern::TimeShift => return Remedy::TimeZone,
        Pattern::TimeJitter(_) => return Remedy::Edit(NoFix::TimeSource, time_lines(&sections)),
        _ => {}
    }
    if !datamodel::is_field(column) {
        return Remedy::NotMapped;
    }
    if let Some(why) = unfixable(column, pattern, pairs) {
        return Remedy::Edit(why, current_lines(column, &sections, profile));
    }
    let mut fixes = Vec::new();
    let mut already = Vec::new();
    for s in &sections {
        let rule = rule_of(s, column);
        match fix_rule(pattern, &rule, pairs) {
            Some(fixed) if fixed != rule => fixes.push(line_of(s, column, &fixed)),
            Some(_) => already.push(line_of(s, column, &rule)),
            None => {}
        }
    }
    if !fixes.is_empty() {
        return Remedy::Profile(fold_inherited(fixes, profile));
    }
    if !already.is_empty() {
        return Remedy::AlreadySet(already);
    }
    Remedy::Edit(NoFix::NoSwitch, current_lines(column, &sections, profile))
}

fn rule_of(s: &Section, column: &str) -> FieldRule {
    s.fields.get(column).cloned().unwrap_or_else(FieldRule::missing)
}

fn line_of(s: &Section, column: &str, rule: &FieldRule) -> ProfileLine {
    ProfileLine {
        section: s.name.clone(),
        field_rule: true,
        line: format!("{column} = {}", rule.to_toml()),
        inherited_by: Vec::new(),
    }
}

/// The lines that make `column` now, in each section.
fn current_lines(column: &str, sections: &[&Section], profile: &Profile) -> Vec<ProfileLine> {
    let lines = sections.iter().map(|s| line_of(s, column, &rule_of(s, column))).collect();
    fold_inherited(lines, profile)
}

/// Patterns no profile line can give.
fn unfixable(column: &str, pattern: &Pattern, pairs: &[Cell<'_>]) -> Option<NoFix> {
    match pattern {
        Pattern::Split(_) | Pattern::Joined(_) => Some(NoFix::OneRowPerValue),
        Pattern::Replaced
            if column == datamodel::LOWER_CASED
                && pairs.iter().any(|p| p.1.bytes().any(|b| b.is_ascii_uppercase())) =>
        {
            Some(NoFix::LowerCasedAfter)
        }
        _ => None,
    }
}

/// The sections that made tsreplay's rows: those whose `vendor_product` constant (or
/// sourcetype) is one of the rows' values; every section when the rows name none.
fn sections_for<'p>(vendors: &[&str], profile: &'p Profile) -> Vec<&'p Section> {
    // In the order of SECTIONS, so that a parent comes before the sections inheriting it.
    let ordered: Vec<&Section> =
        SECTIONS.iter().filter_map(|(name, _, _)| profile.sections.get(*name)).collect();
    let hit: Vec<&Section> = ordered
        .iter()
        .copied()
        .filter(|s| match s.fields.get(datamodel::VENDOR_PRODUCT).map(|r| &r.source) {
            Some(RuleSource::Const(c)) => vendors.contains(&c.as_str()),
            _ => vendors.contains(&s.sourcetype.as_str()),
        })
        .collect();
    if hit.is_empty() {
        ordered
    } else {
        hit
    }
}

/// Drops a line of a section that inherits the very same line from a section also listed,
/// and names it under the parent's line instead.
fn fold_inherited(lines: Vec<ProfileLine>, profile: &Profile) -> Vec<ProfileLine> {
    let parent_of = |name: &str| profile.sections.get(name).and_then(|s| s.inherits.clone());
    let mut out: Vec<ProfileLine> = Vec::new();
    for line in lines {
        let folded = parent_of(&line.section).and_then(|p| {
            out.iter_mut()
                .find(|l| l.section == p && l.field_rule == line.field_rule && l.line == line.line)
        });
        match folded {
            Some(parent_line) => parent_line.inherited_by.push(line.section),
            None => out.push(line),
        }
    }
    out
}

fn fix_rule(pattern: &Pattern, rule: &FieldRule, pairs: &[Cell<'_>]) -> Option<FieldRule> {
    let mut r = rule.clone();
    match pattern {
        Pattern::DomainDropped => r.strip_domain = true,
        Pattern::DomainKept => r.strip_domain = false,
        Pattern::ToDecimal if r.number == Some(NumberForm::Hex) => r.number = None,
        Pattern::ToDecimal => r.number = Some(NumberForm::Decimal),
        Pattern::ToHex if r.number == Some(NumberForm::Decimal) => r.number = None,
        Pattern::ToHex => r.number = Some(NumberForm::Hex),
        Pattern::UnknownForNull => r.default = Some("unknown".into()),
        Pattern::NullForUnknown if r.default.as_deref() == Some("unknown") => r.default = None,
        Pattern::NullForUnknown => r.cim_default = false,
        Pattern::Wrapped(q) if r.wrap.is_none() => r.wrap = Some(q.clone()),
        Pattern::Unwrapped(q) if r.wrap.as_ref() == Some(q) => r.wrap = None,
        Pattern::Replaced if r.wrap.is_none() => {
            for (from, to) in lookup_pairs(pairs)? {
                // Lookups are not chained: a value that is already a lookup's result is
                // changed at its raw key.
                let keys: Vec<String> =
                    r.lookup.iter().filter(|(_, v)| **v == from).map(|(k, _)| k.clone()).collect();
                if keys.is_empty() {
                    r.lookup.insert(from, to);
                } else {
                    keys.into_iter().for_each(|k| {
                        r.lookup.insert(k, to.clone());
                    });
                }
            }
        }
        _ => return None,
    }
    Some(r)
}

/// The replacements, when each tsreplay value always becomes the same Splunk value and there
/// are few of them.
fn lookup_pairs(pairs: &[Cell<'_>]) -> Option<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for (ours, splunk, _) in pairs {
        match map.insert(ours.to_string(), splunk.to_string()) {
            Some(prev) if prev != *splunk => return None,
            _ => {}
        }
    }
    let plain = |v: &String| v != "null" && v != "unknown" && !v.contains('\n');
    (map.len() <= MAX_LOOKUP && map.iter().all(|(k, v)| plain(k) && plain(v))).then_some(map)
}

/// `time` lines with the second source field tried first.
fn time_lines(sections: &[&Section]) -> Vec<ProfileLine> {
    sections
        .iter()
        .filter(|s| s.time.len() >= 2)
        .map(|s| {
            let mut t = s.time.clone();
            t.swap(0, 1);
            let list: Vec<String> = t.iter().map(|f| format!("\"{f}\"")).collect();
            ProfileLine {
                section: s.name.clone(),
                field_rule: false,
                line: format!("time = [{}]", list.join(", ")),
                inherited_by: Vec::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_recognised() {
        assert_eq!(classify(r"CORP\alice", "alice"), Pattern::DomainDropped);
        assert_eq!(classify("alice", r"CORP\alice"), Pattern::DomainKept);
        assert_eq!(classify("0xb2c", "2860"), Pattern::ToDecimal);
        assert_eq!(classify("2860", "0xb2c"), Pattern::ToHex);
        assert_eq!(classify("null", "unknown"), Pattern::UnknownForNull);
        assert_eq!(classify("unknown", "null"), Pattern::NullForUnknown);
        assert_eq!(classify("S-1-5-18", "'S-1-5-18'"), Pattern::Wrapped("'".into()));
        assert_eq!(classify("'S-1-5-18'", "S-1-5-18"), Pattern::Unwrapped("'".into()));
        assert_eq!(classify("MD5=1,SHA256=2", "MD5=1\nSHA256=2"), Pattern::Split(",".into()));
        assert_eq!(classify("2024-01-01T10:00:00", "2024-01-01T11:00:00"), Pattern::TimeShift);
        assert_eq!(classify("2024-01-01T10:00:00", "2024-01-01T10:00:01"), Pattern::TimeJitter(1));
        assert_eq!(classify("High", "high"), Pattern::Replaced);
    }
}
