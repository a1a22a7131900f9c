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
}

impl fmt::Display for CompareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompareError::KeyNotCommon(c) => {
                write!(f, "--key column `{c}` is not in both tables")
            }
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
    /// Rows present on both sides (counted with multiplicity).
    pub equal: usize,
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
        !self.common.is_empty()
            && self.near.is_empty()
            && self.only_splunk.is_empty()
            && self.only_ours.is_empty()
    }
}

/// Compares tsreplay's table with Splunk's.
pub fn compare(
    ours: &ResultTable,
    splunk: &ResultTable,
    opts: &Options,
) -> Result<Comparison, CompareError> {
    let common: Vec<String> =
        ours.columns.iter().filter(|c| splunk.columns.contains(c)).cloned().collect();
    let key = key_indexes(&common, &opts.key)?;
    let ours_rows = project(ours, &common);
    let splunk_rows = project(splunk, &common);
    let (equal, rest_ours, rest_splunk) = match_equal(ours_rows, splunk_rows);
    let (near, only_ours, only_splunk) = match key.is_empty() {
        true => {
            pair_by_distance(rest_ours, rest_splunk, opts.near.min(common.len().saturating_sub(1)))
        }
        false => pair_by_key(rest_ours, rest_splunk, &key),
    };
    Ok(Comparison {
        only_ours_columns: missing_from(&ours.columns, &splunk.columns),
        only_splunk_columns: missing_from(&splunk.columns, &ours.columns),
        common,
        ours_rows: ours.rows.len(),
        splunk_rows: splunk.rows.len(),
        equal,
        near,
        only_splunk,
        only_ours,
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

/// The table's rows over `columns`, in that order.
fn project(table: &ResultTable, columns: &[String]) -> Vec<Vec<String>> {
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| table.columns.iter().position(|t| t == c).expect("a common column"))
        .collect();
    table
        .rows
        .iter()
        .map(|r| idx.iter().map(|i| r.get(*i).cloned().unwrap_or_default()).collect())
        .collect()
}

type Rows = Vec<Vec<String>>;

/// Multiset intersection: returns the number of equal rows and what is left on each side,
/// in input order.
fn match_equal(ours: Rows, splunk: Rows) -> (usize, Rows, Rows) {
    let mut counts: HashMap<&[String], usize> = HashMap::new();
    for r in &splunk {
        *counts.entry(r.as_slice()).or_default() += 1;
    }
    let mut equal = 0;
    let mut taken: HashMap<&[String], usize> = HashMap::new();
    let mut rest_ours = Vec::new();
    for r in &ours {
        match counts.get_mut(r.as_slice()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                *taken.entry(r.as_slice()).or_default() += 1;
                equal += 1;
            }
            _ => rest_ours.push(r.clone()),
        }
    }
    let mut rest_splunk = Vec::new();
    for r in &splunk {
        match taken.get_mut(r.as_slice()) {
            Some(n) if *n > 0 => *n -= 1,
            _ => rest_splunk.push(r.clone()),
        }
    }
    (equal, rest_ours, rest_splunk)
}

fn differing(a: &[String], b: &[String]) -> Vec<usize> {
    (0..a.len()).filter(|i| a[*i] != b[*i]).collect()
}

/// Pairs rows that differ in at most `max` columns. The columns are cut into `max + 1`
/// groups: two rows that differ in at most `max` columns agree on a whole group, so only rows
/// sharing a group's values are tried. Each tsreplay row, in order, takes the closest free
/// Splunk row (the first one on a tie).
fn pair_by_distance(ours: Rows, splunk: Rows, max: usize) -> (Vec<NearPair>, Rows, Rows) {
    if max == 0 || ours.is_empty() || splunk.is_empty() {
        return (Vec::new(), ours, splunk);
    }
    let width = ours[0].len();
    let groups: Vec<Vec<usize>> =
        (0..=max).map(|g| (g..width).step_by(max + 1).collect()).collect();
    let mut index: Vec<HashMap<Vec<&str>, Vec<usize>>> = vec![HashMap::new(); groups.len()];
    for (i, r) in splunk.iter().enumerate() {
        for (g, cols) in groups.iter().enumerate() {
            index[g].entry(cols.iter().map(|c| r[*c].as_str()).collect()).or_default().push(i);
        }
    }
    let mut used = vec![false; splunk.len()];
    let mut near = Vec::new();
    let mut only_ours = Vec::new();
    for r in ours {
        let mut best: Option<(usize, usize)> = None;
        for (g, cols) in groups.iter().enumerate() {
            let probe: Vec<&str> = cols.iter().map(|c| r[*c].as_str()).collect();
            for &i in index[g].get(&probe).into_iter().flatten() {
                if used[i] {
                    continue;
                }
                let d = differing(&r, &splunk[i]).len();
                if d <= max && best.is_none_or(|(bd, bi)| (d, i) < (bd, bi)) {
                    best = Some((d, i));
                }
            }
        }
        match best {
            Some((_, i)) => {
                used[i] = true;
                let differs = differing(&r, &splunk[i]);
                near.push(NearPair { ours: r, splunk: splunk[i].clone(), differs });
            }
            None => only_ours.push(r),
        }
    }
    let only_splunk = unused(splunk, &used);
    (near, only_ours, only_splunk)
}

/// Pairs rows whose key columns are equal, in order.
fn pair_by_key(ours: Rows, splunk: Rows, key: &[usize]) -> (Vec<NearPair>, Rows, Rows) {
    let mut index: HashMap<Vec<&str>, Vec<usize>> = HashMap::new();
    for (i, r) in splunk.iter().enumerate() {
        index.entry(key.iter().map(|k| r[*k].as_str()).collect()).or_default().push(i);
    }
    let mut used = vec![false; splunk.len()];
    let mut near = Vec::new();
    let mut only_ours = Vec::new();
    for r in ours {
        let probe: Vec<&str> = key.iter().map(|k| r[*k].as_str()).collect();
        let hit = index.get(&probe).and_then(|c| c.iter().copied().find(|i| !used[*i]));
        match hit {
            Some(i) => {
                used[i] = true;
                let differs = differing(&r, &splunk[i]);
                near.push(NearPair { ours: r, splunk: splunk[i].clone(), differs });
            }
            None => only_ours.push(r),
        }
    }
    (near, only_ours, unused(splunk, &used))
}

fn unused(rows: Rows, used: &[bool]) -> Rows {
    rows.into_iter().zip(used).filter(|(_, u)| !**u).map(|(r, _)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(columns: &[&str], rows: &[&[&str]]) -> ResultTable {
        ResultTable {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows.iter().map(|r| r.iter().map(|c| c.to_string()).collect()).collect(),
        }
    }

    #[test]
    fn multiset_counts_repeated_rows() {
        let ours = table(&["a", "b"], &[&["1", "x"], &["1", "x"], &["2", "y"]]);
        let splunk = table(&["b", "a", "c"], &[&["x", "1", "-"], &["z", "9", "-"]]);
        let c = compare(&ours, &splunk, &Options { key: vec![], near: 0 }).unwrap();
        assert_eq!(c.common, ["a", "b"]);
        assert_eq!(c.only_splunk_columns, ["c"]);
        assert_eq!(c.equal, 1);
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
    fn no_common_column_is_never_equal() {
        let c = compare(&table(&["a"], &[]), &table(&["b"], &[]), &Options::default()).unwrap();
        assert!(!c.is_equal());
    }
}
