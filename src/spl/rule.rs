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
        let bad = |e: serde_yaml_ng::Error| {
            CompileError::bare(CompileErrorKind::BadRuleYaml { reason: e.to_string() })
        };
        if flow_depth(text) > MAX_FLOW_DEPTH {
            let reason = format!("`[` or `{{` nested deeper than {MAX_FLOW_DEPTH} levels");
            return Err(CompileError::bare(CompileErrorKind::BadRuleYaml { reason }));
        }
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(bad)?;
        let mut det: Detection = serde_yaml_ng::from_value(doc.clone()).map_err(bad)?;
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
pub const MAX_FLOW_DEPTH: usize = 64;

/// The deepest `[`/`{` nesting in YAML text, counting every bracket (inside quotes and
/// comments too, so that no quoting trick hides nesting from the check).
pub fn flow_depth(text: &str) -> usize {
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
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_TEXT_FILE {
        return Err(std::io::Error::other("larger than 16 MiB"));
    }
    // The length can be 0 for files that are not (/proc): the read is bounded too.
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?.take(MAX_TEXT_FILE + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_TEXT_FILE {
        return Err(std::io::Error::other("larger than 16 MiB"));
    }
    Ok(text)
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
