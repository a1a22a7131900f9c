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
    /// Splunk has the part after the last `\` (the user without its domain).
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
    /// Splunk splits tsreplay's value on this separator into a multivalue.
    Split(String),
    /// Splunk has one value where tsreplay splits on this separator.
    Joined(String),
    /// Times shifted by this many seconds (Splunk minus tsreplay): another time zone.
    TimeShift(i64),
    /// Times one or two seconds apart: another source field for `_time`.
    TimeJitter,
    /// Another value, the same replacement on every row.
    Replaced,
}

/// What would remove a systematic difference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// Profile lines, each under its section.
    Profile(Vec<ProfileLine>),
    /// Run with `--tz` set to Splunk's user time zone (or set that to UTC).
    TimeZone {
        /// Splunk's times minus tsreplay's, in seconds.
        shift: i64,
    },
    /// Nothing the profile can express; the line to edit is shown.
    Edit(Vec<ProfileLine>),
    /// The column is not a mapped field (a count, say).
    NotMapped,
}

/// One line of a profile file, under its section header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileLine {
    /// The table header, `[sources.sysmon_xml.fields]` or `[sources.sysmon_xml]`.
    pub header: String,
    /// The line, `user = { field = "User", strip_domain = true }`.
    pub line: String,
    /// Sections that inherit this line unchanged.
    pub inherited_by: Vec<String>,
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
    /// What would fix it.
    pub remedy: Remedy,
}

/// The fewest rows a pattern must explain to be called systematic.
const MIN_ROWS: usize = 2;

/// The most distinct value pairs a lookup fix may list.
const MAX_LOOKUP: usize = 8;

/// Finds the systematic differences among a comparison's near rows.
pub fn find(cmp: &Comparison, profile: &Profile) -> Vec<Systematic> {
    let vendor = cmp.common.iter().position(|c| c == datamodel::VENDOR_PRODUCT);
    let mut out = Vec::new();
    for (col, name) in cmp.common.iter().enumerate() {
        let pairs: Vec<(&str, &str, Option<&str>)> = cmp
            .near
            .iter()
            .filter(|p| p.differs.contains(&col))
            .map(|p| (p.ours[col].as_str(), p.splunk[col].as_str(), vendor.map(|v| &*p.ours[v])))
            .collect();
        if let Some(s) = column_hint(name, &pairs, profile) {
            out.push(s);
        }
    }
    out
}

fn column_hint(
    column: &str,
    pairs: &[(&str, &str, Option<&str>)],
    profile: &Profile,
) -> Option<Systematic> {
    let mut by_pattern: BTreeMap<Pattern, Vec<usize>> = BTreeMap::new();
    for (i, (ours, splunk, _)) in pairs.iter().enumerate() {
        by_pattern.entry(classify(ours, splunk)).or_default().push(i);
    }
    let (pattern, rows) = by_pattern.into_iter().max_by_key(|(_, rows)| rows.len())?;
    // Systematic: at least two rows, and at least four in five of the rows where it differs.
    if rows.len() < MIN_ROWS || rows.len() * 5 < pairs.len() * 4 {
        return None;
    }
    let chosen: Vec<(&str, &str, Option<&str>)> = rows.iter().map(|i| pairs[*i]).collect();
    let remedy = remedy(column, &pattern, &chosen, profile);
    Some(Systematic {
        column: column.to_string(),
        example: (chosen[0].0.to_string(), chosen[0].1.to_string()),
        pattern,
        rows: rows.len(),
        differing: pairs.len(),
        remedy,
    })
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
    match (time_value(ours), time_value(splunk)) {
        (Some(a), Some(b)) if (b - a).abs() <= 2 => Pattern::TimeJitter,
        (Some(a), Some(b)) if (b - a) % 900 == 0 && (b - a).abs() <= 14 * 3600 => {
            Pattern::TimeShift(b - a)
        }
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
    let secs: f64 = s.parse().ok().filter(|_| s.len() >= 9 && !s.starts_with('0'))?;
    Some(secs.floor() as i64)
}

fn remedy(
    column: &str,
    pattern: &Pattern,
    pairs: &[(&str, &str, Option<&str>)],
    profile: &Profile,
) -> Remedy {
    if let Pattern::TimeShift(shift) = pattern {
        return Remedy::TimeZone { shift: *shift };
    }
    let sections = sections_for(pairs, profile);
    if *pattern == Pattern::TimeJitter {
        return Remedy::Profile(time_lines(&sections));
    }
    if !datamodel::is_field(column) {
        return Remedy::NotMapped;
    }
    let mut fixes = Vec::new();
    let mut current = Vec::new();
    for s in &sections {
        let rule = s.fields.get(column).cloned().unwrap_or_else(FieldRule::missing);
        let header = format!("[sources.{}.fields]", s.name);
        current.push(ProfileLine {
            header: header.clone(),
            line: format!("{column} = {}", rule.to_toml()),
            inherited_by: Vec::new(),
        });
        if let Some(fixed) = fix_rule(pattern, &rule, pairs).filter(|f| *f != rule) {
            let line = format!("{column} = {}", fixed.to_toml());
            fixes.push(ProfileLine { header, line, inherited_by: Vec::new() });
        }
    }
    let sections: Vec<&str> = sections.iter().map(|s| s.name.as_str()).collect();
    match fixes.is_empty() {
        true => Remedy::Edit(fold_inherited(current, &sections, profile)),
        false => Remedy::Profile(fold_inherited(fixes, &sections, profile)),
    }
}

/// The sections that made tsreplay's rows: those whose `vendor_product` constant is the
/// rows' value; every section when the rows have no such column or no section matches.
fn sections_for<'p>(
    pairs: &[(&str, &str, Option<&str>)],
    profile: &'p Profile,
) -> Vec<&'p Section> {
    let vendors: Vec<&str> = pairs.iter().filter_map(|p| p.2).collect();
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
fn fold_inherited(
    lines: Vec<ProfileLine>,
    sections: &[&str],
    profile: &Profile,
) -> Vec<ProfileLine> {
    let parent_of = |name: &str| profile.sections.get(name).and_then(|s| s.inherits.clone());
    let mut out: Vec<ProfileLine> = Vec::new();
    for (line, name) in lines.into_iter().zip(sections) {
        let parent = parent_of(name);
        let folded = parent.and_then(|p| {
            let p_header = format!("[sources.{p}.fields]");
            let p_header_time = format!("[sources.{p}]");
            out.iter_mut().find(|l| {
                (l.header == p_header || l.header == p_header_time) && l.line == line.line
            })
        });
        match folded {
            Some(parent_line) => parent_line.inherited_by.push(name.to_string()),
            None => out.push(line),
        }
    }
    out
}

fn fix_rule(
    pattern: &Pattern,
    rule: &FieldRule,
    pairs: &[(&str, &str, Option<&str>)],
) -> Option<FieldRule> {
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
        Pattern::Split(sep) if r.split.is_none() => r.split = Some(sep.clone()),
        Pattern::Joined(_) => r.split = None,
        Pattern::Replaced if r.wrap.is_none() => r.lookup.extend(lookup_pairs(pairs)?),
        _ => return None,
    }
    Some(r)
}

/// The replacements, when each tsreplay value always becomes the same Splunk value and there
/// are few of them.
fn lookup_pairs(pairs: &[(&str, &str, Option<&str>)]) -> Option<BTreeMap<String, String>> {
    let mut map = BTreeMap::new();
    for (ours, splunk, _) in pairs {
        match map.insert(ours.to_string(), splunk.to_string()) {
            Some(prev) if prev != *splunk => return None,
            _ => {}
        }
    }
    (map.len() <= MAX_LOOKUP && !map.keys().any(|k| k == "null" || k.contains('\n'))).then_some(map)
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
                header: format!("[sources.{}]", s.name),
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
        assert_eq!(
            classify("2024-01-01T10:00:00", "2024-01-01T11:00:00"),
            Pattern::TimeShift(3600)
        );
        assert_eq!(classify("2024-01-01T10:00:00", "2024-01-01T10:00:01"), Pattern::TimeJitter);
        assert_eq!(classify("High", "high"), Pattern::Replaced);
    }
}
