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

use crate::eval::value::{self as ev, Columns, Value};
use crate::eval::{holds, Fields};
use crate::group::{agg_values, AggState, AggValue};
use crate::plan::{Plan, PostOp};

mod post;

/// One cell before post-processing.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    /// No value.
    Null,
    Text(String),
    /// Several values (`values()`, `split()`).
    Multi(Vec<String>),
    Count(u64),
    /// An epoch time in nanoseconds (`min(_time)` and the like).
    Time(i64),
    /// A `_time` bucket start in epoch seconds.
    Bucket(i64),
}

/// The format of a `_time` column, as Splunk's REST API writes it.
const BUCKET_FORMAT: &str = "%Y-%m-%dT%H:%M:%S.000%:z";

/// The final table: column names and rows of text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResultTable {
    /// Column names, in output order.
    pub columns: Vec<String>,
    /// Rows, in output order. A multivalue cell holds its values joined by `\n`, as
    /// Splunk's CSV export writes them.
    pub rows: Vec<Vec<String>>,
    /// Per column: whether some row holds several values in it (JSON then writes arrays).
    pub multivalue: Vec<bool>,
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
    let bucket_at = plan.time_bucket.map(|(at, _)| at);
    let mut rows: Vec<Vec<Cell>> = groups
        .into_iter()
        .map(|(key, state)| {
            // The key's strings move into the row; nothing is copied.
            let mut row: Vec<Cell> = key
                .into_vec()
                .into_iter()
                .enumerate()
                .map(|(i, k)| match Some(i) == bucket_at {
                    true => Cell::Bucket(crate::group::bucket_start(&k).unwrap_or(0)),
                    false => Cell::Text(k.into_string()),
                })
                .collect();
            row.extend(agg_values(plan, state).into_iter().map(agg_cell));
            row
        })
        .collect();
    for op in &plan.post {
        apply(op, &mut rows, tz);
    }
    let mut multivalue = vec![false; plan.final_columns.len()];
    for row in &rows {
        for (flag, cell) in multivalue.iter_mut().zip(row) {
            *flag |= matches!(cell, Cell::Multi(v) if v.len() > 1);
        }
    }
    // Splunk renders the field named `_time` as a time, whatever made it; a bucket renamed to
    // something else is a number of seconds.
    let time_col = plan.final_columns.iter().position(|c| c == "_time");
    let rows = rows
        .into_iter()
        .map(|r| {
            r.into_iter().enumerate().map(|(i, c)| into_text(c, Some(i) == time_col, tz)).collect()
        })
        .collect();
    ResultTable { columns: plan.final_columns.clone(), rows, multivalue }
}

fn agg_cell(v: AggValue) -> Cell {
    match v {
        AggValue::Count(n) => Cell::Count(n),
        AggValue::Time(t) => Cell::Time(t),
        AggValue::Values(v) if v.is_empty() => Cell::Null,
        AggValue::Values(v) => Cell::Multi(v),
        AggValue::Text(t) => t.map_or(Cell::Null, Cell::Text),
    }
}

/// Applies one post-processing step to every row.
fn apply(op: &PostOp, rows: &mut Vec<Vec<Cell>>, tz: &TimeZone) {
    match op {
        PostOp::Rename { .. } => {}
        PostOp::Ctime { column, format } => {
            for row in rows.iter_mut() {
                ctime(&mut row[*column], format, tz);
            }
        }
        PostOp::Search(expr) => rows.retain(|row| holds(expr, &CellRow(row))),
        PostOp::Where(e) => rows.retain(|row| ev::is_true(e, &CellRow(row))),
        PostOp::Eval { column, expr } => {
            for row in rows.iter_mut() {
                let cell = value_cell(ev::evaluate(expr, &CellRow(row)));
                match row.get_mut(*column) {
                    Some(slot) => *slot = cell,
                    None => row.push(cell),
                }
            }
        }
        other => post::apply(other, rows),
    }
}

/// A row seen by eval.
struct CellRow<'r>(&'r [Cell]);

impl Columns for CellRow<'_> {
    fn value(&self, i: usize) -> Value<'_> {
        match self.0.get(i) {
            None | Some(Cell::Null) => Value::Null,
            Some(Cell::Text(s)) if s.is_empty() => Value::Null,
            Some(Cell::Text(s)) => Value::Str(Cow::Borrowed(s)),
            Some(Cell::Multi(v)) => {
                Value::Multi(v.iter().map(|s| Cow::Borrowed(s.as_str())).collect())
            }
            Some(Cell::Count(n)) => Value::Num(*n as f64),
            Some(Cell::Time(ns)) => Value::Num(*ns as f64 / 1e9),
            Some(Cell::Bucket(s)) => Value::Num(*s as f64),
        }
    }
}

impl Fields for CellRow<'_> {
    fn present(&self, field: usize) -> bool {
        self.any_value(field, &|_| true)
    }

    fn any_value(&self, field: usize, test: &dyn Fn(&str) -> bool) -> bool {
        match self.0.get(field) {
            None | Some(Cell::Null) => false,
            Some(Cell::Multi(v)) => v.iter().any(|s| test(s)),
            Some(c) => {
                let t = cell_text(c);
                !t.is_empty() && test(&t)
            }
        }
    }
}

/// An eval result as a cell (a boolean never reaches here: `eval` refuses them).
fn value_cell(v: Value<'_>) -> Cell {
    match v {
        Value::Null | Value::Bool(_) => Cell::Null,
        Value::Str(s) => Cell::Text(s.into_owned()),
        Value::Num(n) => Cell::Text(ev::number_text(n)),
        Value::Multi(v) if v.len() == 1 => Cell::Text(v[0].to_string()),
        Value::Multi(v) => Cell::Multi(v.into_iter().map(Cow::into_owned).collect()),
    }
}

/// `convert ctime`: an epoch value becomes text in `tz`; text stays as it is.
fn ctime(cell: &mut Cell, format: &str, tz: &TimeZone) {
    let secs = match cell {
        Cell::Time(ns) => ns.div_euclid(1_000_000_000),
        Cell::Count(n) => i64::try_from(*n).unwrap_or(i64::MAX),
        Cell::Bucket(s) => *s,
        Cell::Text(t) => match ev::as_number(t) {
            Some(n) => n.floor() as i64,
            None => return,
        },
        Cell::Null | Cell::Multi(_) => return,
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

fn into_text(c: Cell, is_time: bool, tz: &TimeZone) -> String {
    let as_time = |secs: i64| format_epoch(secs, BUCKET_FORMAT, tz);
    match c {
        Cell::Bucket(secs) if is_time => as_time(secs).unwrap_or_default(),
        Cell::Time(ns) if is_time => as_time(ns.div_euclid(1_000_000_000)).unwrap_or_default(),
        Cell::Text(s) if is_time => match ev::as_number(&s) {
            Some(n) => as_time(n.floor() as i64).unwrap_or(s),
            None => s,
        },
        Cell::Text(s) => s,
        other => cell_text(&other).into_owned(),
    }
}

fn cell_text(c: &Cell) -> Cow<'_, str> {
    match c {
        Cell::Null => Cow::Borrowed(""),
        Cell::Text(s) => Cow::Borrowed(s),
        Cell::Multi(v) => Cow::Owned(v.join("\n")),
        Cell::Count(n) => Cow::Owned(n.to_string()),
        Cell::Time(ns) => Cow::Owned(epoch_text(*ns)),
        Cell::Bucket(s) => Cow::Owned(s.to_string()),
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
    use crate::cim::CimEvent;
    use crate::group::GroupTable;
    use crate::plan::compile;
    use crate::spl::{Detection, MacroTable};

    const S: i64 = 1_000_000_000;

    /// Groups `events` (values per plan field id, epoch seconds) in two tables merged, and
    /// finishes them in UTC.
    fn table(search: &str, events: &[(Vec<Vec<&'static str>>, i64)]) -> ResultTable {
        let plan = compile(&Detection::inline("t", search), &MacroTable::with_defaults()).unwrap();
        let (mut a, mut b) = (GroupTable::default(), GroupTable::default());
        for (i, (values, secs)) in events.iter().enumerate() {
            let values = values.iter().map(|v| v.iter().map(|x| Cow::Borrowed(*x)).collect());
            let ev = CimEvent {
                values: values.collect(),
                time: secs * S,
                time_fallback: false,
                mapped: 0,
            };
            let t = if i % 2 == 0 { &mut a } else { &mut b };
            t.add(&plan, &ev).unwrap();
        }
        a.merge(b);
        finish(&plan, a.into_sorted(), &time_zone("UTC").unwrap())
    }

    #[test]
    fn field_aggregates_over_merged_tables() {
        // Field ids: dest 0 (BY), process 1, user 2 (aggregate arguments, in written order).
        let search = "| tstats values(Processes.process) as procs dc(Processes.user) as users \
                      latest(Processes.user) as last earliest(Processes.user) as first count \
                      from datamodel=Endpoint.Processes by Processes.dest";
        let t = table(
            search,
            &[
                (vec![vec!["h1"], vec!["b", "a"], vec!["u2"]], 10),
                (vec![vec!["h1"], vec!["a"], vec!["u1"]], 5),
                (vec![vec!["h1"], vec![], vec!["u3"]], 10),
                (vec![vec!["h2"], vec!["z"], vec![]], 1),
            ],
        );
        assert_eq!(t.columns, ["Processes.dest", "procs", "users", "last", "first", "count"]);
        // h1: distinct processes a, b sorted; three users; the latest time 10 is held by u2
        // and u3, and the tie goes to the smaller value; the earliest (5) is u1.
        assert_eq!(t.rows[0], ["h1", "a\nb", "3", "u2", "u1", "3"]);
        assert_eq!(t.rows[1], ["h2", "z", "0", "", "", "1"]);
        assert_eq!(t.multivalue, [false, true, false, false, false, false]);
    }

    #[test]
    fn row_commands_apply_in_written_order() {
        let search = "| tstats count from datamodel=Endpoint.Processes \
                      by Processes.dest Processes.user | rename Processes.* as * \
                      | eval n=count*10, tag=if(match(user, \"^adm\"), \"admin\", \"user\") \
                      | where n >= 20 OR tag=\"admin\" | sort - n, dest | dedup tag \
                      | table dest tag n | head 5 | fillnull value=NA missing";
        let e = |d: &'static str, u: &'static str| (vec![vec![d], vec![u]], 1);
        let events = [
            e("h1", "admin1"),
            e("h2", "bob"),
            e("h2", "bob"),
            e("h3", "carl"),
            e("h4", "admin2"),
            e("h4", "admin2"),
            e("h4", "admin2"),
            e("h5", "dan"),
            e("h5", "dan"),
            e("h5", "dan"),
        ];
        let t = table(search, &events);
        // where keeps h1 (admin), h2 (n 20), h4, h5 and drops h3 (n 10, user); sort by n
        // descending then dest gives h4, h5, h2, h1; dedup on tag keeps h4 (admin), h5 (user).
        assert_eq!(t.columns, ["dest", "tag", "n", "missing"]);
        assert_eq!(t.rows, [["h4", "admin", "30", "NA"], ["h5", "user", "30", "NA"]]);
    }

    #[test]
    fn fields_regex_and_search_shape_rows() {
        let search = "| tstats count from datamodel=Endpoint.Processes \
                      by Processes.dest Processes.user | rename Processes.* as * \
                      | regex user!=\"^svc_\" | search count>1 | fields - count";
        let e = |d: &'static str, u: &'static str| (vec![vec![d], vec![u]], 1);
        let t = table(
            search,
            &[e("h1", "svc_a"), e("h1", "svc_a"), e("h2", "bob"), e("h2", "bob"), e("h3", "eve")],
        );
        // regex drops svc_a; search count>1 drops eve (1); fields - count removes the column.
        assert_eq!(t.columns, ["dest", "user"]);
        assert_eq!(t.rows, [["h2", "bob"]]);
    }

    #[test]
    fn time_buckets_print_as_times_only_under_the_name_time() {
        // 2024-01-01T10:30:00Z is 1704105000; its hour starts at 1704103200 (10:00).
        let search = "| tstats count from datamodel=Endpoint.Processes \
                      by _time span=1h Processes.dest | eval t=_time \
                      | rename _time as start, t as _time";
        let t = table(search, &[(vec![vec!["h1"]], 1_704_105_000)]);
        assert_eq!(t.columns, ["start", "Processes.dest", "count", "_time"]);
        assert_eq!(t.rows[0], ["1704103200", "h1", "1", "2024-01-01T10:00:00.000+00:00"]);
    }

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
