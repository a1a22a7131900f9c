//! The add-on mapping profile (Part A.6/A.7) as data: an embedded TOML file, overridable key by
//! key and field by field with `--profile FILE`.
//!
//! Owns reading, merging and checking profiles, and the small closed vocabulary of field rules.
//! It does not apply rules to events (`mapping` does) and holds no per-source logic of its
//! own: every source difference is a line in the TOML.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::schema::{RecordFormat, SourceKind};

/// The embedded default profile.
pub const DEFAULT_PROFILE: &str = include_str!("default_profile.toml");

/// Why a profile cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    /// Where the profile came from.
    pub origin: String,
    /// What is wrong.
    pub kind: ProfileErrorKind,
}

/// The ways a profile can be wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileErrorKind {
    /// The file cannot be read.
    Read(String),
    /// The TOML does not parse or has unknown keys.
    Toml(String),
    /// A section name that is not a known source.
    UnknownSection(String),
    /// A field name that is not in the section's data set.
    UnknownField {
        /// The section.
        section: String,
        /// The field.
        field: String,
        /// The data set (`Endpoint.Processes`...).
        dataset: &'static str,
    },
    /// A field rule with no source or more than one.
    BadRule {
        /// The section.
        section: String,
        /// The field.
        field: String,
    },
    /// An unknown `rebuild` name.
    UnknownRebuild(String),
    /// `equals_u64` is not a 64-bit number.
    BadNumber(String),
    /// `epoch_unit` is neither `s` nor `ms`.
    BadEpochUnit(String),
    /// `number` is neither `decimal` nor `hex`.
    BadNumberForm(String),
    /// `inherits` names a missing section, or sections inherit in a loop.
    BadInherit(String),
    /// `extract` is not a regular expression with exactly one group.
    BadExtract(String),
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ProfileErrorKind::*;
        write!(f, "profile {}: ", self.origin)?;
        match &self.kind {
            Read(e) => write!(f, "cannot read: {e}"),
            Toml(e) => write!(f, "{e}"),
            UnknownSection(s) => write!(f, "unknown source section `{s}`"),
            UnknownField { section, field, dataset } => {
                write!(f, "[{section}] field `{field}` is not in {dataset}")
            }
            BadRule { section, field } => write!(
                f,
                "[{section}] field `{field}` needs exactly one of const, field, first_of, \
                 basename, rebuild, missing"
            ),
            UnknownRebuild(r) => write!(f, "unknown rebuild `{r}`"),
            BadNumber(n) => write!(f, "`{n}` is not a 64-bit number"),
            BadEpochUnit(u) => write!(f, "epoch_unit `{u}` is neither `s` nor `ms`"),
            BadNumberForm(n) => write!(f, "number `{n}` is neither `decimal` nor `hex`"),
            BadInherit(s) => write!(f, "section `{s}` inherits from a missing section or a loop"),
            BadExtract(x) => {
                write!(f, "extract `{x}` is not a regular expression with exactly one group")
            }
        }
    }
}

impl std::error::Error for ProfileError {}

/// The section names, and which events each one maps.
pub const SECTIONS: &[(&str, SourceKind, bool)] = &[
    ("sysmon_xml", SourceKind::SysmonProcess, true),
    ("sysmon_json", SourceKind::SysmonProcess, false),
    ("security_4688_xml", SourceKind::SecurityProcess, true),
    ("security_4688_json", SourceKind::SecurityProcess, false),
    ("crowdstrike_process", SourceKind::CrowdStrikeProcess, false),
    ("sysmon_registry_xml", SourceKind::SysmonRegistry, true),
    ("sysmon_registry_json", SourceKind::SysmonRegistry, false),
    ("sysmon_file_xml", SourceKind::SysmonFile, true),
    ("sysmon_file_json", SourceKind::SysmonFile, false),
];

/// The data set of the events a kind's sections map.
pub fn dataset_of(kind: SourceKind) -> &'static super::datamodel::DataSet {
    kind.dataset().and_then(super::datamodel::by_name).unwrap_or(&super::datamodel::PROCESSES)
}

/// The section that maps events of `kind` read in `format`.
pub fn section_for(kind: SourceKind, format: RecordFormat) -> Option<&'static str> {
    let xml = format.is_xml();
    let hit = SECTIONS.iter().find(|(_, k, x)| *k == kind && (*x == xml || !has_both(kind)));
    hit.map(|(name, _, _)| *name)
}

fn has_both(kind: SourceKind) -> bool {
    SECTIONS.iter().filter(|(_, k, _)| *k == kind).count() > 1
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    #[serde(default)]
    sources: BTreeMap<String, SectionFile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SectionFile {
    inherits: Option<String>,
    sourcetype: Option<String>,
    time: Option<Vec<String>>,
    epoch_unit: Option<String>,
    #[serde(default)]
    fields: BTreeMap<String, RuleFile>,
}

/// A field rule as written in TOML.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(rename = "const")]
    constant: Option<String>,
    field: Option<String>,
    first_of: Option<Vec<String>>,
    basename: Option<String>,
    rebuild: Option<String>,
    missing: Option<bool>,
    #[serde(default)]
    missing_if: Vec<String>,
    when: Option<WhenFile>,
    #[serde(default)]
    strip_domain: bool,
    split: Option<String>,
    lookup: Option<BTreeMap<String, String>>,
    wrap: Option<String>,
    extract: Option<String>,
    number: Option<String>,
    default: Option<String>,
    cim_default: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct WhenFile {
    field: String,
    equals_u64: Option<String>,
    equals: Option<String>,
}

/// Where a field rule takes its value from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    /// A constant.
    Const(String),
    /// The first listed raw field with a (non-missing) value.
    FirstOf(Vec<String>),
    /// The part after the last `\` of a raw field.
    Basename(String),
    /// The Windows TA's 4688 `process` rebuild from `CommandLine` and `NewProcessName`.
    Rebuild4688,
    /// Never set.
    Missing,
}

/// A condition on a raw field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    /// The raw field read as a 64-bit number (hex `0x…`, unsigned or signed decimal) equals.
    EqualsU64(String, u64),
    /// The raw field equals this text exactly.
    Equals(String, String),
}

/// How a numeric value is rewritten (`number = "decimal"` or `"hex"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberForm {
    /// `0x…` hex text becomes decimal text; other values stay as they are.
    Decimal,
    /// Decimal text becomes lower-case `0x…` hex text; other values stay as they are.
    Hex,
}

impl NumberForm {
    /// Rewrites `value`, or returns `None` when it is not a number of the other form.
    pub fn convert(self, value: &str) -> Option<String> {
        match self {
            NumberForm::Decimal => {
                let hex = value.strip_prefix("0x").or_else(|| value.strip_prefix("0X"))?;
                u64::from_str_radix(hex, 16).ok().map(|n| n.to_string())
            }
            NumberForm::Hex => {
                let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                digits.then(|| value.parse::<u64>().ok()).flatten().map(|n| format!("0x{n:x}"))
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            NumberForm::Decimal => "decimal",
            NumberForm::Hex => "hex",
        }
    }
}

/// An `extract` regular expression, compared by its text.
#[derive(Debug, Clone)]
pub struct Extract(pub regex::Regex);

impl PartialEq for Extract {
    fn eq(&self, other: &Extract) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Extract {}

impl Extract {
    /// The group's text when `value` matches, else `None`.
    pub fn apply<'v>(&self, value: &'v str) -> Option<&'v str> {
        self.0.captures(value).and_then(|c| c.get(1)).map(|m| m.as_str())
    }
}

fn compile_extract(pattern: &str) -> Result<Extract, ProfileErrorKind> {
    match regex::Regex::new(pattern) {
        Ok(re) if re.captures_len() == 2 => Ok(Extract(re)),
        _ => Err(ProfileErrorKind::BadExtract(pattern.to_string())),
    }
}

/// A compiled field rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    /// Where the value comes from.
    pub source: RuleSource,
    /// Raw values that count as missing.
    pub missing_if: Vec<String>,
    /// A condition that must hold for the field to be set.
    pub when: Option<When>,
    /// Keep only the part after the last `\`.
    pub strip_domain: bool,
    /// Split into a multivalue on this separator.
    pub split: Option<String>,
    /// Replace listed values.
    pub lookup: BTreeMap<String, String>,
    /// Text put before and after the value.
    pub wrap: Option<String>,
    /// A regular expression with one group: a value it matches becomes the group's text
    /// (`DWORD (0x00000001)` → `0x00000001`); other values stay as they are.
    pub extract: Option<Extract>,
    /// Numbers rewritten to this form.
    pub number: Option<NumberForm>,
    /// The value when the rule gives none (before the CIM default).
    pub default: Option<String>,
    /// Whether the CIM default of Part A.4 applies when the rule gives no value.
    pub cim_default: bool,
}

impl FieldRule {
    /// A rule that never gives a value (a field the section does not map).
    pub fn missing() -> FieldRule {
        FieldRule {
            source: RuleSource::Missing,
            missing_if: Vec::new(),
            when: None,
            strip_domain: false,
            split: None,
            lookup: BTreeMap::new(),
            wrap: None,
            extract: None,
            number: None,
            default: None,
            cim_default: true,
        }
    }

    /// The rule as a TOML inline table, as a profile file would hold it.
    pub fn to_toml(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let list = |v: &[String]| v.iter().map(|s| q(s)).collect::<Vec<_>>().join(", ");
        let mut parts = vec![match &self.source {
            RuleSource::Const(c) => format!("const = {}", q(c)),
            RuleSource::FirstOf(v) if v.len() == 1 => format!("field = {}", q(&v[0])),
            RuleSource::FirstOf(v) => format!("first_of = [{}]", list(v)),
            RuleSource::Basename(b) => format!("basename = {}", q(b)),
            RuleSource::Rebuild4688 => "rebuild = \"security_4688_process\"".to_string(),
            RuleSource::Missing => "missing = true".to_string(),
        }];
        if !self.missing_if.is_empty() {
            parts.push(format!("missing_if = [{}]", list(&self.missing_if)));
        }
        match &self.when {
            Some(When::EqualsU64(f, n)) => {
                parts.push(format!("when = {{ field = {}, equals_u64 = \"0x{n:x}\" }}", q(f)))
            }
            Some(When::Equals(f, v)) => {
                parts.push(format!("when = {{ field = {}, equals = {} }}", q(f), q(v)))
            }
            None => {}
        }
        if self.strip_domain {
            parts.push("strip_domain = true".to_string());
        }
        if let Some(sep) = &self.split {
            parts.push(format!("split = {}", q(sep)));
        }
        if !self.lookup.is_empty() {
            let pairs: Vec<String> =
                self.lookup.iter().map(|(k, v)| format!("{} = {}", q(k), q(v))).collect();
            parts.push(format!("lookup = {{ {} }}", pairs.join(", ")));
        }
        if let Some(w) = &self.wrap {
            parts.push(format!("wrap = {}", q(w)));
        }
        if let Some(x) = &self.extract {
            parts.push(format!("extract = {}", q(x.0.as_str())));
        }
        if let Some(n) = self.number {
            parts.push(format!("number = {}", q(n.name())));
        }
        if let Some(d) = &self.default {
            parts.push(format!("default = {}", q(d)));
        }
        if !self.cim_default {
            parts.push("cim_default = false".to_string());
        }
        format!("{{ {} }}", parts.join(", "))
    }

    /// The raw fields this rule reads.
    pub fn raw_fields(&self) -> Vec<String> {
        let mut out = match &self.source {
            RuleSource::FirstOf(v) => v.clone(),
            RuleSource::Basename(f) => vec![f.clone()],
            RuleSource::Rebuild4688 => vec!["CommandLine".into(), "NewProcessName".into()],
            RuleSource::Const(_) | RuleSource::Missing => Vec::new(),
        };
        match &self.when {
            Some(When::EqualsU64(f, _)) | Some(When::Equals(f, _)) => out.push(f.clone()),
            None => {}
        }
        out
    }
}

/// One source's mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section name.
    pub name: String,
    /// The section it inherits from, if any.
    pub inherits: Option<String>,
    /// The sourcetype CIM falls back to for `vendor_product`.
    pub sourcetype: String,
    /// Raw fields tried for `_time`, in order.
    pub time: Vec<String>,
    /// Nanoseconds per unit of an all-digit time value.
    pub epoch_unit_ns: i64,
    /// Field rules by CIM field name.
    pub fields: BTreeMap<String, FieldRule>,
    /// The data set its events enter.
    pub dataset: &'static super::datamodel::DataSet,
}

/// A complete, checked profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Sections by name.
    pub sections: BTreeMap<String, Section>,
    /// Where the overrides came from, for reports (`embedded default` when none).
    pub origin: String,
}

impl Profile {
    /// The embedded default profile.
    pub fn default_profile() -> Profile {
        Profile::build(DEFAULT_PROFILE, None, "embedded default")
            .expect("the embedded profile is valid")
    }

    /// The default profile with the overrides of `path` applied.
    pub fn with_overrides(path: &Path) -> Result<Profile, ProfileError> {
        let origin = path.display().to_string();
        let text = crate::spl::rule::read_text_file(path).map_err(|e| ProfileError {
            origin: origin.clone(),
            kind: ProfileErrorKind::Read(e.to_string()),
        })?;
        Profile::build(DEFAULT_PROFILE, Some(&text), &origin)
    }

    /// Builds a profile from the default text and optional override text.
    pub fn build(
        default: &str,
        overrides: Option<&str>,
        origin: &str,
    ) -> Result<Profile, ProfileError> {
        let fail = |kind| ProfileError { origin: origin.to_string(), kind };
        let parse = |text: &str| {
            toml::from_str::<ProfileFile>(text)
                .map_err(|e| fail(ProfileErrorKind::Toml(e.to_string())))
        };
        let mut base = parse(default)?;
        if let Some(text) = overrides {
            merge(&mut base, parse(text)?).map_err(fail)?;
        }
        let mut sections = BTreeMap::new();
        for (name, _, _) in SECTIONS {
            let section = resolve(&base, name, 0).map_err(fail)?;
            sections.insert(name.to_string(), section);
        }
        Ok(Profile { sections, origin: origin.to_string() })
    }

    /// The section for `kind` read in `format`.
    pub fn section(&self, kind: SourceKind, format: RecordFormat) -> Option<&Section> {
        section_for(kind, format).and_then(|n| self.sections.get(n))
    }
}

fn merge(base: &mut ProfileFile, over: ProfileFile) -> Result<(), ProfileErrorKind> {
    for (name, sec) in over.sources {
        if !SECTIONS.iter().any(|(n, _, _)| *n == name) {
            return Err(ProfileErrorKind::UnknownSection(name));
        }
        let target = base.sources.entry(name).or_default();
        if sec.inherits.is_some() {
            target.inherits = sec.inherits;
        }
        if sec.sourcetype.is_some() {
            target.sourcetype = sec.sourcetype;
        }
        if sec.time.is_some() {
            target.time = sec.time;
        }
        if sec.epoch_unit.is_some() {
            target.epoch_unit = sec.epoch_unit;
        }
        target.fields.extend(sec.fields);
    }
    Ok(())
}

/// Resolves a section with its inheritance chain applied.
fn resolve(file: &ProfileFile, name: &str, depth: usize) -> Result<Section, ProfileErrorKind> {
    let Some(sec) = file.sources.get(name).filter(|_| depth < 8) else {
        return Err(ProfileErrorKind::BadInherit(name.to_string()));
    };
    let mut out = match &sec.inherits {
        Some(parent) => resolve(file, parent, depth + 1)?,
        None => Section {
            name: String::new(),
            inherits: None,
            sourcetype: String::new(),
            time: Vec::new(),
            epoch_unit_ns: 1_000_000_000,
            fields: BTreeMap::new(),
            dataset: &super::datamodel::PROCESSES,
        },
    };
    let kind = SECTIONS.iter().find(|(n, ..)| *n == name).map(|(_, k, _)| *k);
    out.dataset = kind.map_or(&super::datamodel::PROCESSES, dataset_of);
    out.name = name.to_string();
    out.inherits = sec.inherits.clone();
    if let Some(st) = &sec.sourcetype {
        out.sourcetype = st.clone();
    }
    if let Some(t) = &sec.time {
        out.time = t.clone();
    }
    if let Some(unit) = &sec.epoch_unit {
        out.epoch_unit_ns = match unit.as_str() {
            "s" => 1_000_000_000,
            "ms" => 1_000_000,
            other => return Err(ProfileErrorKind::BadEpochUnit(other.to_string())),
        };
    }
    for (field, rule) in &sec.fields {
        if !out.dataset.is_field(field) {
            let (section, field) = (name.to_string(), field.clone());
            let dataset = out.dataset.name;
            return Err(ProfileErrorKind::UnknownField { section, field, dataset });
        }
        out.fields.insert(field.clone(), compile_rule(name, field, rule)?);
    }
    Ok(out)
}

fn compile_rule(section: &str, field: &str, r: &RuleFile) -> Result<FieldRule, ProfileErrorKind> {
    let mut sources = Vec::new();
    if let Some(c) = &r.constant {
        sources.push(RuleSource::Const(c.clone()));
    }
    if let Some(f) = &r.field {
        sources.push(RuleSource::FirstOf(vec![f.clone()]));
    }
    if let Some(v) = &r.first_of {
        sources.push(RuleSource::FirstOf(v.clone()));
    }
    if let Some(b) = &r.basename {
        sources.push(RuleSource::Basename(b.clone()));
    }
    if let Some(name) = &r.rebuild {
        if name != "security_4688_process" {
            return Err(ProfileErrorKind::UnknownRebuild(name.clone()));
        }
        sources.push(RuleSource::Rebuild4688);
    }
    if r.missing == Some(true) {
        sources.push(RuleSource::Missing);
    }
    if sources.len() != 1 {
        let (section, field) = (section.to_string(), field.to_string());
        return Err(ProfileErrorKind::BadRule { section, field });
    }
    let when = r.when.as_ref().map(compile_when).transpose()?;
    let number = match r.number.as_deref() {
        None => None,
        Some("decimal") => Some(NumberForm::Decimal),
        Some("hex") => Some(NumberForm::Hex),
        Some(other) => return Err(ProfileErrorKind::BadNumberForm(other.to_string())),
    };
    Ok(FieldRule {
        source: sources.remove(0),
        missing_if: r.missing_if.clone(),
        when,
        strip_domain: r.strip_domain,
        split: r.split.clone().filter(|s| !s.is_empty()),
        lookup: r.lookup.clone().unwrap_or_default(),
        wrap: r.wrap.clone(),
        extract: r.extract.as_deref().map(compile_extract).transpose()?,
        number,
        default: r.default.clone().filter(|d| !d.is_empty()),
        cim_default: r.cim_default.unwrap_or(true),
    })
}

fn compile_when(w: &WhenFile) -> Result<When, ProfileErrorKind> {
    match (&w.equals_u64, &w.equals) {
        (Some(n), None) => {
            let v = parse_u64(n).ok_or_else(|| ProfileErrorKind::BadNumber(n.clone()))?;
            Ok(When::EqualsU64(w.field.clone(), v))
        }
        (None, Some(s)) => Ok(When::Equals(w.field.clone(), s.clone())),
        _ => Err(ProfileErrorKind::BadNumber(format!("when on {}", w.field))),
    }
}

/// Reads a 64-bit value written as `0x…` hex, unsigned decimal or signed decimal (NXLog writes
/// Keywords signed), keeping its bits.
pub fn parse_u64(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok();
    }
    t.parse::<u64>().ok().or_else(|| t.parse::<i64>().ok().map(|v| v as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_resolves_inheritance() {
        let p = Profile::default_profile();
        let json = &p.sections["sysmon_json"];
        assert_eq!(
            json.fields["dest"].source,
            RuleSource::FirstOf(vec!["Computer".into(), "Hostname".into()])
        );
        assert_eq!(json.fields["process"].source, RuleSource::FirstOf(vec!["CommandLine".into()]));
        assert_eq!(json.fields["user_id"].wrap, None);
        assert_eq!(p.sections["sysmon_xml"].fields["user_id"].wrap.as_deref(), Some("'"));
    }

    #[test]
    fn overrides_replace_single_fields() {
        let over =
            "[sources.sysmon_xml.fields]\nuser = { field = \"User\", strip_domain = true }\n\
                    process_hash = { field = \"Hashes\", split = \",\" }\n";
        let p = Profile::build(DEFAULT_PROFILE, Some(over), "test").unwrap();
        assert!(p.sections["sysmon_xml"].fields["user"].strip_domain);
        // Inheriting sections see the override too.
        assert!(p.sections["sysmon_json"].fields["user"].strip_domain);
        assert_eq!(
            p.sections["sysmon_xml"].fields["dest"].source,
            RuleSource::FirstOf(vec!["Computer".into()])
        );
    }

    #[test]
    fn bad_profiles_are_refused_with_a_reason() {
        let bad = |text: &str| Profile::build(DEFAULT_PROFILE, Some(text), "t").unwrap_err().kind;
        assert!(matches!(bad("[sources.nope]\n"), ProfileErrorKind::UnknownSection(_)));
        assert!(matches!(
            bad("[sources.sysmon_xml.fields]\nbogus = { const = \"x\" }\n"),
            ProfileErrorKind::UnknownField { .. }
        ));
        assert!(matches!(
            bad("[sources.sysmon_xml.fields]\nuser = { const = \"x\", field = \"y\" }\n"),
            ProfileErrorKind::BadRule { .. }
        ));
        assert!(matches!(bad("sources = 3"), ProfileErrorKind::Toml(_)));
    }

    #[test]
    fn numbers_convert_only_from_the_other_form() {
        assert_eq!(NumberForm::Decimal.convert("0xb2c").as_deref(), Some("2860"));
        assert_eq!(NumberForm::Decimal.convert("2860"), None);
        assert_eq!(NumberForm::Hex.convert("2860").as_deref(), Some("0xb2c"));
        assert_eq!(NumberForm::Hex.convert("0xb2c"), None);
        assert_eq!(NumberForm::Hex.convert("12a"), None);
    }

    #[test]
    fn rules_print_back_as_the_toml_they_came_from() {
        let text =
            "[sources.sysmon_xml.fields]\nuser = { field = \"User\", strip_domain = true }\n\
                    process_id = { field = \"ProcessId\", number = \"hex\", default = \"0\" }\n\
                    original_file_name = { missing = true, cim_default = false }\n";
        let p = Profile::build(DEFAULT_PROFILE, Some(text), "t").unwrap();
        let f = &p.sections["sysmon_xml"].fields;
        assert_eq!(f["user"].to_toml(), "{ field = \"User\", strip_domain = true }");
        assert_eq!(
            f["process_id"].to_toml(),
            "{ field = \"ProcessId\", number = \"hex\", default = \"0\" }"
        );
        assert_eq!(f["original_file_name"].to_toml(), "{ missing = true, cim_default = false }");
        let s = &p.sections["security_4688_xml"].fields;
        assert_eq!(
            s["action"].to_toml(),
            "{ const = \"allowed\", when = { field = \"Keywords\", equals_u64 = \
             \"0x8020000000000000\" } }"
        );
        assert_eq!(
            s["user"].to_toml(),
            "{ first_of = [\"TargetUserName\", \"SubjectUserName\"], missing_if = [\"-\"] }"
        );
    }

    #[test]
    fn keywords_read_as_64_bits() {
        assert_eq!(parse_u64("0x8020000000000000"), Some(0x8020_0000_0000_0000));
        assert_eq!(parse_u64("-9223372036854775808"), Some(0x8000_0000_0000_0000));
        assert_eq!(parse_u64("9232379236109516800"), Some(0x8020_0000_0000_0000));
        assert_eq!(parse_u64("x"), None);
    }
}
