//! Backtick macro expansion in security_content's form.
//!
//! Owns the macro table (embedded defaults, then `--macros DIR` files that add and override),
//! `$arg$` substitution, nested expansion, the built-in `drop_dm_object_name(1)`, and the rule
//! that a detection's own missing `<name>_filter` macro is `search *`. It works on text only
//! and must not parse SPL.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::ast::Span;
use super::error::{CompileError, CompileErrorKind};

/// How deep macros may nest before expansion is refused.
const MAX_DEPTH: usize = 32;

/// The longest expanded search accepted, in bytes (a macro that doubles itself at each level
/// would otherwise grow without bound). Substituted macro bodies are held to it too.
const MAX_EXPANDED: usize = 1 << 20;

/// The most macro calls one search may expand (macros that expand to nothing could otherwise
/// take exponential time without growing the text).
const MAX_CALLS: usize = 100_000;

/// The macros the embedded default rule needs, as security_content defines them.
const DEFAULT_MACROS: &str = include_str!("default_macros.yml");

/// One macro definition.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MacroDef {
    /// The name, without the `(N)` arity suffix.
    pub name: String,
    /// The replacement text.
    pub definition: String,
    /// Argument names, substituted where `$name$` appears.
    #[serde(default)]
    pub arguments: Vec<String>,
}

/// Macros by name and arity.
#[derive(Debug, Clone, Default)]
pub struct MacroTable {
    defs: HashMap<(String, usize), MacroDef>,
}

impl MacroTable {
    /// The embedded defaults.
    pub fn with_defaults() -> MacroTable {
        let mut table = MacroTable::default();
        let defs: Vec<MacroDef> =
            serde_yaml_ng::from_str(DEFAULT_MACROS).expect("embedded macros are valid YAML");
        for def in defs {
            table.insert(def);
        }
        table
    }

    /// Adds or replaces one definition.
    pub fn insert(&mut self, def: MacroDef) {
        self.defs.insert((def.name.clone(), def.arguments.len()), def);
    }

    /// Loads every `*.yml`/`*.yaml` file under `dir` (recursively) that defines macros: one
    /// macro (`name`, `definition`) or a list of them. Other YAML files, such as detections,
    /// are passed over. Returns the number of macros loaded.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, CompileError> {
        let mut files = Vec::new();
        collect_yaml(dir, &mut files).map_err(|e| bad_file(dir, &e.to_string()))?;
        files.sort();
        let mut loaded = 0;
        for file in &files {
            let text =
                super::rule::read_text_file(file).map_err(|e| bad_file(file, &e.to_string()))?;
            let value =
                super::rule::parse_yaml(&text).map_err(|e| bad_file(file, &e.to_string()))?;
            let defs: Vec<MacroDef> = match value {
                serde_yaml_ng::Value::Sequence(_) => {
                    serde_yaml_ng::from_value(value).map_err(|e| bad_file(file, &e.to_string()))?
                }
                v if v.get("definition").is_some() => {
                    vec![serde_yaml_ng::from_value(v).map_err(|e| bad_file(file, &e.to_string()))?]
                }
                _ => {
                    log::debug!("macros: {} defines no macro; passed over", file.display());
                    continue;
                }
            };
            loaded += defs.len();
            defs.into_iter().for_each(|d| self.insert(d));
        }
        log::debug!("macros: {loaded} loaded from {}", dir.display());
        Ok(loaded)
    }

    fn get(&self, name: &str, arity: usize) -> Option<&MacroDef> {
        self.defs.get(&(name.to_string(), arity))
    }

    /// Expands every macro in `search`. `filter_name` is the detection's own filter macro,
    /// which is `search *` when nothing defines it.
    pub fn expand(&self, search: &str, filter_name: &str) -> Result<String, CompileError> {
        self.expand_at(search, filter_name, 0, "", &std::cell::Cell::new(0))
    }

    fn expand_at(
        &self,
        text: &str,
        filter_name: &str,
        depth: usize,
        outer: &str,
        calls: &std::cell::Cell<usize>,
    ) -> Result<String, CompileError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('`') {
            out.push_str(&rest[..open]);
            if let Some(comment) = rest[open..].strip_prefix("```") {
                // A ```comment``` (Splunk 8.1 and later) is dropped.
                let Some(end) = comment.find("```") else {
                    let at = out.len();
                    out.push_str(&rest[open..]);
                    let span = Span::new(at, out.len());
                    return Err(CompileError::at(CompileErrorKind::UnclosedComment, span, &out));
                };
                out.push(' ');
                rest = &comment[end + 3..];
                continue;
            }
            let after = &rest[open + 1..];
            let Some(close) = after.find('`') else {
                let at = out.len();
                out.push_str(&rest[open..]);
                let span = Span::new(at, out.len());
                return Err(CompileError::at(CompileErrorKind::UnclosedMacro, span, &out));
            };
            let call = &after[..close];
            let body = self.resolve(call, filter_name).map_err(|kind| {
                let at = out.len();
                let mut shown = out.clone();
                shown.push_str(&rest[open..]);
                CompileError::at(kind, Span::new(at, at + call.len() + 2), &shown)
            })?;
            if depth >= MAX_DEPTH {
                let kind = CompileErrorKind::MacroRecursion { name: outer.to_string() };
                return Err(CompileError::bare(kind).in_search(&out));
            }
            let (name, _) = split_call(call);
            calls.set(calls.get() + 1);
            if body.len() > MAX_EXPANDED || calls.get() > MAX_CALLS {
                let kind = CompileErrorKind::MacroTooLarge { name: name.to_string() };
                return Err(CompileError::bare(kind));
            }
            out.push_str(&self.expand_at(&body, filter_name, depth + 1, name, calls)?);
            if out.len() > MAX_EXPANDED {
                let kind = CompileErrorKind::MacroTooLarge { name: name.to_string() };
                return Err(CompileError::bare(kind));
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The replacement text for one macro call (the text between backticks).
    fn resolve(&self, call: &str, filter_name: &str) -> Result<String, CompileErrorKind> {
        let (name, args) = split_call(call);
        if let Some(def) = self.get(name, args.len()) {
            return Ok(substitute(def, &args));
        }
        if name == "drop_dm_object_name" && args.len() == 1 {
            // The catalog writes the object quoted or not: `drop_dm_object_name("Processes")`.
            let object = args[0].strip_prefix('"').and_then(|a| a.strip_suffix('"'));
            return Ok(format!("rename \"{}.*\" as *", object.unwrap_or(args[0])));
        }
        if name == filter_name && args.is_empty() {
            return Ok("search *".to_string());
        }
        let shown =
            if args.is_empty() { name.to_string() } else { format!("{name}({})", args.len()) };
        Err(CompileErrorKind::UnknownMacro { name: shown })
    }
}

/// Splits `name(a, b)` into the name and its trimmed arguments.
fn split_call(call: &str) -> (&str, Vec<&str>) {
    let call = call.trim();
    let Some(open) = call.find('(') else { return (call, Vec::new()) };
    let Some(inner) = call[open + 1..].strip_suffix(')') else { return (call, Vec::new()) };
    let args = if inner.trim().is_empty() {
        Vec::new()
    } else {
        inner.split(',').map(str::trim).collect()
    };
    (call[..open].trim(), args)
}

fn substitute(def: &MacroDef, args: &[&str]) -> String {
    let mut text = def.definition.clone();
    for (name, value) in def.arguments.iter().zip(args) {
        text = text.replace(&format!("${name}$"), value);
    }
    text
}

/// The filter macro name contentctl gives a detection.
pub fn filter_macro_name(detection: &str) -> String {
    let mut name: String = detection
        .to_lowercase()
        .chars()
        .map(|c| if matches!(c, ' ' | '-' | '.' | '/') { '_' } else { c })
        .collect();
    name.push_str("_filter");
    name
}

fn collect_yaml(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    collect_yaml_once(dir, out, &mut std::collections::HashSet::new())
}

/// Walks `dir` for YAML files, each folder once (symlink loops are not followed again).
fn collect_yaml_once(
    dir: &Path,
    out: &mut Vec<std::path::PathBuf>,
    seen: &mut std::collections::HashSet<std::path::PathBuf>,
) -> std::io::Result<()> {
    if !seen.insert(std::fs::canonicalize(dir)?) {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml_once(&path, out, seen)?;
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

fn bad_file(path: &Path, reason: &str) -> CompileError {
    let kind =
        CompileErrorKind::BadMacroFile { path: path.display().to_string(), reason: reason.into() };
    CompileError::bare(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(defs: &[(&str, &str, &[&str])]) -> MacroTable {
        let mut t = MacroTable::default();
        for (name, definition, args) in defs {
            t.insert(MacroDef {
                name: name.to_string(),
                definition: definition.to_string(),
                arguments: args.iter().map(|a| a.to_string()).collect(),
            });
        }
        t
    }

    #[test]
    fn nested_macros_and_arguments_expand() {
        let t = table(&[
            ("outer", "a=`inner` `ct(x)`", &[]),
            ("inner", "1", &[]),
            ("ct", "c($f$)", &["f"]),
        ]);
        assert_eq!(t.expand("`outer` z", "r_filter").unwrap(), "a=1 c(x) z");
    }

    #[test]
    fn builtins_and_missing_own_filter() {
        let t = MacroTable::default();
        let got =
            t.expand("| `drop_dm_object_name(Processes)` | `my_rule_filter`", "my_rule_filter");
        assert_eq!(got.unwrap(), "| rename \"Processes.*\" as * | search *");
    }

    #[test]
    fn quoted_object_and_triple_backtick_comments() {
        let t = MacroTable::default();
        let got = t.expand("| `drop_dm_object_name(\"Processes\")` ```a `b` c``` | x", "f");
        assert_eq!(got.unwrap(), "| rename \"Processes.*\" as *   | x");
        let err = t.expand("| x ```open", "f").unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::UnclosedComment);
    }

    #[test]
    fn unknown_macro_is_named_and_located() {
        let t = table(&[("a", "x", &[])]);
        let err = t.expand("`a` | `nope(1,2)`", "f").unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::UnknownMacro { name: "nope(2)".into() });
        assert_eq!(err.search, "x | `nope(1,2)`");
        assert_eq!(err.span, Some(Span::new(4, 15)));
    }

    #[test]
    fn another_rules_filter_is_not_invented() {
        let err = MacroTable::default().expand("`other_filter`", "mine_filter").unwrap_err();
        assert!(matches!(err.kind, CompileErrorKind::UnknownMacro { .. }));
    }

    #[test]
    fn self_reference_is_refused() {
        let t = table(&[("loop", "`loop`", &[])]);
        let err = t.expand("`loop`", "f").unwrap_err();
        assert_eq!(err.kind, CompileErrorKind::MacroRecursion { name: "loop".into() });
    }

    #[test]
    fn doubling_macros_are_bounded() {
        let mut t = MacroTable::default();
        for i in 0..24 {
            let definition = format!("`m{}` `m{}`", i + 1, i + 1);
            t.insert(MacroDef { name: format!("m{i}"), definition, arguments: vec![] });
        }
        t.insert(MacroDef { name: "m24".into(), definition: "x=1".into(), arguments: vec![] });
        let err = t.expand("`m0`", "f").unwrap_err();
        assert!(matches!(err.kind, CompileErrorKind::MacroTooLarge { .. }));
        t.insert(MacroDef { name: "m24".into(), definition: String::new(), arguments: vec![] });
        let err = t.expand("`m0`", "f").unwrap_err();
        assert!(matches!(err.kind, CompileErrorKind::MacroTooLarge { .. }), "empty bodies");
        let mut t = MacroTable::default();
        for i in 0..6 {
            let definition = format!("`m{}({})`", i + 1, "$x$".repeat(100));
            t.insert(MacroDef { name: format!("m{i}"), definition, arguments: vec!["x".into()] });
        }
        t.insert(MacroDef {
            name: "m6".into(),
            definition: "$x$".into(),
            arguments: vec!["x".into()],
        });
        let err = t.expand("`m0(z)`", "f").unwrap_err();
        assert!(matches!(err.kind, CompileErrorKind::MacroTooLarge { .. }), "through arguments");
    }

    #[test]
    fn filter_name_follows_contentctl() {
        assert_eq!(filter_macro_name("BITS Job Persistence"), "bits_job_persistence_filter");
        assert_eq!(filter_macro_name("A-b.c/d"), "a_b_c_d_filter");
    }

    #[test]
    fn embedded_defaults_cover_the_default_rule() {
        let t = MacroTable::with_defaults();
        let s = t.expand("`security_content_summariesonly`", "x").unwrap();
        assert_eq!(s, "summariesonly=false allow_old_summaries=true fillnull_value=null");
    }
}
