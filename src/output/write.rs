//! Writers for the result table: aligned text for people, RFC 4180 CSV, JSON lines.
//!
//! Owns byte-exact rendering. It must not change, reorder or drop a value.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::ResultTable;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns with a header rule.
    Table,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One JSON object per row, values as strings (as Splunk's JSON exports give them).
    Json,
}

/// The flag that, once set (Ctrl-C), stops the writers at the next row boundary.
static STOP: OnceLock<Arc<AtomicBool>> = OnceLock::new();

/// Makes the writers stop at a row boundary once `flag` is set.
pub fn stop_on(flag: Arc<AtomicBool>) {
    let _ = STOP.set(flag);
}

/// An `Interrupted` error when the stop flag is set: checked before each row.
pub fn check_stop() -> io::Result<()> {
    match STOP.get().is_some_and(|f| f.load(Ordering::Relaxed)) {
        true => Err(io::Error::new(io::ErrorKind::Interrupted, "interrupted")),
        false => Ok(()),
    }
}

/// A CSV error as the I/O error it wraps (a closed pipe stays a closed pipe).
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Writes `table` in `format`.
pub fn write_table(out: &mut dyn Write, table: &ResultTable, format: Format) -> io::Result<()> {
    match format {
        Format::Table => write_aligned(out, table),
        Format::Csv => write_csv(out, table),
        Format::Json => write_json(out, table),
    }
}

fn write_csv(out: &mut dyn Write, table: &ResultTable) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
    w.write_record(&table.columns).map_err(csv_io)?;
    for row in &table.rows {
        check_stop()?;
        w.write_record(row).map_err(csv_io)?;
    }
    w.flush()
}

fn write_json(out: &mut dyn Write, table: &ResultTable) -> io::Result<()> {
    for row in &table.rows {
        check_stop()?;
        serde_json::to_writer(&mut *out, &serde_json::Value::Object(row_object(table, row)))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// One rule's rows in a rule-set run.
pub struct RuleTable<'t> {
    /// The detection's name.
    pub name: &'t str,
    /// Its id.
    pub id: &'t str,
    /// Its rows.
    pub table: &'t ResultTable,
}

/// Writes the rows of many rules: a titled table per rule with rows (table); per rule a CSV
/// block whose columns start with `rule,rule_id`, blocks apart by an empty line (csv); one
/// JSON object per row, `{"rule":…,"rule_id":…,"row":{…}}`, so no column of the rule's own
/// can stand for the tags (json). Rules without rows are left out.
pub fn write_rule_tables(
    out: &mut dyn Write,
    rules: &[RuleTable<'_>],
    format: Format,
) -> io::Result<()> {
    let mut first = true;
    for r in rules.iter().filter(|r| !r.table.rows.is_empty()) {
        check_stop()?;
        match format {
            Format::Table => {
                let n = r.table.rows.len();
                let plural = if n == 1 { "" } else { "s" };
                writeln!(out, "== {} ({}): {n} row{plural}", visible(r.name), visible(r.id))?;
                write_aligned(out, r.table)?;
                writeln!(out)?;
            }
            Format::Csv => {
                if !first {
                    writeln!(out)?;
                }
                write_tagged_csv(out, r)?;
            }
            Format::Json => write_tagged_json(out, r)?,
        }
        first = false;
    }
    Ok(())
}

fn write_tagged_csv(out: &mut dyn Write, r: &RuleTable<'_>) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
    let mut header = vec!["rule", "rule_id"];
    header.extend(r.table.columns.iter().map(String::as_str));
    w.write_record(&header).map_err(csv_io)?;
    for row in &r.table.rows {
        check_stop()?;
        let mut rec = vec![r.name, r.id];
        rec.extend(row.iter().map(String::as_str));
        w.write_record(&rec).map_err(csv_io)?;
    }
    w.flush()
}

fn write_tagged_json(out: &mut dyn Write, r: &RuleTable<'_>) -> io::Result<()> {
    for row in &r.table.rows {
        check_stop()?;
        let cells = row_object(r.table, row);
        let mut obj = serde_json::Map::new();
        obj.insert("rule".into(), serde_json::Value::String(r.name.to_string()));
        obj.insert("rule_id".into(), serde_json::Value::String(r.id.to_string()));
        obj.insert("row".into(), serde_json::Value::Object(cells));
        serde_json::to_writer(&mut *out, &serde_json::Value::Object(obj))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// A row as a JSON object, column name to cell.
fn row_object(table: &ResultTable, row: &[String]) -> serde_json::Map<String, serde_json::Value> {
    let mut obj = serde_json::Map::new();
    for (i, (k, v)) in table.columns.iter().zip(row).enumerate() {
        obj.insert(k.clone(), json_cell(v, table.multivalue.get(i).copied().unwrap_or(false)));
    }
    obj
}

/// A cell as JSON: in a multivalue column, a cell of several lines is an array of them, as
/// Splunk's JSON writes a multivalue field; anything else is a string.
fn json_cell(v: &str, multivalue: bool) -> serde_json::Value {
    if multivalue && v.contains('\n') {
        let items = v.split('\n').map(|x| serde_json::Value::String(x.to_string()));
        return serde_json::Value::Array(items.collect());
    }
    serde_json::Value::String(v.to_string())
}

/// A table cell as shown: line breaks and tabs as `\n`, `\r`, `\t`, and other control
/// characters as `\xNN`, so rows stay one line and no value drives the terminal.
pub fn visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn write_aligned(out: &mut dyn Write, table: &ResultTable) -> io::Result<()> {
    // Widths first, then one row at a time: no second copy of the table is held.
    let mut widths: Vec<usize> = table.columns.iter().map(|c| visible(c).chars().count()).collect();
    for row in &table.rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(visible(c).chars().count());
        }
    }
    let header: Vec<String> = table.columns.iter().map(|c| visible(c)).collect();
    write_line(out, &header, &widths)?;
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    write_line(out, &rule, &widths)?;
    for row in &table.rows {
        check_stop()?;
        let cells: Vec<String> = row.iter().map(|c| visible(c)).collect();
        write_line(out, &cells, &widths)?;
    }
    if table.rows.is_empty() {
        writeln!(out, "(no rows)")?;
    }
    Ok(())
}

fn write_line(out: &mut dyn Write, cells: &[String], widths: &[usize]) -> io::Result<()> {
    let mut line = String::new();
    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(c);
        if i + 1 < cells.len() {
            line.extend(std::iter::repeat_n(' ', w.saturating_sub(c.chars().count())));
        }
    }
    writeln!(out, "{line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ResultTable {
        ResultTable {
            columns: vec!["a".into(), "b".into()],
            rows: vec![
                vec!["x,y".into(), "say \"hi\"\nthere".into()],
                vec!["plain".into(), "".into()],
            ],
            multivalue: vec![false, false],
        }
    }

    fn render(f: Format) -> String {
        let mut out = Vec::new();
        write_table(&mut out, &table(), f).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(render(Format::Csv), "a,b\n\"x,y\",\"say \"\"hi\"\"\nthere\"\nplain,\n");
    }

    #[test]
    fn json_lines_hold_strings() {
        assert_eq!(
            render(Format::Json),
            "{\"a\":\"x,y\",\"b\":\"say \\\"hi\\\"\\nthere\"}\n{\"a\":\"plain\",\"b\":\"\"}\n"
        );
    }

    #[test]
    fn json_writes_multivalue_cells_as_arrays() {
        let mut t = table();
        t.multivalue = vec![false, true];
        let mut out = Vec::new();
        write_table(&mut out, &t, Format::Json).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"a\":\"x,y\",\"b\":[\"say \\\"hi\\\"\",\"there\"]}\n{\"a\":\"plain\",\"b\":\"\"}\n"
        );
    }

    #[test]
    fn table_aligns_and_shows_line_breaks() {
        let text = render(Format::Table);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "a      b");
        assert_eq!(lines[2], "x,y    say \"hi\"\\nthere");
    }
}
