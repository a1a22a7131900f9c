//! `--findings`: for each result row, the detection's finding as Enterprise Security would
//! raise it: the message with `$field$` filled in from the row, the risk entities with their
//! scores, the threat objects, the MITRE ids and the drilldown searches.
//!
//! Owns token substitution and the findings' text and JSON. It reads the table and the
//! detection's `meta` and must not change a row. The text form escapes control characters
//! (a logged value cannot forge a line or drive the terminal); JSON keeps values exact.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::write::visible;
use super::ResultTable;
use crate::spl::meta::Meta;

/// The placeholder contentctl replaces with the detection's own search.
const ORIGINAL_SEARCH: &str = "%original_detection_search%";

/// Replaces each `$field$` with the row's value of that column. A token naming no column
/// (`$info_min_time$`, a field the table lacks) is left as written.
pub fn fill(template: &str, columns: &[String], row: &[String]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let value = after.find('$').and_then(|end| {
            let name = &after[..end];
            let ok = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
            let col = columns.iter().position(|c| c == name).filter(|_| ok)?;
            Some((row.get(col).map_or("", String::as_str), end))
        });
        match value {
            Some((v, end)) => {
                out.push_str(v);
                rest = &after[end + 1..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The detection search as a drilldown would hold it: on one line.
fn one_line(search: &str) -> String {
    search.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One row's finding as JSON.
pub fn finding_json(meta: &Meta, search: &str, columns: &[String], row: &[String]) -> Value {
    let f = |t: &str| fill(t, columns, row);
    let value = |field: &str| columns.iter().position(|c| c == field).map(|i| row[i].clone());
    let entities: Vec<Value> = meta
        .entities
        .iter()
        .map(|e| {
            json!({"field": e.field, "type": e.kind, "value": value(&e.field), "score": e.score,
                   "message": e.message.as_deref().map(f)})
        })
        .collect();
    let threats: Vec<Value> = meta
        .threats
        .iter()
        .map(|t| json!({"field": t.field, "type": t.kind, "value": value(&t.field)}))
        .collect();
    let original = one_line(search);
    let drilldowns: Vec<Value> = meta
        .drilldowns
        .iter()
        .map(|d| {
            json!({"name": f(&d.name), "search": f(&d.search.replace(ORIGINAL_SEARCH, &original)),
                   "earliest": d.earliest, "latest": d.latest})
        })
        .collect();
    json!({
        "message": meta.message.as_deref().map(f),
        "entities": entities,
        "threat_objects": threats,
        "mitre_attack_id": meta.mitre,
        "drilldown_searches": drilldowns,
    })
}

/// The findings of every row as text, after the table.
pub fn render_text(meta: &Meta, search: &str, table: &ResultTable) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\nfindings");
    if table.rows.is_empty() {
        let _ = writeln!(out, "  (no rows, no findings)");
    }
    for (n, row) in table.rows.iter().enumerate() {
        let v = finding_json(meta, search, &table.columns, row);
        let _ = writeln!(out, "  row {}", n + 1);
        if let Some(m) = v["message"].as_str() {
            let _ = writeln!(out, "    message: {}", visible(m));
        }
        for e in v["entities"].as_array().into_iter().flatten() {
            let score = e["score"].as_f64().map_or("-".to_string(), |s| s.to_string());
            let _ = writeln!(
                out,
                "    entity: {}={} (type {}, score {score})",
                visible(e["field"].as_str().unwrap_or("")),
                visible(e["value"].as_str().unwrap_or("(no such column)")),
                visible(e["type"].as_str().unwrap_or(""))
            );
            if let Some(m) = e["message"].as_str() {
                let _ = writeln!(out, "      message: {}", visible(m));
            }
        }
        for t in v["threat_objects"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "    threat object: {}={} (type {})",
                visible(t["field"].as_str().unwrap_or("")),
                visible(t["value"].as_str().unwrap_or("(no such column)")),
                visible(t["type"].as_str().unwrap_or(""))
            );
        }
        if !meta.mitre.is_empty() {
            let _ = writeln!(out, "    mitre: {}", visible(&meta.mitre.join(", ")));
        }
        for d in v["drilldown_searches"].as_array().into_iter().flatten() {
            let _ = writeln!(out, "    drilldown: {}", visible(d["name"].as_str().unwrap_or("")));
            let _ = writeln!(out, "      search: {}", visible(d["search"].as_str().unwrap_or("")));
            let (e, l) = (d["earliest"].as_str(), d["latest"].as_str());
            if e.is_some() || l.is_some() {
                let _ = writeln!(
                    out,
                    "      earliest: {}  latest: {}",
                    visible(e.unwrap_or("-")),
                    visible(l.unwrap_or("-"))
                );
            }
        }
    }
    out
}

/// JSON lines: each row beside its finding.
pub fn write_json(
    out: &mut dyn std::io::Write,
    meta: &Meta,
    search: &str,
    table: &ResultTable,
) -> std::io::Result<()> {
    write_json_tagged(out, meta, search, table, None)
}

/// As `write_json`, each line also naming its rule (`{"rule":…,"rule_id":…,"row":…,
/// "finding":…}`) when `rule` is `(name, id)`.
pub fn write_json_tagged(
    out: &mut dyn std::io::Write,
    meta: &Meta,
    search: &str,
    table: &ResultTable,
    rule: Option<(&str, &str)>,
) -> std::io::Result<()> {
    for row in &table.rows {
        super::write::check_stop()?;
        let mut obj = serde_json::Map::new();
        for (k, v) in table.columns.iter().zip(row) {
            obj.insert(k.clone(), Value::String(v.clone()));
        }
        let finding = finding_json(meta, search, &table.columns, row);
        let line = match rule {
            Some((name, id)) => {
                json!({"rule": name, "rule_id": id, "row": obj, "finding": finding})
            }
            None => json!({"row": obj, "finding": finding}),
        };
        serde_json::to_writer(&mut *out, &line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_fill_from_the_row_and_unknown_ones_stay() {
        let cols = vec!["user".to_string(), "dest".to_string()];
        let row = vec![r"CORP\a".to_string(), "H1".to_string()];
        assert_eq!(fill("by $user$ on $dest$", &cols, &row), r"by CORP\a on H1");
        assert_eq!(fill("$info_min_time$ $x", &cols, &row), "$info_min_time$ $x");
        assert_eq!(fill("cost $5 and $dest$", &cols, &row), "cost $5 and H1");
        assert_eq!(fill("$$user$", &cols, &row), r"$CORP\a");
    }
}
