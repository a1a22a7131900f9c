//! After output: compares tsreplay's result table with another one (a Splunk export) as
//! multisets of rows over the columns both have, pairs the rows that differ in one or two
//! columns, and finds differences that repeat across rows (`hints`).
//!
//! Owns the comparison and its report. It must not run rules or read logs: the tables come
//! from `engine` or from `export`.

pub mod export;
pub mod hints;
pub mod report;

use std::collections::HashMap;
use std::fmt;

use crate::output::ResultTable;

/// How to compare.
#[derive(Debug, Clone)]
pub struct Options {
    /// Columns that pair differing rows: rows with equal key columns are near rows, whatever
    /// else differs. Empty: rows pair when at most `near` columns differ.
    pub key: Vec<String>,
    /// At most this many differing columns make two rows near rows (without `key`).
    pub near: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { key: Vec::new(), near: 2 }
    }
}

/// Why two tables cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompareError {
    /// A `--key` column is not in both tables.
    KeyNotCommon(String),
    /// Both tables have columns, but none in common.
    NoCommonColumn,
}

impl fmt::Display for CompareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareError::KeyNotCommon(c) => {
                write!(f, "--key column `{c}` is not in both tables")
            }
            CompareError::NoCommonColumn => write!(
                f,
                "the two tables have no column in common: are they results of the same search?"
            ),
        }
    }
}

impl std::error::Error for CompareError {}

/// A row of tsreplay's and a row of Splunk's that differ in a few columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearPair {
    /// tsreplay's row, over the common columns.
    pub ours: Vec<String>,
    /// Splunk's row, over the common columns.
    pub splunk: Vec<String>,
    /// Indexes (into the common columns) of the columns that differ.
    pub differs: Vec<usize>,
    /// tsreplay's `vendor_product` for the row, when its table has the column.
    pub vendor: Option<String>,
}

/// A row present on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EqualRow {
    /// The row, over the common columns.
    pub row: Vec<String>,
    /// tsreplay's `vendor_product` for the row, when its table has the column.
    pub vendor: Option<String>,
}

/// The outcome of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// Columns both tables have, in tsreplay's order.
    pub common: Vec<String>,
    /// Columns only tsreplay's table has.
    pub only_ours_columns: Vec<String>,
    /// Columns only Splunk's table has.
    pub only_splunk_columns: Vec<String>,
    /// Rows in tsreplay's table.
    pub ours_rows: usize,
    /// Rows in Splunk's table.
    pub splunk_rows: usize,
    /// Rows present on both sides (with multiplicity).
    pub equal: Vec<EqualRow>,
    /// Pairs of rows that differ in a few columns.
    pub near: Vec<NearPair>,
    /// Rows only in Splunk's table (over the common columns), not paired.
    pub only_splunk: Vec<Vec<String>>,
    /// Rows only in tsreplay's table, not paired.
    pub only_ours: Vec<Vec<String>>,
}

impl Comparison {
    /// Whether the two tables hold the same rows over their common columns.
    pub fn is_equal(&self) -> bool {
        self.near.is_empty() && self.only_splunk.is_empty() && self.only_ours.is_empty()
    }
}

/// Compares tsreplay's table with Splunk's. A table with neither columns nor rows (Splunk's
/// export of a search that found nothing) takes the other table's columns.
pub fn compare(
    ours: &ResultTable,
    splunk: &ResultTable,
    opts: &Options,
) -> Result<Comparison, CompareError> {
    let bare = |t: &ResultTable| t.columns.is_empty() && t.rows.is_empty();
    let ours_cols = if bare(ours) { &splunk.columns } else { &ours.columns };
    let splunk_cols = if bare(splunk) { &ours.columns } else { &splunk.columns };
    let common: Vec<String> =
        ours_cols.iter().filter(|c| splunk_cols.contains(c)).cloned().collect();
    if common.is_empty() && !(ours_cols.is_empty() && splunk_cols.is_empty()) {
        return Err(CompareError::NoCommonColumn);
    }
    let key = key_indexes(&common, &opts.key)?;
    let ours_rows = project(ours, &common);
    let splunk_rows = project(splunk, &common);
    let vendor_col = ours.columns.iter().position(|c| c == crate::cim::datamodel::VENDOR_PRODUCT);
    let vendor = |i: usize| vendor_col.and_then(|c| ours.rows[i].get(c).cloned());
    let (equal, rest_ours, rest_splunk) = match_equal(&ours_rows, &splunk_rows);
    let max = opts.near.min(common.len().saturating_sub(1));
    let (pairs, only_ours, only_splunk) = match key.is_empty() {
        true => pair_by_distance(&ours_rows, &splunk_rows, &rest_ours, &rest_splunk, max),
        false => pair_by_key(&ours_rows, &splunk_rows, &rest_ours, &rest_splunk, &key),
    };
    let near = pairs
        .into_iter()
        .map(|(o, s)| NearPair {
            differs: differing(&ours_rows[o], &splunk_rows[s]),
            ours: ours_rows[o].clone(),
            splunk: splunk_rows[s].clone(),
            vendor: vendor(o),
        })
        .collect();
    Ok(Comparison {
        only_ours_columns: missing_from(ours_cols, splunk_cols),
        only_splunk_columns: missing_from(splunk_cols, ours_cols),
        ours_rows: ours.rows.len(),
        splunk_rows: splunk.rows.len(),
        equal: equal
            .iter()
            .map(|&i| EqualRow { row: ours_rows[i].clone(), vendor: vendor(i) })
            .collect(),
        near,
        only_splunk: only_splunk.iter().map(|&i| splunk_rows[i].clone()).collect(),
        only_ours: only_ours.iter().map(|&i| ours_rows[i].clone()).collect(),
        common,
    })
}

fn key_indexes(common: &[String], key: &[String]) -> Result<Vec<usize>, CompareError> {
    key.iter()
        .map(|k| {
            common.iter().position(|c| c == k).ok_or_else(|| CompareError::KeyNotCommon(k.clone()))
        })
        .collect()
}

fn missing_from(these: &[String], other: &[String]) -> Vec<String> {
    these.iter().filter(|c| !other.contains(c)).cloned().collect()
}

/// The table's rows over `columns`, in that order (a column the table lacks is empty).
fn project(table: &ResultTable, columns: &[String]) -> Vec<Vec<String>> {
    let idx: Vec<Option<usize>> =
        columns.iter().map(|c| table.columns.iter().position(|t| t == c)).collect();
    table
        .rows
        .iter()
        .map(|r| {
            idx.iter().map(|i| i.and_then(|i| r.get(i).cloned()).unwrap_or_default()).collect()
        })
        .collect()
}

type Rows = [Vec<String>];

/// Multiset intersection by row index: tsreplay's rows that have an equal Splunk row, and the
/// indexes left on each side, in input order.
fn match_equal(ours: &Rows, splunk: &Rows) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut free: HashMap<&[String], Vec<usize>> = HashMap::new();
    for (i, r) in splunk.iter().enumerate().rev() {
        free.entry(r.as_slice()).or_default().push(i);
    }
    let mut used = vec![false; splunk.len()];
    let (mut equal, mut rest_ours) = (Vec::new(), Vec::new());
    for (i, r) in ours.iter().enumerate() {
        match free.get_mut(r.as_slice()).and_then(Vec::pop) {
            Some(j) => {
                used[j] = true;
                equal.push(i);
            }
            None => rest_ours.push(i),
        }
    }
    let rest_splunk = (0..splunk.len()).filter(|j| !used[*j]).collect();
    (equal, rest_ours, rest_splunk)
}

fn differing(a: &[String], b: &[String]) -> Vec<usize> {
    (0..a.len()).filter(|i| a[*i] != b[*i]).collect()
}

type Paired = (Vec<(usize, usize)>, Vec<usize>, Vec<usize>);

/// The most Splunk rows tried per column group for one tsreplay row.
pub const MAX_CANDIDATES: usize = 1024;

/// Pairs rows that differ in at most `max` columns. The columns are cut into `max + 1`
/// groups: two rows that differ in at most `max` columns agree on a whole group, so only rows
/// sharing a group's values are tried (the first `MAX_CANDIDATES` of them). Each tsreplay row,
/// in order, takes the closest free Splunk row (the first one on a tie).
fn pair_by_distance(
    ours: &Rows,
    splunk: &Rows,
    rest_o: &[usize],
    rest_s: &[usize],
    max: usize,
) -> Paired {
    if max == 0 || rest_o.is_empty() || rest_s.is_empty() {
        return (Vec::new(), rest_o.to_vec(), rest_s.to_vec());
    }
    let width = ours[rest_o[0]].len();
    let groups: Vec<Vec<usize>> =
        (0..=max).map(|g| (g..width).step_by(max + 1).collect()).collect();
    let mut index: Vec<HashMap<Vec<&str>, Vec<usize>>> = vec![HashMap::new(); groups.len()];
    for &j in rest_s {
        for (g, cols) in groups.iter().enumerate() {
            let k = cols.iter().map(|c| splunk[j][*c].as_str()).collect();
            index[g].entry(k).or_default().push(j);
        }
    }
    let mut used = vec![false; splunk.len()];
    let (mut pairs, mut only_ours) = (Vec::new(), Vec::new());
    for &i in rest_o {
        let mut best: Option<(usize, usize)> = None;
        for (g, cols) in groups.iter().enumerate() {
            let probe: Vec<&str> = cols.iter().map(|c| ours[i][*c].as_str()).collect();
            // A bounded look per group keeps pairing linear when many rows share values.
            for &j in index[g].get(&probe).into_iter().flatten().take(MAX_CANDIDATES) {
                let d = differing(&ours[i], &splunk[j]).len();
                if !used[j] && d <= max && best.is_none_or(|(bd, bj)| (d, j) < (bd, bj)) {
                    best = Some((d, j));
                }
            }
        }
        match best {
            Some((_, j)) => {
                used[j] = true;
                pairs.push((i, j));
            }
            None => only_ours.push(i),
        }
    }
    (pairs, only_ours, rest_s.iter().copied().filter(|j| !used[*j]).collect())
}

/// Pairs rows whose key columns are equal, in order.
fn pair_by_key(
    ours: &Rows,
    splunk: &Rows,
    rest_o: &[usize],
    rest_s: &[usize],
    key: &[usize],
) -> Paired {
    let mut index: HashMap<Vec<&str>, Vec<usize>> = HashMap::new();
    for &j in rest_s.iter().rev() {
        index.entry(key.iter().map(|k| splunk[j][*k].as_str()).collect()).or_default().push(j);
    }
    let (mut pairs, mut only_ours) = (Vec::new(), Vec::new());
    let mut used = vec![false; splunk.len()];
    for &i in rest_o {
        let probe: Vec<&str> = key.iter().map(|k| ours[i][*k].as_str()).collect();
        match index.get_mut(&probe).and_then(Vec::pop) {
            Some(j) => {
                used[j] = true;
                pairs.push((i, j));
            }
            None => only_ours.push(i),
        }
    }
    (pairs, only_ours, rest_s.iter().copied().filter(|j| !used[*j]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: &[&[&str]]) -> ResultTable {
        ResultTable {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn multiset_counts_repeated_rows() {
        let ours = table(&["a", "b"], &[&["1", "x"], &["1", "x"], &["2", "y"]]);
        let splunk = table(&["b", "a", "c"], &[&["x", "1", "-"], &["z", "9", "-"]]);
        let c = compare(&ours, &splunk, &Options { key: vec![], near: 0 }).unwrap();
        assert_eq!(c.common, ["a", "b"]);
        assert_eq!(c.only_splunk_columns, ["c"]);
        assert_eq!(c.equal.len(), 1);
        assert_eq!(c.only_ours, [["1", "x"], ["2", "y"]]);
        assert_eq!(c.only_splunk, [["9", "z"]]);
        assert!(!c.is_equal());
    }

    #[test]
    fn near_rows_pair_by_fewest_differences() {
        let ours = table(&["a", "b", "c", "d"], &[&["1", "2", "3", "4"], &["5", "6", "7", "8"]]);
        let splunk = table(
            &["a", "b", "c", "d"],
            // Three columns differ from the second row: not near with two allowed.
            &[&["1", "2", "X", "Y"], &["1", "2", "3", "Z"], &["5", "A", "B", "C"]],
        );
        let c = compare(&ours, &splunk, &Options::default()).unwrap();
        assert_eq!(c.near.len(), 1);
        assert_eq!(c.near[0].splunk, ["1", "2", "3", "Z"]);
        assert_eq!(c.near[0].differs, [3]);
        assert_eq!(c.only_ours, [["5", "6", "7", "8"]]);
        assert_eq!(c.only_splunk.len(), 2);
    }

    #[test]
    fn key_pairs_whatever_differs() {
        let ours = table(&["k", "b", "c"], &[&["1", "2", "3"]]);
        let splunk = table(&["k", "b", "c"], &[&["1", "X", "Y"]]);
        let opts = Options { key: vec!["k".into()], near: 2 };
        let c = compare(&ours, &splunk, &opts).unwrap();
        assert_eq!(c.near[0].differs, [1, 2]);
        let bad = Options { key: vec!["zz".into()], near: 2 };
        assert_eq!(
            compare(&ours, &splunk, &bad).unwrap_err(),
            CompareError::KeyNotCommon("zz".into())
        );
    }

    #[test]
    fn no_common_column_is_an_error_but_no_results_take_the_other_columns() {
        let err = compare(&table(&["a"], &[]), &table(&["b"], &[]), &Options::default());
        assert_eq!(err.unwrap_err(), CompareError::NoCommonColumn);
        let none = table(&[], &[]);
        let c = compare(&table(&["a"], &[]), &none, &Options::default()).unwrap();
        assert!(c.is_equal());
        let c = compare(&table(&["a"], &[&["1"]]), &none, &Options::default()).unwrap();
        assert_eq!(c.only_ours, [["1"]]);
    }
}
