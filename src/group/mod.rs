//! Stage 7: grouping and aggregation (Part A.2).
//!
//! Owns BY-key building (fillnull or drop for missing values, one group per value of a
//! multivalue field), the per-worker `GroupTable`, merging tables, and emitting groups sorted
//! by their BY tuple, byte-wise. It must not know formats or print anything.

pub mod encode;

use hashbrown::HashMap;
use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::cim::CimEvent;
use crate::plan::{AggKind, Plan};

/// A stored BY key: the BY values encoded as one byte string (see `encode_value`).
type Key = Box<[u8]>;

/// Aggregate state of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggState {
    /// Events in the group.
    pub count: u64,
    /// Earliest `_time` (epoch ns).
    pub min_time: i64,
    /// Latest `_time` (epoch ns).
    pub max_time: i64,
    /// One entry per aggregate that reads a field, in the plan's order (empty for rules that
    /// only count, so they pay nothing for it).
    pub fields: Vec<FieldState>,
}

/// The state of an aggregate over a field's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldState {
    /// `values()` and `dc()`: the distinct values, sorted.
    Distinct(BTreeSet<Box<str>>),
    /// `latest()`: the value at the greatest time (ties: the smallest value).
    Latest(Option<(i64, Box<str>)>),
    /// `earliest()`: the value at the least time (ties: the smallest value).
    Earliest(Option<(i64, Box<str>)>),
}

impl FieldState {
    fn new(kind: AggKind) -> Option<FieldState> {
        match kind {
            AggKind::Values(_) | AggKind::Dc(_) => Some(FieldState::Distinct(BTreeSet::new())),
            AggKind::Latest(_) => Some(FieldState::Latest(None)),
            AggKind::Earliest(_) => Some(FieldState::Earliest(None)),
            _ => None,
        }
    }

    fn add(&mut self, values: &[Cow<'_, str>], time: i64) {
        match self {
            FieldState::Distinct(set) => {
                for v in values {
                    if !set.contains(v.as_ref()) {
                        set.insert(Box::from(v.as_ref()));
                    }
                }
            }
            FieldState::Latest(pick) => {
                if let Some(v) = values.first() {
                    keep_pick(pick, time, v, std::cmp::Ordering::Greater);
                }
            }
            FieldState::Earliest(pick) => {
                if let Some(v) = values.first() {
                    keep_pick(pick, time, v, std::cmp::Ordering::Less);
                }
            }
        }
    }

    fn merge(&mut self, other: FieldState) {
        match (self, other) {
            (FieldState::Distinct(a), FieldState::Distinct(b)) => a.extend(b),
            (FieldState::Latest(a), FieldState::Latest(Some((t, v)))) => {
                keep_pick(a, t, &v, std::cmp::Ordering::Greater)
            }
            (FieldState::Earliest(a), FieldState::Earliest(Some((t, v)))) => {
                keep_pick(a, t, &v, std::cmp::Ordering::Less)
            }
            _ => {}
        }
    }
}

/// Replaces `pick` when `time` is further in direction `wins`, or equal with a smaller value.
fn keep_pick(pick: &mut Option<(i64, Box<str>)>, time: i64, v: &str, wins: std::cmp::Ordering) {
    let better = match pick {
        None => true,
        Some((t, old)) => {
            let o = time.cmp(t);
            o == wins || (o == std::cmp::Ordering::Equal && v < old.as_ref())
        }
    };
    if better {
        *pick = Some((time, Box::from(v)));
    }
}

impl AggState {
    fn new(plan: &Plan, time: i64) -> AggState {
        let fields = plan.aggs.iter().filter_map(|a| FieldState::new(a.kind)).collect();
        AggState { count: 0, min_time: time, max_time: time, fields }
    }

    fn add(&mut self, plan: &Plan, ev: &CimEvent<'_>) {
        self.count += 1;
        self.min_time = self.min_time.min(ev.time);
        self.max_time = self.max_time.max(ev.time);
        if self.fields.is_empty() {
            return;
        }
        let fields = plan.aggs.iter().filter_map(|a| a.kind.field());
        for (state, f) in self.fields.iter_mut().zip(fields) {
            state.add(&ev.values[f], ev.time);
        }
    }

    /// `merge`, refusing a state whose aggregates differ in number or kind from these.
    pub fn merge_checked(&mut self, other: AggState) -> Result<(), encode::StateError> {
        if !same_kinds(&self.fields, &other.fields) {
            return Err(encode::StateError::WrongShape);
        }
        self.merge(other);
        Ok(())
    }

    /// Folds another state of the same group into this one.
    pub fn merge(&mut self, other: AggState) {
        self.count += other.count;
        self.min_time = self.min_time.min(other.min_time);
        self.max_time = self.max_time.max(other.max_time);
        for (a, b) in self.fields.iter_mut().zip(other.fields) {
            a.merge(b);
        }
    }
}

/// Groups of one worker.
///
/// # Design
/// A hashbrown map keyed by the BY tuple encoded as one byte string (`encode_value`): one
/// allocation per new group, none for an event that joins an existing one (the key is built
/// in a reused buffer). Byte order of encoded keys is the order of BY tuples.
#[derive(Debug, Clone, Default)]
pub struct GroupTable {
    groups: HashMap<Key, AggState>,
    scratch: Vec<u8>,
}

/// Why an event added no group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// A BY field was missing and the rule has no `fillnull_value`.
    MissingByField,
}

/// Separates values in an encoded key; it sorts below any value byte that can follow.
const SEPARATOR: [u8; 2] = [0, 0];

/// Appends `v` to an encoded key: a 0x00 byte inside a value is written 0x00 0x01.
fn encode_value(key: &mut Vec<u8>, v: &str) {
    if !v.as_bytes().contains(&0) {
        key.extend_from_slice(v.as_bytes());
        return;
    }
    for &b in v.as_bytes() {
        key.push(b);
        if b == 0 {
            key.push(1);
        }
    }
}

/// The BY values of an encoded key.
fn decode_key(key: &[u8]) -> Box<[Box<str>]> {
    let mut out: Vec<Box<str>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < key.len() {
        match (key[i], key.get(i + 1)) {
            (0, Some(0)) => {
                out.push(text(std::mem::take(&mut cur)));
                i += 2;
            }
            (0, Some(1)) => {
                cur.push(0);
                i += 2;
            }
            (b, _) => {
                cur.push(b);
                i += 1;
            }
        }
    }
    out.push(text(cur));
    out.into_boxed_slice()
}

fn text(bytes: Vec<u8>) -> Box<str> {
    match String::from_utf8(bytes) {
        Ok(s) => s.into_boxed_str(),
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into(),
    }
}

impl GroupTable {
    /// Adds one event to every group its BY values name.
    pub fn add(&mut self, plan: &Plan, ev: &CimEvent<'_>) -> Result<usize, Dropped> {
        let fill: Option<Cow<'_, str>> = plan.fillnull.as_deref().map(Cow::Borrowed);
        let mut multivalue = false;
        for &f in &plan.by {
            match (ev.values[f].len(), &fill) {
                (0, None) => return Err(Dropped::MissingByField),
                (n, _) => multivalue |= n > 1,
            }
        }
        let bucket: Option<Cow<'_, str>> =
            plan.time_bucket.map(|(_, span)| Cow::Owned(bucket_key(ev.time, span)));
        let width = plan.by.len() + usize::from(bucket.is_some());
        let column = |i: usize| -> &[Cow<'_, str>] {
            let at = plan.time_bucket.map(|(at, _)| at);
            let by_index = match at {
                Some(at) if i == at => return std::slice::from_ref(bucket.as_ref().expect("set")),
                Some(at) if i > at => i - 1,
                _ => i,
            };
            match &ev.values[plan.by[by_index]][..] {
                [] => std::slice::from_ref(fill.as_ref().expect("checked above")),
                values => values,
            }
        };
        let mut key = std::mem::take(&mut self.scratch);
        if !multivalue {
            key.clear();
            for i in 0..width {
                if i > 0 {
                    key.extend_from_slice(&SEPARATOR);
                }
                encode_value(&mut key, &column(i)[0]);
            }
            self.bump(plan, ev, &key);
            self.scratch = key;
            return Ok(1);
        }
        // One group per combination of values: an odometer over the columns.
        let columns: Vec<&[Cow<'_, str>]> = (0..width).map(column).collect();
        let mut at = vec![0usize; width];
        let mut groups = 0;
        loop {
            key.clear();
            for (i, c) in columns.iter().enumerate() {
                if i > 0 {
                    key.extend_from_slice(&SEPARATOR);
                }
                encode_value(&mut key, &c[at[i]]);
            }
            self.bump(plan, ev, &key);
            groups += 1;
            let Some(i) = (0..width).rev().find(|&i| at[i] + 1 < columns[i].len()) else { break };
            at[i] += 1;
            at[i + 1..].iter_mut().for_each(|x| *x = 0);
        }
        self.scratch = key;
        Ok(groups)
    }

    fn bump(&mut self, plan: &Plan, ev: &CimEvent<'_>, key: &[u8]) {
        if let Some(state) = self.groups.get_mut(key) {
            state.add(plan, ev);
            return;
        }
        let mut state = AggState::new(plan, ev.time);
        state.add(plan, ev);
        self.groups.insert(Box::from(key), state);
    }

    /// Folds `other` into this table.
    pub fn merge(&mut self, other: GroupTable) {
        if self.groups.len() < other.groups.len() {
            let mine = std::mem::replace(&mut self.groups, other.groups);
            return self.merge(GroupTable { groups: mine, scratch: Vec::new() });
        }
        for (key, state) in other.groups {
            match self.groups.entry(key) {
                hashbrown::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(state),
                hashbrown::hash_map::Entry::Vacant(e) => {
                    e.insert(state);
                }
            }
        }
    }

    /// Every group, as its encoded BY key and its state, in no order.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &AggState)> {
        self.groups.iter().map(|(k, s)| (&k[..], s))
    }

    /// Folds one group (read back from a partial table) into the table; refuses a state
    /// whose aggregates differ in number or kind from those of the group already there.
    pub fn merge_group(&mut self, key: &[u8], state: AggState) -> Result<(), encode::StateError> {
        match self.groups.get_mut(key) {
            Some(mine) => mine.merge_checked(state),
            None => {
                self.groups.insert(Box::from(key), state);
                Ok(())
            }
        }
    }

    /// Folds `other` in group by group with `merge_group`'s check (tables read back from
    /// partial files, which may be damaged).
    pub fn merge_checked(&mut self, other: GroupTable) -> Result<(), encode::StateError> {
        other.groups.into_iter().try_for_each(|(key, state)| self.merge_group(&key, state))
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there is no group.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The groups sorted ascending by BY tuple, byte-wise, with their BY values.
    pub fn into_sorted(self) -> Vec<(Box<[Box<str>]>, AggState)> {
        let mut rows: Vec<_> = self.groups.into_iter().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        rows.into_iter().map(|(k, s)| (decode_key(&k), s)).collect()
    }
}

/// Whether two groups' field states are the same aggregates, in the same order.
fn same_kinds(a: &[FieldState], b: &[FieldState]) -> bool {
    let same =
        |(x, y): (&FieldState, &FieldState)| std::mem::discriminant(x) == std::mem::discriminant(y);
    a.len() == b.len() && a.iter().zip(b).all(same)
}

/// The key text of a `_time` bucket: its start in epoch seconds with the sign bit flipped,
/// zero-padded to 20 digits, so that byte order is time order before 1970 too.
pub fn bucket_key(time_ns: i64, span_secs: i64) -> String {
    let secs = time_ns.div_euclid(1_000_000_000);
    let start = secs.div_euclid(span_secs).saturating_mul(span_secs);
    format!("{:020}", (start as u64) ^ (1 << 63))
}

/// The bucket start (epoch seconds) of a `bucket_key`.
pub fn bucket_start(key: &str) -> Option<i64> {
    key.parse::<u64>().ok().map(|k| (k ^ (1 << 63)) as i64)
}

/// An aggregate's value in a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AggValue {
    /// A count.
    Count(u64),
    /// An epoch time in nanoseconds.
    Time(i64),
    /// Sorted distinct values (`values()`); empty when there were none.
    Values(Vec<String>),
    /// One value (`latest()`, `earliest()`), or none.
    Text(Option<String>),
}

/// The values of every aggregate of `plan` in `state`, in written order.
pub fn agg_values(plan: &Plan, state: AggState) -> Vec<AggValue> {
    let mut fields = state.fields.into_iter();
    let mut out = Vec::with_capacity(plan.aggs.len());
    for a in &plan.aggs {
        out.push(match a.kind {
            AggKind::Count => AggValue::Count(state.count),
            AggKind::MinTime => AggValue::Time(state.min_time),
            AggKind::MaxTime => AggValue::Time(state.max_time),
            _ => match fields.next() {
                Some(FieldState::Distinct(set)) if matches!(a.kind, AggKind::Dc(_)) => {
                    AggValue::Count(set.len() as u64)
                }
                Some(FieldState::Distinct(set)) => {
                    AggValue::Values(set.into_iter().map(String::from).collect())
                }
                Some(FieldState::Latest(p) | FieldState::Earliest(p)) => {
                    AggValue::Text(p.map(|(_, v)| String::from(v)))
                }
                None => AggValue::Text(None),
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::compile;
    use crate::spl::{Detection, MacroTable};

    fn plan(search: &str) -> Plan {
        let det = Detection::inline("t", search);
        compile(&det, &MacroTable::with_defaults()).unwrap()
    }

    fn ev(values: Vec<Vec<&'static str>>, time: i64) -> CimEvent<'static> {
        let values =
            values.into_iter().map(|v| v.into_iter().map(Cow::Borrowed).collect()).collect();
        CimEvent { values, time, time_fallback: false, mapped: 0 }
    }

    const BY2: &str =
        "count from datamodel=Endpoint.Processes by Processes.dest Processes.process_hash";

    #[test]
    fn multivalue_by_fields_fan_out_and_fillnull_fills() {
        let p = plan(&format!("| tstats fillnull_value=null {BY2}"));
        let mut t = GroupTable::default();
        assert_eq!(t.add(&p, &ev(vec![vec!["h"], vec!["a", "b"]], 5)), Ok(2));
        assert_eq!(t.add(&p, &ev(vec![vec!["h"], vec![]], 7)), Ok(1));
        assert_eq!(t.add(&p, &ev(vec![vec!["h"], vec!["a"]], 1)), Ok(1));
        let rows = t.into_sorted();
        let keys: Vec<Vec<&str>> =
            rows.iter().map(|(k, _)| k.iter().map(|s| &**s).collect()).collect();
        assert_eq!(keys, [["h", "a"], ["h", "b"], ["h", "null"]]);
        assert_eq!(rows[0].1, AggState { count: 2, min_time: 1, max_time: 5, fields: vec![] });
    }

    #[test]
    fn bucket_keys_sort_as_times_before_and_after_1970() {
        let h = 3600;
        let keys: Vec<String> = [-7_200_000_000_000i64, -1, 0, 3_599_999_999_999, 1 << 62]
            .iter()
            .map(|t| bucket_key(*t, h))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let starts: Vec<i64> = keys.iter().map(|k| bucket_start(k).unwrap()).collect();
        assert_eq!(&starts[..4], [-7200, -3600, 0, 0]);
    }

    #[test]
    fn missing_by_value_drops_without_fillnull() {
        let p = plan(&format!("| tstats {BY2}"));
        let mut t = GroupTable::default();
        assert_eq!(t.add(&p, &ev(vec![vec!["h"], vec![]], 1)), Err(Dropped::MissingByField));
        assert!(t.is_empty());
    }

    #[test]
    fn merge_adds_counts_and_widens_times() {
        let p = plan(&format!("| tstats fillnull_value=null {BY2}"));
        let (mut a, mut b) = (GroupTable::default(), GroupTable::default());
        a.add(&p, &ev(vec![vec!["h"], vec!["x"]], 10)).unwrap();
        b.add(&p, &ev(vec![vec!["h"], vec!["x"]], 3)).unwrap();
        b.add(&p, &ev(vec![vec!["H"], vec!["x"]], 3)).unwrap();
        a.merge(b);
        let rows = a.into_sorted();
        assert_eq!(rows.len(), 2, "BY values keep their case");
        assert_eq!(&*rows[0].0[0], "H");
        assert_eq!(rows[1].1, AggState { count: 2, min_time: 3, max_time: 10, fields: vec![] });
    }
}
