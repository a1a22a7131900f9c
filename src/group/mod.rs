//! Stage 7: grouping and aggregation (Part A.2).
//!
//! Owns BY-key building (fillnull or drop for missing values, one group per value of a
//! multivalue field), the per-worker `GroupTable`, merging tables, and emitting groups sorted
//! by their BY tuple, byte-wise. It must not know formats or print anything.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};

use hashbrown::{Equivalent, HashMap};

use crate::cim::CimEvent;
use crate::plan::{AggKind, Plan};

/// A stored BY key.
type Key = Box<[Box<str>]>;

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

    fn merge(&mut self, other: AggState) {
        self.count += other.count;
        self.min_time = self.min_time.min(other.min_time);
        self.max_time = self.max_time.max(other.max_time);
        for (a, b) in self.fields.iter_mut().zip(other.fields) {
            a.merge(b);
        }
    }
}

/// A borrowed key for lookups, hashing exactly as a stored `Key` does.
struct KeyRef<'k, 'a>(&'k [Cow<'a, str>]);

impl Hash for KeyRef<'_, '_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // A slice hashes its length then each element; `Cow<str>` and `Box<str>` both hash as
        // `str`, so this equals the hash of the stored boxed key.
        self.0.hash(state);
    }
}

impl Equivalent<Key> for KeyRef<'_, '_> {
    fn equivalent(&self, key: &Key) -> bool {
        key.len() == self.0.len() && key.iter().zip(self.0).all(|(a, b)| **a == **b)
    }
}

/// Groups of one worker.
///
/// # Design
/// A hashbrown map keyed by the boxed BY tuple. Lookups use a borrowed view of the event's
/// values, so an event that joins an existing group allocates nothing.
#[derive(Debug, Clone, Default)]
pub struct GroupTable {
    groups: HashMap<Key, AggState>,
}

/// Why an event added no group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// A BY field was missing and the rule has no `fillnull_value`.
    MissingByField,
}

impl GroupTable {
    /// Adds one event to every group its BY values name.
    pub fn add(&mut self, plan: &Plan, ev: &CimEvent<'_>) -> Result<usize, Dropped> {
        let fill: Option<Cow<'_, str>> = plan.fillnull.as_deref().map(Cow::Borrowed);
        let bucket: Option<Cow<'_, str>> =
            plan.time_bucket.map(|(_, span)| Cow::Owned(bucket_key(ev.time, span)));
        let mut columns: Vec<&[Cow<'_, str>]> = Vec::with_capacity(plan.by.len() + 1);
        for &f in &plan.by {
            match (&ev.values[f][..], &fill) {
                ([], Some(fill)) => columns.push(std::slice::from_ref(fill)),
                ([], None) => return Err(Dropped::MissingByField),
                (values, _) => columns.push(values),
            }
        }
        if let (Some((at, _)), Some(b)) = (plan.time_bucket, &bucket) {
            columns.insert(at, std::slice::from_ref(b));
        }
        let mut key: Vec<Cow<'_, str>> = Vec::with_capacity(columns.len());
        let mut groups = 0;
        self.add_product(plan, ev, &columns, &mut key, &mut groups);
        Ok(groups)
    }

    /// Adds the event to each key of the cartesian product of `columns`.
    fn add_product<'a>(
        &mut self,
        plan: &Plan,
        ev: &CimEvent<'_>,
        columns: &[&[Cow<'a, str>]],
        key: &mut Vec<Cow<'a, str>>,
        groups: &mut usize,
    ) {
        let Some((first, rest)) = columns.split_first() else {
            self.bump(plan, ev, key);
            *groups += 1;
            return;
        };
        for v in first.iter() {
            key.push(v.clone());
            self.add_product(plan, ev, rest, key, groups);
            key.pop();
        }
    }

    fn bump(&mut self, plan: &Plan, ev: &CimEvent<'_>, key: &[Cow<'_, str>]) {
        if let Some(state) = self.groups.get_mut(&KeyRef(key)) {
            state.add(plan, ev);
            return;
        }
        let owned: Key = key.iter().map(|k| Box::<str>::from(k.as_ref())).collect();
        self.groups.entry(owned).or_insert_with(|| AggState::new(plan, ev.time)).add(plan, ev);
    }

    /// Folds `other` into this table.
    pub fn merge(&mut self, other: GroupTable) {
        if self.groups.len() < other.groups.len() {
            let mine = std::mem::replace(&mut self.groups, other.groups);
            return self.merge(GroupTable { groups: mine });
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

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there is no group.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The groups sorted ascending by BY tuple, byte-wise.
    pub fn into_sorted(self) -> Vec<(Key, AggState)> {
        let mut rows: Vec<_> = self.groups.into_iter().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        rows
    }
}

/// The key text of a `_time` bucket: its start in epoch seconds, zero-padded to 20 digits so
/// that byte order is time order (times before 1970 clamp to 0).
pub fn bucket_key(time_ns: i64, span_secs: i64) -> String {
    let secs = time_ns.div_euclid(1_000_000_000);
    format!("{:020}", (secs.div_euclid(span_secs) * span_secs).max(0))
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
