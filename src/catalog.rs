//! Detection catalogs: every detection under some files or folders, compiled as far as the
//! engine goes, with the reasons for the rest (`tsreplay catalog`, `run --rules`).
//!
//! Owns finding detections, skipping deprecated ones, grouping compile refusals into stable
//! reasons, the coverage report and the indicator corpus. It reads no event data and must
//! not change what a rule means: compiling is `engine::compile`'s job.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::cim::Profile;
use crate::engine::{self, Compiled};
use crate::output::write::visible;
use crate::spl::{CompileError, CompileErrorKind, Detection, MacroTable};

/// One detection file and what became of it.
#[derive(Debug)]
pub struct Entry {
    /// The YAML file.
    pub path: PathBuf,
    /// The detection, when the YAML reads as one.
    pub detection: Option<Detection>,
    /// The data set after `datamodel=` in the search as written, when there is one.
    pub dataset: Option<String>,
    /// The compiled rule, or why it did not compile.
    pub outcome: Result<Box<Compiled>, CompileError>,
}

/// Every detection found under some paths.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Detections that are not deprecated, in path order.
    pub entries: Vec<Entry>,
    /// Deprecated detections, skipped.
    pub deprecated: Vec<PathBuf>,
    /// YAML files in the folders that are not detections (macros, data sources...).
    pub not_detections: Vec<PathBuf>,
    /// Macro folders found next to the detections and loaded.
    pub macro_dirs: Vec<PathBuf>,
}

impl Catalog {
    /// The entries that compiled.
    pub fn compiled(&self) -> impl Iterator<Item = (&Entry, &Compiled)> {
        self.entries.iter().filter_map(|e| e.outcome.as_ref().ok().map(|c| (e, &**c)))
    }

    /// Files that could not be read as detections (unreadable, not YAML), with the reason.
    pub fn unreadable(&self) -> Vec<(PathBuf, String)> {
        let file_problem = |e: &Entry| match &e.outcome {
            Err(err) if err.is_file_problem() || e.detection.is_none() => Some(err.to_string()),
            _ => None,
        };
        self.entries.iter().filter_map(|e| file_problem(e).map(|r| (e.path.clone(), r))).collect()
    }

    /// The compiled rules, cloned, in catalog order: what `run --rules` runs.
    pub fn rules(&self) -> Vec<Compiled> {
        self.compiled().map(|(_, c)| c.clone()).collect()
    }
}

/// The `macros` folder that a security_content checkout keeps beside `detections/`: looked
/// for in `path` and up to three folders above it.
pub fn find_macro_dir(path: &Path) -> Option<PathBuf> {
    let start = if path.is_dir() { path.to_path_buf() } else { path.parent()?.to_path_buf() };
    start.ancestors().take(4).map(|d| d.join("macros")).find(|m| m.is_dir())
}

/// Loads and compiles every detection under `paths`. Macros: the embedded ones, then (with
/// `discover`) a checkout's own `macros/` folder, then the `explicit` folders over them.
pub fn load(
    paths: &[PathBuf],
    explicit: &[PathBuf],
    profile: &Profile,
    discover: bool,
) -> Result<Catalog, CompileError> {
    let mut catalog = Catalog::default();
    let mut macros = MacroTable::with_defaults();
    if discover {
        for p in paths {
            if let Some(dir) = find_macro_dir(p) {
                if !catalog.macro_dirs.contains(&dir) {
                    log::debug!("catalog: macros from {}", dir.display());
                    macros.load_dir(&dir)?;
                    catalog.macro_dirs.push(dir);
                }
            }
        }
    }
    for dir in explicit {
        macros.load_dir(dir)?;
        catalog.macro_dirs.push(dir.clone());
    }
    let (mut files, others) = crate::harness::detection_files(paths);
    catalog.not_detections = others;
    // A file reached twice (named twice, or inside a folder also given) is one detection.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.canonicalize().unwrap_or_else(|_| f.clone())));
    let loaded: Vec<(PathBuf, Result<Detection, CompileError>)> =
        files.into_par_iter().map(|f| (f.clone(), Detection::from_path(&f))).collect();
    let mut to_compile = Vec::new();
    for (path, det) in loaded {
        match det {
            Ok(d) if is_deprecated(&d) => catalog.deprecated.push(path),
            Ok(d) => to_compile.push((path, Some(d))),
            Err(e) => catalog.entries.push(Entry {
                path,
                detection: None,
                dataset: None,
                outcome: Err(e),
            }),
        }
    }
    let compiled: Vec<Entry> = to_compile
        .into_par_iter()
        .map(|(path, det)| {
            let det = det.expect("some");
            let outcome = engine::compile(&det, &macros, profile.clone()).map(Box::new);
            let dataset = dataset_of(&det.search);
            Entry { path, detection: Some(det), dataset, outcome }
        })
        .collect();
    catalog.entries.extend(compiled);
    catalog.entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(catalog)
}

fn is_deprecated(d: &Detection) -> bool {
    d.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("deprecated"))
}

/// The data set a search names right after `| tstats ... from datamodel=`, as written.
fn dataset_of(search: &str) -> Option<String> {
    let s = search.trim_start();
    if !s.trim_start_matches('|').trim_start().to_ascii_lowercase().starts_with("tstats") {
        return None;
    }
    let at = s.find("datamodel=")? + "datamodel=".len();
    let name: String = s[at..]
        .trim_start_matches('"')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// A refusal as a stable, countable reason: the kind of construct and its name, never the
/// position or the surrounding text.
pub fn reason(e: &CompileError) -> String {
    use CompileErrorKind::*;
    match &e.kind {
        UnsupportedCommand { name } => format!("unsupported command `{}`", name.to_lowercase()),
        ReadRule { .. } => "the file cannot be read".to_string(),
        BadRuleYaml { .. } => "not a detection YAML".to_string(),
        BadMacroFile { .. } => "a macro file does not read".to_string(),
        UnsupportedAggregate { name } => {
            let func = name.split('(').next().unwrap_or(name).to_lowercase();
            format!("unsupported aggregate `{func}()`")
        }
        UnsupportedDatamodel { name } => format!("data model `{name}`"),
        UnknownMacro { name } => format!("missing macro `{name}`"),
        UnsupportedFunction { name } => {
            let func = name.split(['(', ' ']).next().unwrap_or(name).to_lowercase();
            format!("unsupported eval function `{func}()`")
        }
        NotTstats => "not a tstats search (a raw event search)".to_string(),
        UnsupportedOption { name } => format!("unsupported option `{name}`"),
        UnsupportedOptionValue { name, value } => format!("unsupported value `{name}={value}`"),
        UnknownField { name } => format!("field `{name}` not in the data set"),
        LowerCaseOperator { found } => format!("lower-case operator `{found}`"),
        BadRegex { reason, .. } => {
            let why = reason.lines().last().unwrap_or_default().trim_start_matches("error: ");
            format!("regular expression: {why}")
        }
        Syntax { expected, .. } => format!("syntax: expected {expected}"),
        UnsupportedSyntax { found } => {
            // Whole words, up to 100 characters: the text names the construct.
            let mut short = String::new();
            for word in found.split(' ') {
                if short.len() + word.len() > 100 {
                    short.push_str(" ...");
                    break;
                }
                if !short.is_empty() {
                    short.push(' ');
                }
                short.push_str(word);
            }
            format!("unsupported syntax `{short}`")
        }
        other => other.to_string(),
    }
}

/// The coverage report: totals, compiled share per data set, and refusals grouped by reason.
pub fn render(c: &Catalog) -> String {
    let mut out = String::new();
    let analysed = c.entries.len();
    let compiled = c.compiled().count();
    let _ = writeln!(
        out,
        "detections: {analysed} analysed, {} deprecated skipped, {} other YAML files not \
         detections",
        c.deprecated.len(),
        c.not_detections.len()
    );
    for d in &c.macro_dirs {
        let _ = writeln!(out, "macros: {}", d.display());
    }
    let _ = writeln!(out, "compiled: {compiled} of {analysed} ({})\n", percent(compiled, analysed));
    let _ = writeln!(out, "{:<40} {:>8} {:>6} {:>7}", "data set", "compiled", "total", "share");
    let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for e in &c.entries {
        let key = e.dataset.clone().unwrap_or_else(|| "(not a tstats search)".to_string());
        let slot = per.entry(key).or_default();
        slot.1 += 1;
        slot.0 += usize::from(e.outcome.is_ok());
    }
    let mut rows: Vec<_> = per.into_iter().collect();
    rows.sort_by(|a, b| b.1 .1.cmp(&a.1 .1).then(a.0.cmp(&b.0)));
    for (name, (ok, total)) in rows {
        let _ = writeln!(out, "{name:<40} {ok:>8} {total:>6} {:>7}", percent(ok, total));
    }
    let _ = writeln!(out, "\nnot compiled, by reason (the first refusal of each detection):");
    let _ = writeln!(out, "{:>6}  reason", "count");
    for (reason, n) in reasons(c) {
        let _ = writeln!(out, "{n:>6}  {}", visible(&reason));
    }
    out
}

/// Refusal reasons with their counts, most frequent first, then by name.
pub fn reasons(c: &Catalog) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in &c.entries {
        if let Err(err) = &e.outcome {
            *counts.entry(reason(err)).or_default() += 1;
        }
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// One tab-separated line per detection: path, name, `compiled` or its reason, and for a
/// refusal the whole message (its first line).
pub fn render_list(c: &Catalog) -> String {
    let mut out = String::new();
    for e in &c.entries {
        let name = e.detection.as_ref().map_or("?", |d| d.name.as_str());
        let (status, message) = match &e.outcome {
            Ok(_) => ("compiled".to_string(), String::new()),
            Err(err) => (reason(err), err.kind.to_string()),
        };
        let path = visible(&e.path.display().to_string());
        let (name, status, message) = (visible(name), visible(&status), visible(&message));
        let _ = writeln!(out, "{path}\t{name}\t{status}\t{message}");
    }
    out
}

fn percent(n: usize, of: usize) -> String {
    if of == 0 {
        return "-".to_string();
    }
    format!("{:.1}%", 100.0 * n as f64 / of as f64)
}

/// One indicator of the corpus: a field, an operator and a value (IN values count as `eq`;
/// values compare without ASCII case, as the filter does), with the rules that use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// The field as written.
    pub field: String,
    /// `eq`, `ne`, `lt`, ...; `not-eq` under a NOT.
    pub op: String,
    /// The value, lower-cased.
    pub value: String,
    /// How many compiled rules use it.
    pub rules: usize,
}

/// The indicators of the compiled rules, most used first.
pub fn indicators(c: &Catalog) -> Vec<Indicator> {
    let mut counts: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for (_, rule) in c.compiled() {
        let mut mine = std::collections::BTreeSet::new();
        for ind in &rule.plan.indicators {
            let op = if ind.op == "in" { "eq" } else { ind.op };
            let op = if ind.negated { format!("not-{op}") } else { op.to_string() };
            for v in &ind.values {
                mine.insert((ind.field.clone(), op.clone(), v.to_ascii_lowercase()));
            }
        }
        for key in mine {
            *counts.entry(key).or_default() += 1;
        }
    }
    let mut v: Vec<Indicator> = counts
        .into_iter()
        .map(|((field, op, value), rules)| Indicator { field, op, value, rules })
        .collect();
    v.sort_by(|a, b| {
        b.rules.cmp(&a.rules).then_with(|| (&a.field, &a.value).cmp(&(&b.field, &b.value)))
    });
    v
}

/// The indicator corpus, tab-separated: rules, field, operator, value.
pub fn render_indicators(list: &[Indicator]) -> String {
    let mut out = String::from("rules\tfield\top\tvalue\n");
    for i in list {
        let (field, value) = (visible(&i.field), visible(&i.value));
        let _ = writeln!(out, "{}\t{field}\t{}\t{value}", i.rules, i.op);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_is_read_from_the_tstats_line() {
        let s = "| tstats `x` count from datamodel=Endpoint.Registry where a=1";
        assert_eq!(dataset_of(s).as_deref(), Some("Endpoint.Registry"));
        assert_eq!(dataset_of("`sysmon` EventCode=1 | stats count"), None);
    }

    #[test]
    fn reasons_name_the_construct_not_the_place() {
        let e = |kind| CompileError::bare(kind);
        let a =
            reason(&e(CompileErrorKind::UnsupportedAggregate { name: "avg(Processes.x)".into() }));
        assert_eq!(a, "unsupported aggregate `avg()`");
        let f = reason(&e(CompileErrorKind::UnsupportedFunction {
            name: "mvfind() with 3 arguments".into(),
        }));
        assert_eq!(f, "unsupported eval function `mvfind()`");
        let c = reason(&e(CompileErrorKind::UnsupportedCommand { name: "Join".into() }));
        assert_eq!(c, "unsupported command `join`");
    }
}
