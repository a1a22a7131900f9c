//! Applies a profile section and the CIM calculated fields to a `RawEvent`, giving the values
//! of the CIM fields a plan needs.
//!
//! Owns the order of operations: add-on rule first (Part A.6), then CIM defaults (Part A.4).
//! It also reports, for the prefilter, where each field's values can come from. It must not
//! parse records or evaluate predicates.

use std::borrow::Cow;

use super::datamodel as dm;
use super::profile::{FieldRule, Profile, RuleSource, Section, When};
use super::time::parse_time;
use crate::event::{Projection, RawEvent};
use crate::schema::{FieldOrigin, RecordFormat, SourceKind};

/// The values of the plan's CIM fields for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CimEvent<'a> {
    /// Values per `FieldId`; an empty list is a missing field.
    pub values: Vec<Vec<Cow<'a, str>>>,
    /// `_time` in epoch nanoseconds.
    pub time: i64,
    /// Whether `_time` came from a fallback field (not the section's first time field).
    pub time_fallback: bool,
    /// How many leading fields hold their values (the rest are not mapped yet).
    pub mapped: usize,
}

/// Why an event has no CIM values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmapped {
    /// Not a process creation, or no profile section maps it.
    NotInDataset,
    /// None of the time fields holds a readable time.
    NoTime,
}

/// A profile bound to the CIM fields of one plan (or rule set) and its data sets.
#[derive(Debug, Clone)]
pub struct Mapper {
    profile: Profile,
    fields: Vec<&'static str>,
    /// The data sets read (`Endpoint.Processes`...); events of other kinds are not mapped.
    datasets: Vec<&'static str>,
}

impl Mapper {
    /// Binds `profile` to the plan's `fields`, for events of the `datasets`.
    pub fn new(profile: Profile, fields: &[&'static str], datasets: &[&'static str]) -> Mapper {
        Mapper { profile, fields: fields.to_vec(), datasets: datasets.to_vec() }
    }

    /// Whether events of `kind` enter one of the mapper's data sets.
    pub fn reads(&self, kind: SourceKind) -> bool {
        kind.dataset().is_some_and(|d| self.datasets.contains(&d))
    }

    /// The profile in use.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The raw fields each source must extract for this plan.
    pub fn projection(&self) -> Projection {
        let mut proj = Projection::default();
        for (name, kind, xml) in super::profile::SECTIONS {
            if !self.reads(*kind) {
                continue;
            }
            let section = &self.profile.sections[*name];
            let mut raw: Vec<String> = section.time.clone();
            for field in self.fields.iter().flat_map(|f| section.dataset.dependencies(f)) {
                if let Some(rule) = section.fields.get(field) {
                    raw.extend(rule.raw_fields());
                }
            }
            let mut seen = std::collections::HashSet::new();
            raw.retain(|r| seen.insert(r.clone()));
            proj.set(*kind, *xml, raw);
        }
        proj
    }

    /// The CIM values of `raw`, every field.
    pub fn map<'a>(&self, raw: &RawEvent<'a>) -> Result<CimEvent<'a>, Unmapped> {
        let mut cim = self.map_first(raw, self.fields.len())?;
        self.map_rest(raw, &mut cim);
        Ok(cim)
    }

    /// The time and the values of the first `n` fields of `raw`; the others are left empty
    /// for `map_rest`.
    pub fn map_first<'a>(&self, raw: &RawEvent<'a>, n: usize) -> Result<CimEvent<'a>, Unmapped> {
        if !self.reads(raw.kind) {
            return Err(Unmapped::NotInDataset);
        }
        let section = self.profile.section(raw.kind, raw.format).ok_or(Unmapped::NotInDataset)?;
        let (time, time_fallback) = event_time(section, raw).ok_or(Unmapped::NoTime)?;
        let mut values: Vec<Vec<Cow<'a, str>>> = vec![Vec::new(); self.fields.len()];
        for (slot, f) in values.iter_mut().zip(&self.fields).take(n) {
            *slot = cim_value(section, f, raw);
        }
        Ok(CimEvent { values, time, time_fallback, mapped: n.min(self.fields.len()) })
    }

    /// Maps the fields `map_first` left out.
    pub fn map_rest<'a>(&self, raw: &RawEvent<'a>, cim: &mut CimEvent<'a>) {
        let Some(section) = self.profile.section(raw.kind, raw.format) else { return };
        for i in cim.mapped..self.fields.len() {
            cim.values[i] = cim_value(section, self.fields[i], raw);
        }
        cim.mapped = self.fields.len();
    }

    /// Where values of CIM field `field` can come from in `format`.
    pub fn origin(&self, format: RecordFormat, field: &str) -> FieldOrigin {
        let mut origin = FieldOrigin::default();
        for (name, kind, _) in super::profile::SECTIONS {
            if super::profile::section_for(*kind, format) == Some(*name) {
                origin.merge(&section_origin(&self.profile.sections[*name], field));
            }
        }
        origin
    }
}

fn event_time(section: &Section, raw: &RawEvent<'_>) -> Option<(i64, bool)> {
    section.time.iter().enumerate().find_map(|(i, f)| {
        let v = raw.first(f)?;
        parse_time(v, section.epoch_unit_ns).map(|t| (t, i > 0))
    })
}

/// The CIM value of one field: the add-on rule, then the CIM default.
fn cim_value<'a>(section: &Section, field: &str, raw: &RawEvent<'a>) -> Vec<Cow<'a, str>> {
    let rule = section.fields.get(field);
    let mut values = rule.map_or_else(Vec::new, |r| rule_value(r, raw));
    if values.is_empty() && rule.is_none_or(|r| r.cim_default) {
        values = cim_default(section, field, raw);
    }
    if section.dataset.lower_cased == Some(field) {
        for v in values.iter_mut() {
            if v.bytes().any(|b| b.is_ascii_uppercase()) {
                *v = Cow::Owned(v.to_ascii_lowercase());
            }
        }
    }
    values
}

fn cim_default<'a>(section: &Section, field: &str, raw: &RawEvent<'a>) -> Vec<Cow<'a, str>> {
    let ds = section.dataset;
    if let Some((_, source)) = ds.name_from_first_token.iter().find(|(n, _)| *n == field) {
        let from = ta_value(section, source, raw);
        let token = from.first().and_then(|v| first_token_cow(v));
        return vec![token.unwrap_or(Cow::Borrowed(dm::UNKNOWN))];
    }
    if ds.unknown_when_missing.contains(&field) {
        return vec![Cow::Borrowed(dm::UNKNOWN)];
    }
    if field == dm::VENDOR_PRODUCT && !section.sourcetype.is_empty() {
        return vec![Cow::Owned(section.sourcetype.clone())];
    }
    Vec::new()
}

fn first_token_cow<'a>(v: &Cow<'a, str>) -> Option<Cow<'a, str>> {
    match v {
        Cow::Borrowed(s) => dm::first_token(s).map(Cow::Borrowed),
        Cow::Owned(s) => dm::first_token(s).map(|t| Cow::Owned(t.to_string())),
    }
}

/// The add-on's value for `field`, or nothing.
fn ta_value<'a>(section: &Section, field: &str, raw: &RawEvent<'a>) -> Vec<Cow<'a, str>> {
    section.fields.get(field).map_or_else(Vec::new, |r| rule_value(r, raw))
}

/// What one field rule gives for an event.
fn rule_value<'a>(rule: &FieldRule, raw: &RawEvent<'a>) -> Vec<Cow<'a, str>> {
    if !when_holds(rule.when.as_ref(), raw) {
        return Vec::new();
    }
    let mut values = source_values(rule, raw);
    if rule.strip_domain {
        values = values.into_iter().map(|v| after_last(v, '\\')).collect();
    }
    if let Some(sep) = &rule.split {
        values = values.into_iter().flat_map(|v| split_cow(v, sep)).collect();
    }
    for v in values.iter_mut() {
        if let Some(x) = &rule.extract {
            if let Some(inner) = x.apply(v) {
                *v = Cow::Owned(inner.to_string());
            }
        }
        if let Some(n) = rule.number.and_then(|form| form.convert(v)) {
            *v = Cow::Owned(n);
        }
        if let Some(new) = rule.lookup.get(v.as_ref()) {
            *v = Cow::Owned(new.clone());
        }
        if let Some(w) = &rule.wrap {
            *v = Cow::Owned(format!("{w}{v}{w}"));
        }
    }
    values.retain(|v| !v.is_empty());
    if values.is_empty() {
        if let Some(d) = &rule.default {
            values.push(Cow::Owned(d.clone()));
        }
    }
    values
}

fn when_holds(when: Option<&When>, raw: &RawEvent<'_>) -> bool {
    match when {
        None => true,
        Some(When::Equals(f, want)) => raw.first(f) == Some(want.as_str()),
        Some(When::EqualsU64(f, want)) => {
            raw.first(f).and_then(super::profile::parse_u64) == Some(*want)
        }
    }
}

fn source_values<'a>(rule: &FieldRule, raw: &RawEvent<'a>) -> Vec<Cow<'a, str>> {
    let present = |name: &str| -> Vec<Cow<'a, str>> {
        let vals = raw.values(name).filter(|v| !rule.missing_if.iter().any(|m| m == v.as_ref()));
        vals.cloned().collect()
    };
    match &rule.source {
        RuleSource::Const(c) => vec![Cow::Owned(c.clone())],
        RuleSource::FirstOf(names) => {
            names.iter().map(|n| present(n)).find(|v| !v.is_empty()).unwrap_or_default()
        }
        RuleSource::Basename(name) => {
            present(name).into_iter().map(|v| after_last(v, '\\')).collect()
        }
        RuleSource::Rebuild4688 => rebuild_4688(raw).into_iter().collect(),
        RuleSource::Missing => Vec::new(),
    }
}

fn after_last<'a>(v: Cow<'a, str>, sep: char) -> Cow<'a, str> {
    match v {
        Cow::Borrowed(s) => Cow::Borrowed(s.rsplit(sep).next().unwrap_or(s)),
        Cow::Owned(s) => Cow::Owned(s.rsplit(sep).next().unwrap_or(&s).to_string()),
    }
}

fn split_cow<'a>(v: Cow<'a, str>, sep: &str) -> Vec<Cow<'a, str>> {
    match v {
        Cow::Borrowed(s) => s.split(sep).map(Cow::Borrowed).collect(),
        Cow::Owned(s) => s.split(sep).map(|p| Cow::Owned(p.to_string())).collect(),
    }
}

/// The Windows add-on's 4688 `process` (Part A.6, last paragraph).
fn rebuild_4688<'a>(raw: &RawEvent<'a>) -> Option<Cow<'a, str>> {
    let image = raw.values("NewProcessName").next().cloned();
    let Some(cmd) = raw.values("CommandLine").next().cloned() else { return image };
    let token_len = first_command_token(&cmd);
    if cmd[..token_len].contains('\\') {
        return Some(cmd);
    }
    let Some(image) = image else { return Some(cmd) };
    let quoted = if image.contains(char::is_whitespace) {
        format!("\"{image}\"")
    } else {
        image.to_string()
    };
    let rest = cmd[token_len..].trim_start();
    Some(Cow::Owned(if rest.is_empty() { quoted } else { format!("{quoted} {rest}") }))
}

/// Length of a command line's first token: a `"quoted"` token or a run of non-spaces.
fn first_command_token(cmd: &str) -> usize {
    let lead = cmd.len() - cmd.trim_start().len();
    let body = &cmd[lead..];
    let len = match body.strip_prefix('"') {
        Some(inner) => inner.find('"').map_or(body.len(), |i| i + 2),
        None => body.find(char::is_whitespace).unwrap_or(body.len()),
    };
    lead + len
}

/// Where `field` gets its values in one section, CIM defaults included.
fn section_origin(section: &Section, field: &str) -> FieldOrigin {
    let rule = section.fields.get(field);
    let mut origin = rule_origin(rule);
    if rule.is_some_and(|r| !r.cim_default) {
        return origin;
    }
    let ds = section.dataset;
    if ds.unknown_when_missing.contains(&field) {
        origin.synthetic.push(dm::UNKNOWN.to_string());
    }
    if let Some((_, source)) = ds.name_from_first_token.iter().find(|(n, _)| *n == field) {
        let mut from = rule_origin(section.fields.get(*source));
        // The first token never holds whitespace, so only non-space joins remain.
        from.joins.retain(|b| !b.is_ascii_whitespace());
        // A synthetic source value yields its first token.
        let tokens: Vec<String> =
            from.synthetic.iter().filter_map(|v| dm::first_token(v)).map(str::to_string).collect();
        from.synthetic.extend(tokens);
        origin.merge(&from);
        origin.synthetic.push(dm::UNKNOWN.to_string());
    }
    if field == dm::VENDOR_PRODUCT {
        origin.synthetic.push(section.sourcetype.clone());
    }
    origin
}

fn rule_origin(rule: Option<&FieldRule>) -> FieldOrigin {
    let mut o = FieldOrigin::default();
    let Some(rule) = rule else { return o };
    match &rule.source {
        RuleSource::Const(c) => o.synthetic.push(c.clone()),
        RuleSource::FirstOf(_) | RuleSource::Basename(_) => o.raw = true,
        RuleSource::Rebuild4688 => {
            o.raw = true;
            o.joins.extend_from_slice(b" \"");
        }
        RuleSource::Missing => {}
    }
    o.synthetic.extend(rule.lookup.values().cloned());
    o.computed |= rule.number.is_some();
    if let Some(w) = &rule.wrap {
        o.joins.extend(w.bytes());
        o.synthetic = o.synthetic.iter().map(|s| format!("{w}{s}{w}")).collect();
    }
    // The default is not wrapped.
    o.synthetic.extend(rule.default.iter().cloned());
    o
}

/// The section names a kind maps through, for reports.
pub fn describe_kind(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::SysmonProcess => "Sysmon EventID 1",
        SourceKind::SecurityProcess => "Security 4688",
        SourceKind::CrowdStrikeProcess => "CrowdStrike ProcessRollup2",
        SourceKind::SysmonRegistry => "Sysmon EventID 12/13/14",
        SourceKind::SysmonFile => "Sysmon EventID 11/23/26",
        SourceKind::Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(
        kind: SourceKind,
        format: RecordFormat,
        f: &[(&'static str, &'static str)],
    ) -> RawEvent<'static> {
        let fields = f.iter().map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v))).collect();
        RawEvent { kind, format, fields }
    }

    fn map(fields: &[&'static str], ev: &RawEvent<'static>) -> Vec<Vec<String>> {
        let m = Mapper::new(Profile::default_profile(), fields, &[dm::DATASET]);
        let cim = m.map(ev).unwrap();
        cim.values.iter().map(|v| v.iter().map(|x| x.to_string()).collect()).collect()
    }

    const T: (&str, &str) = ("SystemTime", "2024-04-23T08:48:30.4493768Z");

    #[test]
    fn rebuild_4688_in_its_three_shapes() {
        let sec = |cmd: Option<&'static str>, img: &'static str| {
            let mut f = vec![T, ("NewProcessName", img)];
            f.extend(cmd.map(|c| ("CommandLine", c)));
            map(&["process"], &raw(SourceKind::SecurityProcess, RecordFormat::SplunkXml, &f))[0][0]
                .clone()
        };
        let img = r"C:\Windows\System32\bitsadmin.exe";
        assert_eq!(sec(Some(r#""C:\x\a.exe" /c"#), img), r#""C:\x\a.exe" /c"#);
        assert_eq!(sec(Some("bitsadmin  /create x"), img), format!("{img} /create x"));
        assert_eq!(sec(Some("bitsadmin"), img), img);
        assert_eq!(
            sec(Some("a.exe x"), r"C:\Program Files\a.exe"),
            r#""C:\Program Files\a.exe" x"#
        );
        assert_eq!(sec(None, img), img);
    }

    #[test]
    fn registry_events_map_with_their_own_section_and_no_unknown_defaults() {
        let fields = ["registry_value_data", "registry_value_name", "registry_key_name", "action"];
        let m = Mapper::new(Profile::default_profile(), &fields, &["Endpoint.Registry"]);
        let ev = |kind, ty: &'static str, details: &'static str| {
            let f = [
                T,
                ("EventType", ty),
                ("TargetObject", r"HKLM\System\CurrentControlSet\Services\X\Start"),
                ("Details", details),
            ];
            let cim = m.map(&raw(kind, RecordFormat::SplunkXml, &f));
            cim.map(|c| c.values.iter().map(|v| v.join("|")).collect::<Vec<_>>())
        };
        let got = ev(SourceKind::SysmonRegistry, "SetValue", "DWORD (0x00000004)").unwrap();
        assert_eq!(got, ["0x00000004", "Start", "Start", "modified"]);
        let got = ev(SourceKind::SysmonRegistry, "SetValue", "QWORD (0x01d776fd-0xd724b8c5)");
        assert_eq!(got.unwrap()[0], "QWORD (0x01d776fd-0xd724b8c5)", "only DWORD is unwrapped");
        let got = ev(SourceKind::SysmonRegistry, "DeleteKey", "").unwrap();
        assert_eq!(got, ["", "", "Start", "deleted"], "no value name, nothing `unknown`");
        let not_read = ev(SourceKind::SysmonProcess, "SetValue", "x");
        assert_eq!(not_read, Err(Unmapped::NotInDataset), "process events are not registry");
    }

    #[test]
    fn cim_defaults_after_the_add_on() {
        let ev = raw(
            SourceKind::SecurityProcess,
            RecordFormat::SplunkXml,
            &[
                T,
                ("CommandLine", "\"C:\\a b.exe\" x"),
                ("TargetUserName", "-"),
                ("SubjectUserName", "SYS$"),
            ],
        );
        let got =
            map(&["original_file_name", "user", "process_name", "process_guid", "action"], &ev);
        assert_eq!(got[0], ["unknown"]);
        assert_eq!(got[1], ["SYS$"]);
        // No NewProcessName: the name falls back to the command line's first token.
        assert_eq!(got[2], ["\"C:\\a"]);
        assert!(got[3].is_empty());
        assert!(got[4].is_empty());
    }

    #[test]
    fn number_default_and_cim_default_switches() {
        let over = "[sources.security_4688_xml.fields]\n\
                    process_id = { field = \"NewProcessId\", number = \"decimal\" }\n\
                    process_guid = { missing = true, default = \"none\" }\n\
                    original_file_name = { missing = true, cim_default = false }\n";
        let profile = Profile::build(super::super::profile::DEFAULT_PROFILE, Some(over), "t");
        let fields = ["process_id", "process_guid", "original_file_name", "dest"];
        let m = Mapper::new(profile.unwrap(), &fields, &[dm::DATASET]);
        let ev = raw(
            SourceKind::SecurityProcess,
            RecordFormat::SplunkXml,
            &[T, ("NewProcessId", "0xb2c")],
        );
        let cim = m.map(&ev).unwrap();
        assert_eq!(cim.values[0], ["2860"]);
        assert_eq!(cim.values[1], ["none"]);
        assert!(cim.values[2].is_empty());
        // Other fields keep their CIM default.
        assert_eq!(cim.values[3], ["unknown"]);
        let o = m.origin(RecordFormat::SplunkXml, "process_id");
        assert!(o.computed);
        assert!(m
            .origin(RecordFormat::SplunkXml, "process_guid")
            .synthetic
            .contains(&"none".into()));
        let section = &m.profile().sections["security_4688_xml"];
        assert!(section_origin(section, "original_file_name").synthetic.is_empty());
    }

    #[test]
    fn crowdstrike_integrity_and_time() {
        let ev = raw(
            SourceKind::CrowdStrikeProcess,
            RecordFormat::Json,
            &[
                ("timestamp", "1713805173418"),
                ("IntegrityLevel", "12288"),
                ("ImageFileName", r"\Device\H\x.exe"),
            ],
        );
        let m = Mapper::new(
            Profile::default_profile(),
            &["process_integrity_level", "process_name", "dest"],
            &[dm::DATASET],
        );
        let cim = m.map(&ev).unwrap();
        assert_eq!(cim.time, 1_713_805_173_418_000_000);
        assert_eq!(cim.values[0], ["high"]);
        assert_eq!(cim.values[1], ["x.exe"]);
        assert_eq!(cim.values[2], ["unknown"]);
    }

    #[test]
    fn origins_name_synthetic_values() {
        let m = Mapper::new(Profile::default_profile(), &[], &[dm::DATASET]);
        let o = m.origin(RecordFormat::SplunkXml, "original_file_name");
        assert!(o.raw && o.synthetic == ["unknown"]);
        let o = m.origin(RecordFormat::SplunkXml, "process");
        assert_eq!(o.joins, b" \"");
        let o = m.origin(RecordFormat::SplunkXml, "user_id");
        assert_eq!(o.joins, b"'");
    }
}
