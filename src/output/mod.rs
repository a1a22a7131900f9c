//! Stage 8: results out. Sorted groups → the result table Splunk would show, after the plan's
//! post-processing (rename, `convert ctime`, `search`), and its rendering.
//!
//! Owns row values as text, epoch and time-zone formatting, and the writers. It must not read
//! input or touch events.

pub mod atomic;
pub mod explain;
pub mod findings;
pub mod stats;
pub mod write;

use std::borrow::Cow;

use jiff::tz::TimeZone;

use crate::eval::{holds, RowFields};
use crate::group::{agg_value, AggState, AggValue};
use crate::plan::{Plan, PostOp};

/// One cell before post-processing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cell {
    Text(String),
    Count(u64),
    Time(i64),
}

/// The final table: column names and rows of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultTable {
    /// Column names, in output order.
    pub columns: Vec<String>,
    /// Rows, in output order.
    pub rows: Vec<Vec<String>>,
}

/// Why a time zone name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTimeZone(pub String);

impl std::fmt::Display for BadTimeZone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown time zone `{}` (give an IANA name such as Europe/Paris)", self.0)
    }
}

impl std::error::Error for BadTimeZone {}

/// Resolves an IANA time-zone name (`UTC` included) from the database compiled into the
/// binary, never the host's, so results do not depend on the machine.
pub fn time_zone(name: &str) -> Result<TimeZone, BadTimeZone> {
    jiff::tz::TimeZoneDatabase::bundled().get(name).map_err(|_| BadTimeZone(name.to_string()))
}

/// Builds the result table from sorted groups.
pub fn finish(plan: &Plan, groups: Vec<(Box<[Box<str>]>, AggState)>, tz: &TimeZone) -> ResultTable {
    let mut rows: Vec<Vec<Cell>> = groups
        .into_iter()
        .map(|(key, state)| {
            // The key's strings move into the row; nothing is copied.
            let mut row: Vec<Cell> =
                key.into_vec().into_iter().map(|k| Cell::Text(k.into_string())).collect();
            row.extend(plan.aggs.iter().map(|a| match agg_value(a.kind, &state) {
                AggValue::Count(n) => Cell::Count(n),
                AggValue::Time(t) => Cell::Time(t),
            }));
            row
        })
        .collect();
    for op in &plan.post {
        match op {
            PostOp::Rename { .. } => {}
            PostOp::Ctime { column, format } => {
                for row in rows.iter_mut() {
                    ctime(&mut row[*column], format, tz);
                }
            }
            PostOp::Search(expr) => rows.retain(|row| {
                let texts: Vec<Cow<'_, str>> = row.iter().map(cell_text).collect();
                holds(expr, &RowFields(&texts))
            }),
        }
    }
    let rows = rows.into_iter().map(|r| r.into_iter().map(into_text).collect()).collect();
    ResultTable { columns: plan.final_columns.clone(), rows }
}

/// `convert ctime`: an epoch value becomes text in `tz`; text stays as it is.
fn ctime(cell: &mut Cell, format: &str, tz: &TimeZone) {
    let secs = match cell {
        Cell::Time(ns) => ns.div_euclid(1_000_000_000),
        Cell::Count(n) => i64::try_from(*n).unwrap_or(i64::MAX),
        Cell::Text(_) => return,
    };
    if let Some(text) = format_epoch(secs, format, tz) {
        *cell = Cell::Text(text);
    }
}

/// Formats whole epoch seconds with a strftime format in `tz`.
pub fn format_epoch(secs: i64, format: &str, tz: &TimeZone) -> Option<String> {
    let ts = jiff::Timestamp::from_second(secs).ok()?;
    let zoned = ts.to_zoned(tz.clone());
    jiff::fmt::strtime::format(format, &zoned).ok()
}

fn into_text(c: Cell) -> String {
    match c {
        Cell::Text(s) => s,
        other => cell_text(&other).into_owned(),
    }
}

fn cell_text(c: &Cell) -> Cow<'_, str> {
    match c {
        Cell::Text(s) => Cow::Borrowed(s),
        Cell::Count(n) => Cow::Owned(n.to_string()),
        Cell::Time(ns) => Cow::Owned(epoch_text(*ns)),
    }
}

/// Epoch nanoseconds as Splunk prints an unconverted `_time`: seconds with the fraction, no
/// trailing zeros.
pub fn epoch_text(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    if frac == 0 {
        return secs.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{secs}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_text_trims_zeros() {
        assert_eq!(epoch_text(1_563_547_710_655_000_000), "1563547710.655");
        assert_eq!(epoch_text(1_563_547_710_000_000_000), "1563547710");
    }

    #[test]
    fn ctime_floors_and_applies_daylight_saving() {
        let paris = time_zone("Europe/Paris").unwrap();
        let f = "%Y-%m-%dT%H:%M:%S";
        // 2024-03-31 00:59:59 UTC is 01:59:59 CET; one second later DST gives 03:00:00 CEST.
        assert_eq!(format_epoch(1_711_846_799, f, &paris).unwrap(), "2024-03-31T01:59:59");
        assert_eq!(format_epoch(1_711_846_800, f, &paris).unwrap(), "2024-03-31T03:00:00");
        let mut cell = Cell::Time(1_711_846_799_999_000_000);
        ctime(&mut cell, f, &time_zone("UTC").unwrap());
        assert_eq!(cell, Cell::Text("2024-03-31T00:59:59".into()));
    }

    #[test]
    fn unknown_zone_is_refused() {
        assert!(time_zone("Mars/Olympus").is_err());
    }
}
