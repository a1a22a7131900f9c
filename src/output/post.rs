//! The row-shaping post-processing steps: `table`/`fields`, `dedup`, `sort`, `head`,
//! `fillnull` and `regex`.
//!
//! Owns their order and tie rules: sorts are stable; numbers sort before strings and by
//! value, strings byte-wise, missing values last. It must not evaluate eval expressions.

use std::cmp::Ordering;

use super::{cell_text, Cell};
use crate::eval::value::as_number;
use crate::plan::PostOp;

/// Applies a row-shaping step.
pub(super) fn apply(op: &PostOp, rows: &mut Vec<Vec<Cell>>) {
    match op {
        PostOp::Select(keep) => {
            for row in rows.iter_mut() {
                let old = std::mem::take(row);
                *row = keep.iter().map(|&i| old.get(i).cloned().unwrap_or(Cell::Null)).collect();
            }
        }
        PostOp::Dedup { columns, count, keepempty, consecutive } => {
            dedup(rows, columns, *count, *keepempty, *consecutive);
        }
        PostOp::Sort { keys, limit } => {
            rows.sort_by(|a, b| compare_rows(a, b, keys));
            if *limit > 0 {
                rows.truncate(*limit);
            }
        }
        PostOp::Head(n) => rows.truncate(*n),
        PostOp::Fillnull { columns, value } => {
            for row in rows.iter_mut() {
                for &c in columns {
                    if row.len() <= c {
                        row.resize(c + 1, Cell::Null);
                    }
                    if is_empty(&row[c]) {
                        row[c] = Cell::Text(value.clone());
                    }
                }
            }
        }
        PostOp::Regex { column, negate, re } => rows.retain(|row| {
            let hit = column.and_then(|c| row.get(c)).is_some_and(|cell| match cell {
                Cell::Multi(v) => v.iter().any(|s| re.0.is_match(s)),
                Cell::Null => false,
                c => re.0.is_match(&cell_text(c)),
            });
            hit != *negate
        }),
        PostOp::Rename { .. }
        | PostOp::Ctime { .. }
        | PostOp::Search(_)
        | PostOp::Where(_)
        | PostOp::Eval { .. } => {}
    }
}

fn is_empty(c: &Cell) -> bool {
    match c {
        Cell::Null => true,
        Cell::Text(s) => s.is_empty(),
        Cell::Multi(v) => v.is_empty(),
        _ => false,
    }
}

fn dedup(
    rows: &mut Vec<Vec<Cell>>,
    columns: &[Option<usize>],
    count: usize,
    keepempty: bool,
    consecutive: bool,
) {
    let key = |row: &[Cell]| -> Option<Vec<String>> {
        columns
            .iter()
            .map(|c| {
                c.and_then(|c| row.get(c))
                    .filter(|x| !is_empty(x))
                    .map(|x| cell_text(x).into_owned())
            })
            .collect()
    };
    let mut seen: hashbrown::HashMap<Vec<String>, usize> = hashbrown::HashMap::new();
    let mut last: Option<(Vec<String>, usize)> = None;
    rows.retain(|row| {
        let Some(k) = key(row) else { return keepempty };
        if consecutive {
            let n = match &last {
                Some((prev, n)) if *prev == k => n + 1,
                _ => 1,
            };
            last = Some((k, n));
            return n <= count;
        }
        let n = seen.entry(k).or_insert(0);
        *n += 1;
        *n <= count
    });
}

fn compare_rows(a: &[Cell], b: &[Cell], keys: &[(usize, bool)]) -> Ordering {
    for &(c, desc) in keys {
        let o = compare_cells(a.get(c), b.get(c));
        let o = if desc { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Missing last; numbers before strings, by value; strings byte-wise.
fn compare_cells(a: Option<&Cell>, b: Option<&Cell>) -> Ordering {
    let text = |c: Option<&Cell>| c.filter(|c| !is_empty(c)).map(|c| cell_text(c).into_owned());
    match (text(a), text(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => match (as_number(&x), as_number(&y)) {
            (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => x.as_bytes().cmp(y.as_bytes()),
        },
    }
}
