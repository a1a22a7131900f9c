//! Reads a security_content detection YAML (the version 13 layout and the older version 5
//! layout alike) into the parts the engine uses.
//!
//! Owns the YAML shape only. It keeps the whole document for `meta` (finding text, entities,
//! tests) and must not interpret the search.

use std::path::Path;

use serde::Deserialize;

use super::error::{CompileError, CompileErrorKind};

/// The embedded default rule: BITS Job Persistence, version 13.
pub const DEFAULT_RULE: &str = include_str!("default_rule.yml");

/// The parts of a detection the engine reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Detection {
    /// The detection's name, which also names its filter macro.
    pub name: String,
    /// The detection id.
    #[serde(default)]
    pub id: Option<String>,
    /// The version number.
    #[serde(default)]
    pub version: Option<serde_yaml_ng::Value>,
    /// `production`, `deprecated`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// The SPL search, before macro expansion.
    pub search: String,
    /// The whole YAML document, for the parts around the search (`meta`).
    #[serde(skip)]
    pub doc: serde_yaml_ng::Value,
}

impl Detection {
    /// Parses detection YAML text.
    pub fn from_yaml(text: &str) -> Result<Detection, CompileError> {
        let bad = |reason: String| CompileError::bare(CompileErrorKind::BadRuleYaml { reason });
        let doc = parse_yaml(text).map_err(|e| bad(e.to_string()))?;
        let mut det: Detection =
            serde_yaml_ng::from_value(doc.clone()).map_err(|e| bad(e.to_string()))?;
        det.doc = doc;
        Ok(det)
    }

    /// The finding, entities, threat objects, MITRE ids, drilldowns and tests.
    pub fn meta(&self) -> Result<super::meta::Meta, CompileError> {
        super::meta::read(&self.doc)
    }

    /// Reads and parses a detection file.
    pub fn from_path(path: &Path) -> Result<Detection, CompileError> {
        let text = read_text_file(path).map_err(|e| {
            let kind = CompileErrorKind::ReadRule {
                path: path.display().to_string(),
                reason: e.to_string(),
            };
            CompileError::bare(kind)
        })?;
        Detection::from_yaml(&text)
    }

    /// A detection made of a name and a search only (for tests and one-off searches).
    pub fn inline(name: &str, search: &str) -> Detection {
        Detection {
            name: name.to_string(),
            id: None,
            version: None,
            status: None,
            search: search.to_string(),
            doc: serde_yaml_ng::Value::Null,
        }
    }

    /// The embedded default rule.
    pub fn default_rule() -> Detection {
        Detection::from_yaml(DEFAULT_RULE).expect("the embedded default rule is valid YAML")
    }

    /// The version as text (`13`), or `-` when the YAML has none.
    pub fn version_text(&self) -> String {
        match &self.version {
            Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
            Some(serde_yaml_ng::Value::String(s)) => s.clone(),
            _ => "-".to_string(),
        }
    }
}

/// The largest rule, macro or profile file read, in bytes.
const MAX_TEXT_FILE: u64 = 16 << 20;

/// The deepest flow nesting (`[`, `{`) a YAML file may have: the YAML parser takes quadratic
/// time on deep flow nesting before its own recursion limit refuses it.
const MAX_FLOW_DEPTH: usize = 64;

/// Why YAML text was not read.
#[derive(Debug)]
pub enum YamlError {
    /// Flow nesting deeper than `MAX_FLOW_DEPTH`, refused before parsing.
    TooDeep,
    /// The parser's error.
    Parse(serde_yaml_ng::Error),
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            YamlError::TooDeep => {
                write!(f, "`[` or `{{` nested deeper than {MAX_FLOW_DEPTH} levels")
            }
            YamlError::Parse(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for YamlError {}

/// Parses YAML text (rules, macros), refusing deep flow nesting before the parser sees it.
pub fn parse_yaml(text: &str) -> Result<serde_yaml_ng::Value, YamlError> {
    if flow_depth(text) > MAX_FLOW_DEPTH {
        return Err(YamlError::TooDeep);
    }
    serde_yaml_ng::from_str(text).map_err(YamlError::Parse)
}

/// The deepest `[`/`{` nesting in YAML text, counting every bracket (inside quotes and
/// comments too, so that no quoting trick hides nesting from the check).
fn flow_depth(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for &b in text.as_bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Reads a configuration text file: a regular file (a device or a pipe could be endless) of
/// at most 16 MiB.
pub fn read_text_file(path: &Path) -> std::io::Result<String> {
    let bytes = crate::input::read_regular(path, MAX_TEXT_FILE, "16 MiB")?;
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rule_is_version_13() {
        let d = Detection::default_rule();
        assert_eq!(d.name, "BITS Job Persistence");
        assert_eq!(d.version_text(), "13");
        assert!(d.search.starts_with("| tstats `security_content_summariesonly`"));
    }

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        let deep = format!("name: x\nsearch: y\nz: {}{}\n", "[".repeat(100), "]".repeat(100));
        let err = Detection::from_yaml(&deep).unwrap_err();
        assert!(err.to_string().contains("nested deeper than 64"), "{err}");
        assert_eq!(flow_depth("a: '[[' # ]]\nb: [x, {y: 1}]\n"), 2);
    }

    #[test]
    fn yaml_without_search_is_refused() {
        let err = Detection::from_yaml("name: x\n").unwrap_err();
        assert!(matches!(err.kind, CompileErrorKind::BadRuleYaml { .. }));
    }
}
