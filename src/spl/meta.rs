//! A detection's parts around its search: the finding message, the risk entities and threat
//! objects, MITRE ids, drilldown searches, and the `tests:` block, read from each layout
//! security_content has used (version 13 `finding`/`intermediate_findings`/`threat_objects`,
//! the `rba` block, and version 5 `tags.message`/`tags.observable`/`tags.risk_score`).
//!
//! Owns the shapes of those YAML keys. It must not run or interpret the search; a key in a
//! shape it does not know is an error that names the key, never quietly ignored.

use serde_yaml_ng::Value;

use super::error::{CompileError, CompileErrorKind};

/// A risk entity: a row's field that names who or what is at risk.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// The result column.
    pub field: String,
    /// Its type (`user`, `system`, `Hostname`, ...).
    pub kind: String,
    /// Its risk score, when the detection gives one.
    pub score: Option<f64>,
    /// Its own message (version 13 intermediate findings).
    pub message: Option<String>,
}

/// A threat object: a row's field that names the attacker's artefact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreatObject {
    /// The result column.
    pub field: String,
    /// Its type.
    pub kind: String,
}

/// A drilldown search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drilldown {
    /// Its title, with `$field$` tokens.
    pub name: String,
    /// Its search, with `$field$` tokens.
    pub search: String,
    /// `earliest_offset`, as written.
    pub earliest: Option<String>,
    /// `latest_offset`, as written.
    pub latest: Option<String>,
}

/// One attack data file of a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttackData {
    /// The data URL (attack_data repository) or path.
    pub data: String,
    /// The `source` it is replayed with.
    pub source: Option<String>,
    /// The `sourcetype` it is replayed with.
    pub sourcetype: Option<String>,
}

/// One entry of the `tests:` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSpec {
    /// Its name.
    pub name: String,
    /// `unit` (the default) or `integration`.
    pub kind: String,
    /// The files replayed.
    pub attack_data: Vec<AttackData>,
}

/// A detection's parts around its search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    /// The finding message, with `$field$` tokens.
    pub message: Option<String>,
    /// Risk entities (version 13 entity and intermediate findings; version 5 Victim
    /// observables; `rba.risk_objects`).
    pub entities: Vec<Entity>,
    /// Threat objects.
    pub threats: Vec<ThreatObject>,
    /// MITRE ATT&CK ids.
    pub mitre: Vec<String>,
    /// Drilldown searches.
    pub drilldowns: Vec<Drilldown>,
    /// The tests.
    pub tests: Vec<TestSpec>,
}

impl Meta {
    /// Whether the detection declares risk, so that contentctl checks risk-object fields.
    pub fn declares_risk(&self) -> bool {
        !self.entities.is_empty()
    }
}

/// The blocks that must be maps when present.
const MAP_BLOCKS: &[&str] = &["finding", "intermediate_findings", "rba", "tags"];

/// Reads the parts around the search from a detection's YAML document.
pub fn read(doc: &Value) -> Result<Meta, CompileError> {
    for key in MAP_BLOCKS {
        if get(doc, &[key]).is_some_and(|v| !v.is_mapping()) {
            return Err(bad(key, "a map"));
        }
    }
    let mut meta = Meta {
        mitre: strings(doc, &["mitre_attack_id"])?,
        drilldowns: drilldowns(doc)?,
        tests: tests(doc)?,
        ..Meta::default()
    };
    version_13(doc, &mut meta)?;
    rba(doc, &mut meta)?;
    version_5(doc, &mut meta)?;
    Ok(meta)
}

fn bad(key: &str, want: &str) -> CompileError {
    CompileError::bare(CompileErrorKind::BadRuleYaml { reason: format!("`{key}` is not {want}") })
}

fn get<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(k)).filter(|v| !v.is_null())
}

fn text(v: &Value, path: &[&str]) -> Result<Option<String>, CompileError> {
    match get(v, path) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(bad(&path.join("."), "text")),
    }
}

fn strings(v: &Value, path: &[&str]) -> Result<Vec<String>, CompileError> {
    match get(v, path) {
        None => Ok(Vec::new()),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(bad(&path.join("."), "a list of text")),
            })
            .collect(),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(_) => Err(bad(&path.join("."), "a list of text")),
    }
}

fn number(v: &Value, path: &[&str]) -> Result<Option<f64>, CompileError> {
    match get(v, path) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => {
            s.trim().parse().map(Some).map_err(|_| bad(&path.join("."), "a number"))
        }
        Some(_) => Err(bad(&path.join("."), "a number")),
    }
}

/// A list of maps, or one map read as a list of one.
fn maps<'v>(v: &'v Value, path: &[&str]) -> Result<Vec<&'v Value>, CompileError> {
    match get(v, path) {
        None => Ok(Vec::new()),
        Some(Value::Sequence(items)) if items.iter().all(Value::is_mapping) => {
            Ok(items.iter().collect())
        }
        Some(m @ Value::Mapping(_)) => Ok(vec![m]),
        Some(_) => Err(bad(&path.join("."), "a list of maps")),
    }
}

fn required(v: &Value, key: &str, within: &str) -> Result<String, CompileError> {
    text(v, &[key])?.ok_or_else(|| bad(&format!("{within}.{key}"), "given"))
}

fn version_13(doc: &Value, meta: &mut Meta) -> Result<(), CompileError> {
    if let Some(title) = text(doc, &["finding", "title"])? {
        meta.message = Some(title);
    }
    let findings =
        maps(doc, &["finding", "entity"])?.into_iter().map(|e| (e, "finding.entity")).chain(
            maps(doc, &["intermediate_findings", "entities"])?
                .into_iter()
                .map(|e| (e, "intermediate_findings.entities")),
        );
    for (e, within) in findings {
        meta.entities.push(Entity {
            field: required(e, "field", within)?,
            kind: text(e, &["type"])?.unwrap_or_default(),
            score: number(e, &["score"])?,
            message: text(e, &["message"])?,
        });
    }
    for t in maps(doc, &["threat_objects"])? {
        meta.threats.push(ThreatObject {
            field: required(t, "field", "threat_objects")?,
            kind: text(t, &["type"])?.unwrap_or_default(),
        });
    }
    Ok(())
}

fn rba(doc: &Value, meta: &mut Meta) -> Result<(), CompileError> {
    if meta.message.is_none() {
        meta.message = text(doc, &["rba", "message"])?;
    }
    for e in maps(doc, &["rba", "risk_objects"])? {
        meta.entities.push(Entity {
            field: required(e, "field", "rba.risk_objects")?,
            kind: text(e, &["type"])?.unwrap_or_default(),
            score: number(e, &["score"])?,
            message: None,
        });
    }
    for t in maps(doc, &["rba", "threat_objects"])? {
        meta.threats.push(ThreatObject {
            field: required(t, "field", "rba.threat_objects")?,
            kind: text(t, &["type"])?.unwrap_or_default(),
        });
    }
    Ok(())
}

fn version_5(doc: &Value, meta: &mut Meta) -> Result<(), CompileError> {
    if meta.message.is_none() {
        meta.message = text(doc, &["tags", "message"])?;
    }
    if meta.mitre.is_empty() {
        meta.mitre = strings(doc, &["tags", "mitre_attack_id"])?;
    }
    let score = number(doc, &["tags", "risk_score"])?;
    for o in maps(doc, &["tags", "observable"])? {
        let field = required(o, "name", "tags.observable")?;
        let kind = text(o, &["type"])?.unwrap_or_default();
        let roles = strings(o, &["role"])?;
        if roles.iter().any(|r| r.eq_ignore_ascii_case("victim")) {
            meta.entities.push(Entity {
                field: field.clone(),
                kind: kind.clone(),
                score,
                message: None,
            });
        }
        if roles.iter().any(|r| r.eq_ignore_ascii_case("attacker")) {
            meta.threats.push(ThreatObject { field, kind });
        }
    }
    Ok(())
}

fn drilldowns(doc: &Value) -> Result<Vec<Drilldown>, CompileError> {
    maps(doc, &["drilldown_searches"])?
        .into_iter()
        .map(|d| {
            Ok(Drilldown {
                name: text(d, &["name"])?.unwrap_or_default(),
                search: required(d, "search", "drilldown_searches")?,
                earliest: text(d, &["earliest_offset"])?,
                latest: text(d, &["latest_offset"])?,
            })
        })
        .collect()
}

fn tests(doc: &Value) -> Result<Vec<TestSpec>, CompileError> {
    maps(doc, &["tests"])?
        .into_iter()
        .map(|t| {
            let attack_data = maps(t, &["attack_data"])?
                .into_iter()
                .map(|a| {
                    Ok(AttackData {
                        data: required(a, "data", "tests.attack_data")?.trim().to_string(),
                        source: text(a, &["source"])?,
                        sourcetype: text(a, &["sourcetype"])?,
                    })
                })
                .collect::<Result<Vec<_>, CompileError>>()?;
            Ok(TestSpec {
                name: text(t, &["name"])?.unwrap_or_else(|| "test".to_string()),
                kind: text(t, &["test_type"])?.unwrap_or_else(|| "unit".to_string()),
                attack_data,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Value {
        serde_yaml_ng::from_str(text).unwrap()
    }

    #[test]
    fn version_13_layout() {
        let m = read(&doc(super::super::rule::DEFAULT_RULE)).unwrap();
        assert!(m.message.as_deref().unwrap().starts_with("An instance of $parent_process_name$"));
        assert_eq!(m.entities.len(), 2);
        assert_eq!((m.entities[0].field.as_str(), m.entities[0].score), ("user", Some(50.0)));
        assert_eq!(m.entities[1].field, "dest");
        assert!(m.entities[1].message.is_some());
        assert_eq!(m.threats.len(), 2);
        assert_eq!(m.mitre, ["T1197"]);
        assert_eq!(m.drilldowns.len(), 2);
        assert_eq!(m.tests.len(), 2);
        assert_eq!(
            m.tests[1].attack_data[0].sourcetype.as_deref(),
            Some("crowdstrike:events:sensor")
        );
        assert_eq!(m.tests[0].kind, "unit");
    }

    #[test]
    fn version_5_layout() {
        let m = read(&doc(
            "tags:\n  message: On $dest$\n  risk_score: 56\n  mitre_attack_id: [T1197]\n  \
             observable:\n  - {name: user, type: User, role: [Victim]}\n  \
             - {name: process_name, type: Process, role: [Attacker]}\n\
             tests:\n- name: T\n  attack_data:\n  - data: https://x/a.log\n    \
             sourcetype: xmlwineventlog\n",
        ))
        .unwrap();
        assert_eq!(m.message.as_deref(), Some("On $dest$"));
        assert_eq!(
            m.entities,
            [Entity {
                field: "user".into(),
                kind: "User".into(),
                score: Some(56.0),
                message: None
            }]
        );
        assert_eq!(m.threats[0].field, "process_name");
        assert_eq!(m.mitre, ["T1197"]);
        assert_eq!(m.tests[0].attack_data[0].data, "https://x/a.log");
    }

    #[test]
    fn unknown_shapes_are_named() {
        for block in ["finding: hello", "rba: yes", "tags: [a, b]", "intermediate_findings: dest"] {
            let err = read(&doc(block)).unwrap_err();
            assert!(err.to_string().contains("is not a map"), "{block}: {err}");
        }
        let err = read(&doc("tags:\n  observable: 3\n")).unwrap_err();
        assert!(err.to_string().contains("tags.observable"), "{err}");
        let err = read(&doc("tests:\n- attack_data:\n  - source: x\n")).unwrap_err();
        assert!(err.to_string().contains("tests.attack_data.data"), "{err}");
    }
}
