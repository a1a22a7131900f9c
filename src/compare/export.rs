//! Reads result files into tables: Splunk's exports (CSV from the UI or REST, REST results
//! JSON, export JSON lines) and tsreplay's own `--format csv` and `--format json` output, and
//! Splunk's job statistics (the REST job JSON).
//!
//! Owns recognising a file's shape and turning every cell into text: a multivalue cell is its
//! values joined by a newline, as Splunk's CSV writes it, so the three shapes compare equal.
//! It must not compare rows.

use std::fmt;
use std::path::Path;

use serde_json::Value;

use crate::output::ResultTable;

/// The largest result or job file read, in bytes.
const MAX_EXPORT: u64 = 1 << 30;

/// The most distinct columns a result table may have.
pub const MAX_COLUMNS: usize = 4096;

/// The most cells (rows times columns) read.
pub const MAX_CELLS: usize = 100_000_000;

/// The shapes a result file can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// CSV with a header row (Splunk's UI or REST export, or `tsreplay --format csv`).
    Csv,
    /// REST results JSON: one object with a `results` array.
    ResultsJson,
    /// REST export JSON: one `{"result": {...}}` object per line.
    ExportLines,
    /// One flat object per line (`tsreplay --format json`).
    JsonLines,
    /// A JSON array of flat objects.
    JsonArray,
}

impl ExportKind {
    /// A name for reports.
    pub fn name(self) -> &'static str {
        match self {
            ExportKind::Csv => "CSV",
            ExportKind::ResultsJson => "REST results JSON",
            ExportKind::ExportLines => "export JSON lines",
            ExportKind::JsonLines => "JSON lines",
            ExportKind::JsonArray => "JSON array",
        }
    }
}

/// Splunk's statistics for the search job that made an export.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobStats {
    /// `runDuration`, seconds.
    pub run_duration: Option<f64>,
    /// `scanCount`: events scanned.
    pub scan_count: Option<u64>,
    /// `eventCount`: events matched by the search's first part.
    pub event_count: Option<u64>,
    /// `resultCount`: rows returned.
    pub result_count: Option<u64>,
}

impl JobStats {
    fn is_empty(&self) -> bool {
        *self == JobStats::default()
    }
}

/// A result file read into a table.
#[derive(Debug, Clone)]
pub struct Export {
    /// Its shape.
    pub kind: ExportKind,
    /// Its columns and rows, every cell as text.
    pub table: ResultTable,
    /// Job statistics the file carries, if any.
    pub job: Option<JobStats>,
    /// The file held nothing at all: read as a search that found nothing (Splunk's CSV
    /// export of no results is an empty file).
    pub empty_file: bool,
    /// The file held invalid UTF-8, read as U+FFFD: values that differ only there compare
    /// equal.
    pub invalid_utf8: bool,
}

/// Why a result or job file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub kind: ExportErrorKind,
}

/// The ways a result or job file can be unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportErrorKind {
    /// The file cannot be read (or is not a regular file, or is larger than 1 GiB).
    Read(String),
    /// The CSV is malformed.
    Csv {
        /// 1-based line.
        line: u64,
        /// The parser's words.
        reason: String,
    },
    /// A JSON line or document is malformed.
    Json {
        /// 1-based line (1 for a whole document).
        line: usize,
        /// The parser's words.
        reason: String,
    },
    /// Valid JSON, but no rows in any known shape.
    NotResults(&'static str),
    /// tsreplay's aligned table output, which is for people.
    AlignedTable,
    /// A job file without `runDuration`, `scanCount`, `eventCount` or `resultCount`.
    NoJobStats,
    /// The export carries Splunk's own error: the search failed, its rows mean nothing.
    SplunkError(String),
    /// Two columns have the same name.
    DuplicateColumn(String),
    /// More distinct columns than a result table can sensibly have.
    TooManyColumns,
    /// More cells (rows times columns) than the reader holds.
    TooManyCells,
}

impl fmt::Display for ExportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ExportErrorKind::*;
        write!(f, "{}: ", self.path)?;
        match &self.kind {
            Read(e) => write!(f, "cannot read: {e}"),
            Csv { line, reason } => write!(f, "malformed CSV at line {line}: {reason}"),
            Json { line, reason } => write!(f, "malformed JSON at line {line}: {reason}"),
            NotResults(what) => write!(f, "JSON without result rows ({what})"),
            AlignedTable => write!(
                f,
                "this is tsreplay's table output; write results with --format csv or --format json"
            ),
            NoJobStats => write!(
                f,
                "no job statistics (runDuration, scanCount, eventCount, resultCount) found"
            ),
            SplunkError(m) => write!(f, "the Splunk search failed: {m}"),
            DuplicateColumn(c) => write!(f, "column `{c}` appears twice"),
            TooManyColumns => write!(f, "more than {MAX_COLUMNS} distinct columns"),
            TooManyCells => write!(f, "more than {MAX_CELLS} cells (rows times columns)"),
        }
    }
}

impl std::error::Error for ExportError {}

/// Reads a result file.
pub fn read(path: &Path) -> Result<Export, ExportError> {
    let fail = |kind| ExportError { path: path.display().to_string(), kind };
    let (text, invalid_utf8) = read_text(path).map_err(fail)?;
    let mut export = parse(&text).map_err(fail)?;
    export.invalid_utf8 = invalid_utf8;
    Ok(export)
}

/// Reads job statistics from a REST job JSON file (`/services/search/jobs/<sid>`).
pub fn read_job(path: &Path) -> Result<JobStats, ExportError> {
    let fail = |kind| ExportError { path: path.display().to_string(), kind };
    let (text, _) = read_text(path).map_err(fail)?;
    let value: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| fail(ExportErrorKind::Json { line: e.line(), reason: e.to_string() }))?;
    job_stats(&value).ok_or_else(|| fail(ExportErrorKind::NoJobStats))
}

/// The file's text, and whether it held invalid UTF-8.
fn read_text(path: &Path) -> Result<(String, bool), ExportErrorKind> {
    let bytes = crate::input::read_regular(path, MAX_EXPORT, "1 GiB")
        .map_err(|e| ExportErrorKind::Read(e.to_string()))?;
    // An export is text; a stray invalid byte should not make it unreadable.
    match String::from_utf8(bytes) {
        Ok(t) => Ok((t, false)),
        Err(e) => Ok((String::from_utf8_lossy(e.as_bytes()).into_owned(), true)),
    }
}

/// Recognises the shape of `text` and reads it.
pub fn parse(text: &str) -> Result<Export, ExportErrorKind> {
    let text = text.trim_start_matches('\u{feff}');
    let start = text.trim_start();
    if start.is_empty() {
        let table = ResultTable::default();
        return Ok(Export {
            kind: ExportKind::Csv,
            table,
            job: None,
            empty_file: true,
            invalid_utf8: false,
        });
    }
    match start.as_bytes()[0] {
        b'{' => parse_json_object_text(start),
        b'[' => parse_json_array(start),
        _ => parse_csv(text),
    }
}

/// A whole-file JSON object (REST results, a single row) or JSON lines.
fn parse_json_object_text(text: &str) -> Result<Export, ExportErrorKind> {
    if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) {
        if obj.contains_key("results") {
            return results_json(&Value::Object(obj));
        }
        if obj.contains_key("entry") && !obj.contains_key("result") {
            return Err(ExportErrorKind::NotResults("a job document: pass it with --job"));
        }
    }
    json_lines(text)
}

/// Splunk's FATAL or ERROR messages in a `messages` array, joined.
fn splunk_error(obj: &Value) -> Option<String> {
    let msgs = obj.get("messages")?.as_array()?;
    let bad: Vec<String> = msgs
        .iter()
        .filter(|m| {
            let t = m.get("type").and_then(Value::as_str).unwrap_or("");
            t.eq_ignore_ascii_case("fatal") || t.eq_ignore_ascii_case("error")
        })
        .map(|m| m.get("text").and_then(Value::as_str).unwrap_or("(no text)").to_string())
        .collect();
    (!bad.is_empty()).then(|| bad.join("; "))
}

fn results_json(doc: &Value) -> Result<Export, ExportErrorKind> {
    if let Some(e) = splunk_error(doc) {
        return Err(ExportErrorKind::SplunkError(e));
    }
    let Some(results) = doc.get("results").and_then(Value::as_array) else {
        return Err(ExportErrorKind::NotResults("`results` is not an array"));
    };
    let mut rows = RowBuilder::default();
    if let Some(fields) = doc.get("fields").and_then(Value::as_array) {
        for f in fields {
            let name = f.as_str().or_else(|| f.get("name").and_then(Value::as_str));
            if let Some(name) = name {
                rows.column(name)?;
            }
        }
    }
    for r in results {
        let Some(obj) = r.as_object() else {
            return Err(ExportErrorKind::NotResults("a result that is not an object"));
        };
        rows.push(obj)?;
    }
    let job = job_stats(doc);
    Ok(Export {
        kind: ExportKind::ResultsJson,
        table: rows.finish()?,
        job,
        empty_file: false,
        invalid_utf8: false,
    })
}

/// The keys of an export's lines that carry no row.
const FRAMING: &[&str] =
    &["preview", "offset", "lastrow", "messages", "init_offset", "highlighted", "fields"];

fn json_lines(text: &str) -> Result<Export, ExportErrorKind> {
    let mut rows = RowBuilder::default();
    let mut final_rows = RowBuilder::default();
    let (mut export_lines, mut plain, mut previews) = (0usize, 0usize, 0usize);
    let mut job = JobStats::default();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| ExportErrorKind::Json { line: i + 1, reason: e.to_string() })?;
        let Some(obj) = value.as_object() else {
            let reason = "a line that is not a JSON object".to_string();
            return Err(ExportErrorKind::Json { line: i + 1, reason });
        };
        if let Some(result) = obj.get("result") {
            let Some(result) = result.as_object() else {
                let reason = "`result` is not an object".to_string();
                return Err(ExportErrorKind::Json { line: i + 1, reason });
            };
            export_lines += 1;
            // Preview lines of a streaming export are superseded by the final ones.
            if obj.get("preview").and_then(Value::as_bool) == Some(true) {
                previews += 1;
                rows.push(result)?;
            } else {
                final_rows.push(result)?;
            }
        } else if let Some(row) = obj.get("row").and_then(Value::as_object) {
            // tsreplay's `--findings` JSON lines: the row beside its finding.
            plain += 1;
            final_rows.push(row)?;
        } else if obj.keys().all(|k| FRAMING.contains(&k.as_str())) {
            // An export's framing line without a row (`lastrow`, messages).
            if let Some(e) = splunk_error(&value) {
                return Err(ExportErrorKind::SplunkError(e));
            }
            merge_job(&mut job, &value);
        } else {
            plain += 1;
            final_rows.push(obj)?;
        }
    }
    // Framing lines only: an export of a search that found nothing.
    let kind = if export_lines > 0 || plain == 0 {
        ExportKind::ExportLines
    } else {
        ExportKind::JsonLines
    };
    let only_previews = previews == export_lines && plain == 0;
    let table = if only_previews { rows.finish()? } else { final_rows.finish()? };
    Ok(Export {
        kind,
        table,
        job: (!job.is_empty()).then_some(job),
        empty_file: false,
        invalid_utf8: false,
    })
}

fn parse_json_array(text: &str) -> Result<Export, ExportErrorKind> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ExportErrorKind::Json { line: e.line(), reason: e.to_string() })?;
    let mut rows = RowBuilder::default();
    for r in value.as_array().into_iter().flatten() {
        let Some(obj) = r.as_object() else {
            return Err(ExportErrorKind::NotResults("an array element that is not an object"));
        };
        rows.push(obj)?;
    }
    Ok(Export {
        kind: ExportKind::JsonArray,
        table: rows.finish()?,
        job: None,
        empty_file: false,
        invalid_utf8: false,
    })
}

/// Collects JSON row objects into a table: columns in first-seen order, a missing key an
/// empty cell. Rows are kept sparse until the end, and the table is bounded.
#[derive(Default)]
struct RowBuilder {
    columns: Vec<String>,
    index: std::collections::HashMap<String, usize>,
    rows: Vec<Vec<(usize, String)>>,
}

impl RowBuilder {
    fn column(&mut self, name: &str) -> Result<usize, ExportErrorKind> {
        if let Some(i) = self.index.get(name) {
            return Ok(*i);
        }
        if self.columns.len() >= MAX_COLUMNS {
            return Err(ExportErrorKind::TooManyColumns);
        }
        self.columns.push(name.to_string());
        self.index.insert(name.to_string(), self.columns.len() - 1);
        Ok(self.columns.len() - 1)
    }

    fn push(&mut self, obj: &serde_json::Map<String, Value>) -> Result<(), ExportErrorKind> {
        let mut row = Vec::with_capacity(obj.len());
        for (k, v) in obj {
            row.push((self.column(k)?, cell_text(v)));
        }
        self.rows.push(row);
        Ok(())
    }

    fn finish(self) -> Result<ResultTable, ExportErrorKind> {
        let n = self.columns.len();
        if n.saturating_mul(self.rows.len()) > MAX_CELLS {
            return Err(ExportErrorKind::TooManyCells);
        }
        let rows = self
            .rows
            .into_iter()
            .map(|sparse| {
                let mut row = vec![String::new(); n];
                for (i, v) in sparse {
                    row[i] = v;
                }
                row
            })
            .collect();
        Ok(ResultTable { columns: self.columns, rows, ..Default::default() })
    }
}

/// A JSON value as a cell: strings as they are, arrays (multivalue) joined by newlines,
/// numbers and booleans as written, null as empty.
fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(cell_text).collect::<Vec<_>>().join("\n"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Object(_) => v.to_string(),
    }
}

fn parse_csv(text: &str) -> Result<Export, ExportErrorKind> {
    if looks_aligned(text) {
        return Err(ExportErrorKind::AlignedTable);
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let csv_error = |e: csv::Error| {
        let line = e.position().map_or(0, |p| p.line());
        ExportErrorKind::Csv { line, reason: e.to_string() }
    };
    let header: Vec<String> =
        reader.headers().map_err(csv_error)?.iter().map(str::to_string).collect();
    if header.len() > MAX_COLUMNS {
        return Err(ExportErrorKind::TooManyColumns);
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = header.iter().find(|h| !seen.insert(h.as_str())) {
        return Err(ExportErrorKind::DuplicateColumn(dup.clone()));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        if (rows.len() + 1).saturating_mul(header.len()) > MAX_CELLS {
            return Err(ExportErrorKind::TooManyCells);
        }
        rows.push(record.iter().map(str::to_string).collect::<Vec<_>>());
    }
    let table = fold_mv_columns(header, rows);
    Ok(Export { kind: ExportKind::Csv, table, job: None, empty_file: false, invalid_utf8: false })
}

/// Whether the text is tsreplay's aligned table: a second line of dashes and spaces only.
fn looks_aligned(text: &str) -> bool {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let second = lines.next().unwrap_or("");
    !first.contains(',')
        && second.contains("--  ")
        && second.bytes().all(|b| b == b'-' || b == b' ')
}

/// Splunk's result CSVs may carry `__mv_<field>` companions holding `$v1$;$v2$`: a non-empty
/// one replaces its field's cell, and the companion columns are dropped.
fn fold_mv_columns(header: Vec<String>, rows: Vec<Vec<String>>) -> ResultTable {
    let mv: Vec<(usize, usize)> = header
        .iter()
        .enumerate()
        .filter_map(|(i, h)| {
            let base = h.strip_prefix("__mv_")?;
            header.iter().position(|c| c == base).map(|b| (i, b))
        })
        .collect();
    if mv.is_empty() {
        return ResultTable { columns: header, rows, ..Default::default() };
    }
    let keep: Vec<usize> = (0..header.len()).filter(|i| !mv.iter().any(|(m, _)| m == i)).collect();
    let rows = rows
        .into_iter()
        .map(|mut r| {
            for (m, b) in &mv {
                if let Some(values) = r.get(*m).filter(|v| !v.is_empty()).map(|v| decode_mv(v)) {
                    r[*b] = values;
                }
            }
            keep.iter().map(|i| r.get(*i).cloned().unwrap_or_default()).collect()
        })
        .collect();
    let columns = keep.iter().map(|i| header[*i].clone()).collect();
    ResultTable { columns, rows, ..Default::default() }
}

/// `$a$;$b$` → `a\nb`; `$$` inside a value is one `$`.
fn decode_mv(text: &str) -> String {
    let mut values = Vec::new();
    let mut cur = String::new();
    let mut inside = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, inside) {
            ('$', true) if chars.peek() == Some(&'$') => {
                chars.next();
                cur.push('$');
            }
            ('$', true) => {
                values.push(std::mem::take(&mut cur));
                inside = false;
            }
            ('$', false) => inside = true,
            (c, true) => cur.push(c),
            (_, false) => {}
        }
    }
    values.join("\n")
}

/// Job statistics from a REST job document (`entry[0].content`) or from top-level keys.
fn job_stats(doc: &Value) -> Option<JobStats> {
    let mut stats = JobStats::default();
    merge_job(&mut stats, doc);
    if let Some(content) = doc.pointer("/entry/0/content") {
        merge_job(&mut stats, content);
    }
    if let Some(job) = doc.get("job") {
        merge_job(&mut stats, job);
        if let Some(content) = job.pointer("/entry/0/content") {
            merge_job(&mut stats, content);
        }
    }
    (!stats.is_empty()).then_some(stats)
}

fn merge_job(stats: &mut JobStats, v: &Value) {
    let num = |key: &str| -> Option<f64> {
        match v.get(key)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let count = |key: &str| num(key).filter(|n| n.is_finite() && *n >= 0.0).map(|n| n as u64);
    let duration = num("runDuration").filter(|d| d.is_finite() && *d >= 0.0);
    stats.run_duration = stats.run_duration.or(duration);
    stats.scan_count = stats.scan_count.or(count("scanCount"));
    stats.event_count = stats.event_count.or(count("eventCount"));
    stats.result_count = stats.result_count.or(count("resultCount"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_multivalue_cells_and_mv_companions() {
        let e = parse("a,b\n\"x\ny\",2\n").unwrap();
        assert_eq!(e.kind, ExportKind::Csv);
        assert_eq!(e.table.rows, [["x\ny", "2"]]);
        let e = parse("a,__mv_a,b\nx,$p$;$q$$r$,1\nz,,2\n").unwrap();
        assert_eq!(e.table.columns, ["a", "b"]);
        assert_eq!(e.table.rows, [["p\nq$r", "1"], ["z", "2"]]);
    }

    #[test]
    fn results_json_uses_fields_order_and_arrays() {
        let doc = r#"{"preview":false,"fields":[{"name":"b"},{"name":"a"}],
            "results":[{"a":"1","b":["x","y"]},{"a":2}]}"#;
        let e = parse(doc).unwrap();
        assert_eq!(e.kind, ExportKind::ResultsJson);
        assert_eq!(e.table.columns, ["b", "a"]);
        assert_eq!(e.table.rows, [["x\ny", "1"], ["", "2"]]);
    }

    #[test]
    fn export_lines_skip_framing_and_previews() {
        let text = "{\"preview\":true,\"offset\":0,\"result\":{\"a\":\"old\"}}\n\
                    {\"preview\":false,\"offset\":0,\"result\":{\"a\":\"1\"}}\n\
                    {\"preview\":false,\"offset\":1,\"lastrow\":true,\"result\":{\"a\":\"2\"}}\n";
        let e = parse(text).unwrap();
        assert_eq!(e.kind, ExportKind::ExportLines);
        assert_eq!(e.table.rows, [["1"], ["2"]]);
    }

    #[test]
    fn job_stats_from_rest_job_document() {
        let doc: Value = serde_json::from_str(
            r#"{"entry":[{"content":{"runDuration":2.5,"scanCount":"10","eventCount":9}}]}"#,
        )
        .unwrap();
        let s = job_stats(&doc).unwrap();
        assert_eq!(s.run_duration, Some(2.5));
        assert_eq!((s.scan_count, s.event_count, s.result_count), (Some(10), Some(9), None));
    }

    #[test]
    fn unreadable_shapes_are_named() {
        assert!(parse("  \n").unwrap().empty_file);
        let framing = parse("{\"preview\":false,\"lastrow\":true}\n").unwrap();
        assert_eq!((framing.kind, framing.table.rows.len()), (ExportKind::ExportLines, 0));
        assert!(matches!(parse("{\"a\":1}\n{oops\n"), Err(ExportErrorKind::Json { line: 2, .. })));
        assert_eq!(parse("a    b\n---  --\n1    2\n").unwrap_err(), ExportErrorKind::AlignedTable);
        assert!(matches!(parse("a,b\n1,2,3\n"), Err(ExportErrorKind::Csv { line: 2, .. })));
        let job = r#"{"entry":[{"content":{"runDuration":1}}]}"#;
        assert!(matches!(parse(job), Err(ExportErrorKind::NotResults(_))));
    }
}
