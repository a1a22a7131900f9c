//! `tsreplay test`: runs detections' unit tests offline, as contentctl runs them against a
//! Splunk: each test's attack data is replayed with its sourcetype, the search runs over it,
//! and contentctl's pass rule decides.
//!
//! Owns finding the local file for an attack_data URL, the pass rule and the outcomes. It
//! drives `engine` as the command line does and must not reach into the stages.

pub mod junit;

use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use crate::cim::Profile;
use crate::engine;
use crate::input::Format;
use crate::output::write::visible;
use crate::output::ResultTable;
use crate::spl::meta::{AttackData, Meta, TestSpec};
use crate::spl::{CompileError, Detection, MacroTable};

/// What every test of a run shares.
pub struct Setup<'a> {
    /// The macros (embedded plus `--macros`).
    pub macros: &'a MacroTable,
    /// The mapping profile.
    pub profile: &'a Profile,
    /// The local copy of the attack_data repository (or any folder holding the files).
    pub data_dir: PathBuf,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Apply contentctl's row-order check (Part B §9) instead of the any-row rule.
    pub strict: bool,
}

/// Why a test failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The search returned no row.
    NoRows,
    /// No row has every risk-object field set (not missing, not `null`).
    NoRowWithRisk {
        /// The risk-object fields.
        fields: Vec<String>,
    },
    /// Row-order check: this row (1-based) has a risk-object field missing or `null`.
    NullRiskObject {
        /// The row.
        row: usize,
        /// The field.
        field: String,
    },
    /// Row-order check: no row has every threat-object field set.
    NoThreatRow {
        /// The threat-object fields.
        fields: Vec<String>,
    },
}

/// Why a test was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// The data file is not under the data folder.
    DataMissing {
        /// The path looked for.
        wanted: PathBuf,
        /// The file name looked for anywhere under the folder.
        name: String,
        /// A file of that name in another folder, not used because the data folder is laid out
        /// as attack_data is (a `datasets` folder), where only the URL's path counts.
        elsewhere: Option<PathBuf>,
    },
    /// Several files of that name, none at the attack_data path, none closer than the others.
    Ambiguous {
        /// The file name.
        name: String,
        /// How many were found.
        count: usize,
    },
    /// An integration test (needs Enterprise Security).
    Integration(String),
    /// The detection is deprecated (contentctl does not test those).
    Deprecated,
}

/// Why a test could not give an answer.
#[derive(Debug, Clone)]
pub enum TestError {
    /// The detection does not compile.
    Compile(CompileError),
    /// The data file is a Git LFS pointer, not the data.
    LfsPointer(PathBuf),
    /// A sourcetype tsreplay does not read.
    Sourcetype(String),
    /// The test lists no attack data.
    NoAttackData,
    /// An attack_data path leaves the data folder (`..`).
    OutsideDataDir(String),
    /// Data files that could not be read, with the reasons.
    Unreadable(Vec<(PathBuf, String)>),
    /// The replay stopped before the end of the data (group limit, or interrupted).
    Stopped(engine::Stopped),
}

/// A test's outcome.
#[derive(Debug, Clone)]
pub enum Status {
    /// The pass rule holds.
    Pass,
    /// The pass rule fails.
    Fail(Failure),
    /// Not run.
    Skipped(Skip),
    /// No answer.
    Error(TestError),
}

/// One test, run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The detection's name.
    pub detection: String,
    /// The detection file.
    pub file: PathBuf,
    /// The test's name, numbered (`True Positive Test #2`).
    pub test: String,
    /// Pass, fail, skipped or error.
    pub status: Status,
    /// With the any-row rule passing, why the row-order check would fail.
    pub strict_would_fail: Option<Failure>,
    /// Result rows.
    pub rows: usize,
    /// Records read.
    pub events: u64,
    /// Wall-clock seconds of the replay.
    pub seconds: f64,
    /// The data files and how they were replayed (`path (sourcetype …, source …)`).
    pub data: Vec<String>,
    /// What the replay skipped or repaired (the run summary's issue counts).
    pub notes: Vec<String>,
}

impl Outcome {
    fn new(detection: &str, file: &Path, test: String, status: Status) -> Outcome {
        Outcome {
            detection: detection.to_string(),
            file: file.to_path_buf(),
            test,
            status,
            strict_would_fail: None,
            rows: 0,
            events: 0,
            seconds: 0.0,
            data: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Runs every test of one detection file.
pub fn run_file(path: &Path, setup: &Setup<'_>, names: &mut NameIndex) -> Vec<Outcome> {
    let fail_all = |name: &str, e: CompileError| {
        let status = Status::Error(TestError::Compile(e));
        vec![Outcome::new(name, path, "(detection)".into(), status)]
    };
    let det = match Detection::from_path(path) {
        Ok(d) => d,
        Err(e) => return fail_all(&path.display().to_string(), e),
    };
    let meta = match det.meta() {
        Ok(m) => m,
        Err(e) => return fail_all(&det.name, e),
    };
    let compiled = engine::compile(&det, setup.macros, setup.profile.clone());
    let mut out = Vec::new();
    for (i, spec) in meta.tests.iter().enumerate() {
        let test = format!("{} #{}", spec.name, i + 1);
        let mut o = Outcome::new(&det.name, path, test, Status::Pass);
        o.status = if det.status.as_deref() == Some("deprecated") {
            Status::Skipped(Skip::Deprecated)
        } else if !spec.kind.eq_ignore_ascii_case("unit") {
            Status::Skipped(Skip::Integration(spec.kind.clone()))
        } else {
            match &compiled {
                Ok(c) => run_test(spec, &meta, c, setup, names, &mut o),
                Err(e) => Status::Error(TestError::Compile(e.clone())),
            }
        };
        out.push(o);
    }
    out
}

/// The data of one test: paths, formats forced by sourcetype, and their descriptions.
struct TestData {
    paths: Vec<PathBuf>,
    forced: Vec<(PathBuf, Format)>,
    described: Vec<String>,
}

fn test_data(spec: &TestSpec, dir: &Path, names: &mut NameIndex) -> Result<TestData, Status> {
    if spec.attack_data.is_empty() {
        return Err(Status::Error(TestError::NoAttackData));
    }
    let mut data = TestData { paths: Vec::new(), forced: Vec::new(), described: Vec::new() };
    for a in &spec.attack_data {
        let (path, format) = locate(a, dir, names)?;
        data.described.push(describe_data(&path, a));
        if let Some(f) = format {
            data.forced.push((path.clone(), f));
        }
        data.paths.push(path);
    }
    Ok(data)
}

/// Replays one test's data and applies the pass rule; fills the counts into `o`.
fn run_test(
    spec: &TestSpec,
    meta: &Meta,
    compiled: &engine::Compiled,
    setup: &Setup<'_>,
    names: &mut NameIndex,
    o: &mut Outcome,
) -> Status {
    let data = match test_data(spec, &setup.data_dir, names) {
        Ok(d) => d,
        Err(status) => return status,
    };
    o.data = data.described;
    let opts = engine::Options {
        threads: setup.threads,
        forced_paths: data.forced,
        max_groups: engine::default_max_groups(compiled.plan.by.len()),
        ..engine::Options::default()
    };
    let report = engine::run(compiled, &data.paths, &opts);
    o.rows = report.table.rows.len();
    o.events = report.summary.stats.records;
    o.seconds = report.summary.seconds;
    let stats = &report.summary.stats;
    o.notes = stats.issue_counts().iter().map(|(i, n)| format!("{}: {n}", i.label())).collect();
    if stats.records > 0 && stats.process_events == 0 {
        o.notes.push(format!("no process-creation event among the {} records", stats.records));
    }
    if !report.summary.failed.is_empty() {
        return Status::Error(TestError::Unreadable(report.summary.failed));
    }
    if let Some(why) = report.stopped {
        return Status::Error(TestError::Stopped(why));
    }
    let row_order = judge_row_order(meta, &report.table);
    if setup.strict {
        return row_order.map_or(Status::Pass, Status::Fail);
    }
    let any_row = judge_any_row(meta, &report.table);
    if any_row.is_none() {
        o.strict_would_fail = row_order;
    }
    any_row.map_or(Status::Pass, Status::Fail)
}

fn describe_data(path: &Path, a: &AttackData) -> String {
    let mut s = path.display().to_string();
    let st = a.sourcetype.as_deref().unwrap_or("recognised from content");
    s.push_str(&format!(" (sourcetype {st}"));
    if let Some(src) = &a.source {
        s.push_str(&format!(", source {src}"));
    }
    s.push(')');
    s
}

/// Finds the local file for an attack_data entry and the format its sourcetype forces.
fn locate(
    a: &AttackData,
    dir: &Path,
    names: &mut NameIndex,
) -> Result<(PathBuf, Option<Format>), Status> {
    let format = match &a.sourcetype {
        Some(st) => Some(
            Format::from_sourcetype(st)
                .ok_or_else(|| Status::Error(TestError::Sourcetype(st.clone())))?,
        ),
        None => None,
    };
    let rel = relative_path(&a.data);
    if rel.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(Status::Error(TestError::OutsideDataDir(a.data.clone())));
    }
    let wanted = dir.join(&rel);
    let path = if wanted.is_file() { wanted } else { by_name(dir, &rel, wanted, names)? };
    if is_lfs_pointer(&path) {
        return Err(Status::Error(TestError::LfsPointer(path)));
    }
    Ok((path, format))
}

/// The file for `rel` found by name when it is not at its path: among the files of that name,
/// the one sharing the most trailing folders with `rel`. In an attack_data tree (a `datasets`
/// folder under `dir`) a match on the name alone is not taken, because attack_data reuses
/// names such as `windows-sysmon.log` in hundreds of folders.
fn by_name(
    dir: &Path,
    rel: &Path,
    wanted: PathBuf,
    names: &mut NameIndex,
) -> Result<PathBuf, Status> {
    let name = rel.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    let shown = name.to_string_lossy().into_owned();
    let candidates = names.find(dir, &name);
    let shared = |p: &Path| {
        let inside = p.strip_prefix(dir).unwrap_or(p);
        inside.components().rev().zip(rel.components().rev()).take_while(|(a, b)| a == b).count()
    };
    let best = candidates.iter().map(|p| shared(p)).max().unwrap_or(0);
    let top: Vec<&PathBuf> = candidates.iter().filter(|p| shared(p) == best).collect();
    match top.as_slice() {
        [] => Err(Status::Skipped(Skip::DataMissing { wanted, name: shown, elsewhere: None })),
        [one] if best <= 1 && dir.join("datasets").is_dir() => {
            let elsewhere = Some((*one).clone());
            Err(Status::Skipped(Skip::DataMissing { wanted, name: shown, elsewhere }))
        }
        [one] => Ok((*one).clone()),
        many => Err(Status::Skipped(Skip::Ambiguous { name: shown, count: many.len() })),
    }
}

/// The path of a data URL inside the attack_data repository (after `attack_data/master/`),
/// else the URL's path, percent-decoded; a plain path stays as it is.
fn relative_path(data: &str) -> PathBuf {
    let after_repo = data.split_once("attack_data/master/").map(|(_, rest)| rest);
    let rest = after_repo.unwrap_or_else(|| match data.split_once("://") {
        Some((_, url)) => url.split_once('/').map_or("", |(_, p)| p),
        None => data,
    });
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    PathBuf::from(percent_decode(rest.trim_start_matches('/')))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a file is a Git LFS pointer (the repository was cloned without the LFS objects).
fn is_lfs_pointer(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    head[..n].starts_with(b"version https://git-lfs.github.com/spec/")
}

/// Files under a data folder by name, built on first use.
#[derive(Default)]
pub struct NameIndex {
    built: HashMap<PathBuf, HashMap<OsString, Vec<PathBuf>>>,
}

impl NameIndex {
    /// The files named `name` anywhere under `dir`.
    pub fn find(&mut self, dir: &Path, name: &OsString) -> &[PathBuf] {
        let index = self.built.entry(dir.to_path_buf()).or_insert_with(|| {
            let mut map: HashMap<OsString, Vec<PathBuf>> = HashMap::new();
            walk_files(dir, 0, &mut |p| {
                if let Some(n) = p.file_name() {
                    map.entry(n.to_os_string()).or_default().push(p.to_path_buf());
                }
            });
            map
        });
        index.get(name).map_or(&[], Vec::as_slice)
    }
}

/// Calls `f` for every regular file under `dir` (symlinked folders are not followed, so no
/// loop; at most 64 levels).
fn walk_files(dir: &Path, depth: usize, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let Ok(kind) = e.file_type() else { continue };
        let path = e.path();
        if kind.is_dir() && depth < 64 {
            walk_files(&path, depth + 1, f);
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            f(&path);
        }
    }
}

/// Whether a row's value of `field` counts as missing for contentctl: no such column, empty,
/// or the string `null`.
fn is_null(table: &ResultTable, row: &[String], field: &str) -> bool {
    match table.columns.iter().position(|c| c == field) {
        Some(i) => row[i].is_empty() || row[i] == "null",
        None => true,
    }
}

fn unique_fields<'m>(fields: impl Iterator<Item = &'m String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in fields {
        if !out.contains(f) {
            out.push(f.clone());
        }
    }
    out
}

/// The pass rule as the issue states contentctl's: at least one row, and, when the detection
/// declares risk, a row whose risk-object fields are all set. `None` is a pass.
pub fn judge_any_row(meta: &Meta, table: &ResultTable) -> Option<Failure> {
    if table.rows.is_empty() {
        return Some(Failure::NoRows);
    }
    let risk = unique_fields(meta.entities.iter().map(|e| &e.field));
    if risk.is_empty() {
        return None;
    }
    let ok = table.rows.iter().any(|r| risk.iter().all(|f| !is_null(table, r, f)));
    (!ok).then_some(Failure::NoRowWithRisk { fields: risk })
}

/// contentctl's row-order check (Part B §9): rows in order; a row with a risk-object field
/// missing or `null` fails the test at once; the first row whose threat-object fields are all
/// set passes it. `None` is a pass.
pub fn judge_row_order(meta: &Meta, table: &ResultTable) -> Option<Failure> {
    if table.rows.is_empty() {
        return Some(Failure::NoRows);
    }
    let risk = unique_fields(meta.entities.iter().map(|e| &e.field));
    if risk.is_empty() {
        return None;
    }
    let threats = unique_fields(meta.threats.iter().map(|t| &t.field));
    for (i, row) in table.rows.iter().enumerate() {
        if let Some(f) = risk.iter().find(|f| is_null(table, row, f)) {
            return Some(Failure::NullRiskObject { row: i + 1, field: f.clone() });
        }
        if threats.iter().all(|f| !is_null(table, row, f)) {
            return None;
        }
    }
    Some(Failure::NoThreatRow { fields: threats })
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NoRows => write!(f, "the search returned no row"),
            Failure::NoRowWithRisk { fields } => {
                write!(f, "no row has every risk-object field set ({})", fields.join(", "))
            }
            Failure::NullRiskObject { row, field } => {
                write!(f, "row {row} has risk-object field `{field}` missing or null")
            }
            Failure::NoThreatRow { fields } => {
                write!(f, "no row has every threat-object field set ({})", fields.join(", "))
            }
        }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::DataMissing { wanted, name, elsewhere: None } => write!(
                f,
                "data missing: no {} and no file named {name} under the data folder",
                wanted.display()
            ),
            Skip::DataMissing { wanted, elsewhere: Some(other), .. } => write!(
                f,
                "data missing: no {}; {} has the same name but sits in another folder of this \
                 attack_data tree, so it is not taken for it",
                wanted.display(),
                other.display()
            ),
            Skip::Ambiguous { name, count } => write!(
                f,
                "data missing: {count} files named {name} under the data folder, none at the \
                 attack_data path and none closer to it than the others"
            ),
            Skip::Integration(kind) => write!(f, "{kind} test: needs Enterprise Security"),
            Skip::Deprecated => write!(f, "deprecated detection"),
        }
    }
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestError::Compile(e) => write!(f, "{e}"),
            TestError::LfsPointer(p) => write!(
                f,
                "{} is a Git LFS pointer, not the data (fetch the LFS objects, e.g. `git lfs \
                 pull`)",
                p.display()
            ),
            TestError::Sourcetype(st) => write!(f, "sourcetype `{st}` is not one tsreplay reads"),
            TestError::NoAttackData => write!(f, "the test lists no attack_data"),
            TestError::OutsideDataDir(d) => write!(f, "attack_data `{d}` leaves the data folder"),
            TestError::Stopped(engine::Stopped::MaxGroups(n)) => {
                write!(f, "the replay reached the group limit ({n}); no verdict")
            }
            TestError::Stopped(engine::Stopped::Interrupted) => write!(f, "interrupted"),
            TestError::Unreadable(list) => {
                let parts: Vec<String> =
                    list.iter().map(|(p, why)| format!("{}: {why}", p.display())).collect();
                write!(f, "data not read: {}", parts.join("; "))
            }
        }
    }
}

impl Status {
    /// `PASS`, `FAIL`, `SKIP` or `ERROR`.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail(_) => "FAIL",
            Status::Skipped(_) => "SKIP",
            Status::Error(_) => "ERROR",
        }
    }

    /// Why, for anything but a pass.
    pub fn detail(&self) -> Option<String> {
        match self {
            Status::Pass => None,
            Status::Fail(f) => Some(f.to_string()),
            Status::Skipped(s) => Some(s.to_string()),
            Status::Error(e) => Some(e.to_string()),
        }
    }
}

/// Detection files under the given paths: files as given, and from folders (walked in name
/// order) the `.yml` and `.yaml` files that look like detections. The other YAML files found in
/// folders (macros, data sources, configuration) are returned apart, to be named.
pub fn detection_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let (mut found, mut others) = (Vec::new(), Vec::new());
    for p in paths {
        if !p.is_dir() {
            found.push(p.clone());
            continue;
        }
        walk_files(p, 0, &mut |f| {
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !(ext.eq_ignore_ascii_case("yml") || ext.eq_ignore_ascii_case("yaml")) {
                return;
            }
            match looks_like_detection(f) {
                true => found.push(f.to_path_buf()),
                false => others.push(f.to_path_buf()),
            }
        });
    }
    (found, others)
}

/// Whether a YAML file looks like a detection: a map with `search`, `tests`, or `name` and
/// `id` with a detection's `status`, `tags` or `data_source` (so that a detection with a
/// typo in `search` is reported, not passed over, while macros and data sources are). A file that
/// cannot be read or parsed counts as one, so that its error is reported where its tests
/// would be.
fn looks_like_detection(path: &Path) -> bool {
    use crate::spl::rule::{parse_yaml, read_text_file};
    let Ok(text) = read_text_file(path) else { return true };
    match parse_yaml(&text) {
        Ok(v) => {
            let has = |k: &str| v.get(k).is_some();
            let detection_keys = has("status") || has("tags") || has("data_source");
            has("search") || has("tests") || (has("name") && has("id") && detection_keys)
        }
        Err(_) => true,
    }
}

/// The report: one line per test, the data it read, the YAML files that are not detections,
/// and the totals.
pub fn render(outcomes: &[Outcome], not_detections: &[PathBuf]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from("tsreplay test\n");
    if outcomes.is_empty() {
        let _ = writeln!(out, "  no test found: the detections given have no `tests:` entries");
    }
    for o in outcomes {
        let _ = writeln!(
            out,
            "  {:<5}  {}: {}  ({} row{}, {} events, {:.3} s)",
            o.status.label(),
            visible(&o.detection),
            visible(&o.test),
            o.rows,
            if o.rows == 1 { "" } else { "s" },
            o.events,
            o.seconds
        );
        if let Some(d) = o.status.detail() {
            for line in d.lines() {
                let _ = writeln!(out, "         {}", visible(line));
            }
        }
        if let Some(f) = &o.strict_would_fail {
            let f = visible(&f.to_string());
            let _ =
                writeln!(out, "         note: contentctl's row-order check (--strict) fails: {f}");
        }
        for d in &o.data {
            let _ = writeln!(out, "         data: {}", visible(d));
        }
        for n in &o.notes {
            let _ = writeln!(out, "         replay: {n}");
        }
    }
    if !not_detections.is_empty() {
        let names: Vec<String> =
            not_detections.iter().take(5).map(|p| p.display().to_string()).collect();
        let more = not_detections.len().saturating_sub(5);
        let _ = writeln!(
            out,
            "  note: {} YAML files in the folders are not detections (no `search` or `tests`), \
             not run: \
             {}{}",
            not_detections.len(),
            visible(&names.join(", ")),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        );
    }
    let count = |l: &str| outcomes.iter().filter(|o| o.status.label() == l).count();
    let _ = writeln!(
        out,
        "{} tests: {} passed, {} failed, {} skipped, {} errors",
        outcomes.len(),
        count("PASS"),
        count("FAIL"),
        count("SKIP"),
        count("ERROR")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spl::meta::{Entity, ThreatObject};

    fn table(rows: &[&[&str]]) -> ResultTable {
        ResultTable {
            columns: vec!["user".into(), "dest".into(), "process_name".into()],
            rows: rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect(),
            multivalue: vec![false; 3],
        }
    }

    fn meta() -> Meta {
        let entity =
            |f: &str| Entity { field: f.into(), kind: "x".into(), score: None, message: None };
        Meta {
            entities: vec![entity("user"), entity("dest")],
            threats: vec![ThreatObject { field: "process_name".into(), kind: "p".into() }],
            ..Meta::default()
        }
    }

    #[test]
    fn url_paths_inside_attack_data() {
        let u = "https://media.githubusercontent.com/media/splunk/attack_data/master/datasets/\
                 attack_techniques/T1197/atomic_red_team/windows-sysmon.log";
        assert_eq!(
            relative_path(u),
            PathBuf::from("datasets/attack_techniques/T1197/atomic_red_team/windows-sysmon.log")
        );
        assert_eq!(relative_path("https://h/a/b%20c.log?x=1"), PathBuf::from("a/b c.log"));
        assert_eq!(relative_path("local/x.log"), PathBuf::from("local/x.log"));
    }

    #[test]
    fn any_row_rule() {
        assert_eq!(judge_any_row(&meta(), &table(&[])), Some(Failure::NoRows));
        let t = table(&[&["null", "h", "p"], &["u", "h", "p"]]);
        assert_eq!(judge_any_row(&meta(), &t), None);
        let t = table(&[&["null", "h", "p"], &["u", "", "p"]]);
        assert!(matches!(judge_any_row(&meta(), &t), Some(Failure::NoRowWithRisk { .. })));
        // No risk declared: one row is enough.
        assert_eq!(judge_any_row(&Meta::default(), &t), None);
    }

    #[test]
    fn row_order_rule() {
        let t = table(&[&["null", "h", "p"], &["u", "h", "p"]]);
        assert_eq!(
            judge_row_order(&meta(), &t),
            Some(Failure::NullRiskObject { row: 1, field: "user".into() })
        );
        let t = table(&[&["u", "h", "null"], &["u", "h", "p"]]);
        assert_eq!(judge_row_order(&meta(), &t), None);
        let t = table(&[&["u", "h", "null"]]);
        assert!(matches!(judge_row_order(&meta(), &t), Some(Failure::NoThreatRow { .. })));
    }
}
