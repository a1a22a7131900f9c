//! The Arrow IPC form of a partial.
//!
//! Owns the columns: `rule` (int32, the rule's index in the stamp), `key` (binary, the
//! encoded BY tuple), `count` (int64), `first_time` and `last_time` (int64, epoch ns), `state`
//! (binary field states, `group::encode`; null when the rule only counts) and `meta` (the
//! stamp, coverage and counters as JSON, in one row whose other columns are null). Spark's
//! final aggregation gives back the same columns with `state` and `meta` as lists, which
//! `read` takes too. It must not know what the groups mean.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, ArrayRef, BinaryArray, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use arrow_schema::{ArrowError, DataType, Field, Schema};

use super::partial::{Meta, Partial, PARTIAL_VERSION};
use super::ExchangeError;
use crate::group::encode::{decode_fields, encode_fields};
use crate::group::AggState;

/// Rows per record batch.
const BATCH_ROWS: usize = 8192;

/// The schema of a partial.
pub fn schema() -> Schema {
    Schema::new(vec![
        Field::new("rule", DataType::Int32, true),
        Field::new("key", DataType::Binary, true),
        Field::new("count", DataType::Int64, true),
        Field::new("first_time", DataType::Int64, true),
        Field::new("last_time", DataType::Int64, true),
        Field::new("state", DataType::Binary, true),
        Field::new("meta", DataType::Utf8, true),
    ])
}

/// One group row, borrowed from the tables.
struct Row<'p> {
    rule: i32,
    key: &'p [u8],
    state: &'p AggState,
}

/// Writes `p` as an Arrow IPC file to `out`.
pub fn write(p: &Partial, out: &mut dyn std::io::Write) -> Result<(), ArrowError> {
    let schema = Arc::new(schema());
    let mut w = FileWriter::try_new(out, &schema)?;
    let meta = serde_json::to_string(&p.meta()).expect("a stamp serialises");
    w.write(&meta_batch(&schema, &meta)?)?;
    let mut rows: Vec<Row<'_>> = Vec::with_capacity(BATCH_ROWS);
    for (rule, table) in p.body.tables.iter().enumerate() {
        for (key, state) in table.entries() {
            rows.push(Row { rule: rule as i32, key, state });
            if rows.len() == BATCH_ROWS {
                w.write(&group_batch(&schema, &rows)?)?;
                rows.clear();
            }
        }
    }
    if !rows.is_empty() {
        w.write(&group_batch(&schema, &rows)?)?;
    }
    w.finish()
}

fn meta_batch(schema: &Arc<Schema>, meta: &str) -> Result<RecordBatch, ArrowError> {
    let none_i32 = Arc::new(Int32Array::from(vec![None::<i32>])) as ArrayRef;
    let none_i64 = || Arc::new(Int64Array::from(vec![None::<i64>])) as ArrayRef;
    let none_bin = || Arc::new(BinaryArray::from(vec![None::<&[u8]>])) as ArrayRef;
    let meta = Arc::new(StringArray::from(vec![Some(meta)])) as ArrayRef;
    let columns = vec![none_i32, none_bin(), none_i64(), none_i64(), none_i64(), none_bin(), meta];
    RecordBatch::try_new(schema.clone(), columns)
}

fn group_batch(schema: &Arc<Schema>, rows: &[Row<'_>]) -> Result<RecordBatch, ArrowError> {
    let states: Vec<Option<Vec<u8>>> = rows
        .iter()
        .map(|r| (!r.state.fields.is_empty()).then(|| encode_fields(&r.state.fields)))
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.rule))),
        Arc::new(BinaryArray::from_iter_values(rows.iter().map(|r| r.key))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.state.count as i64))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.state.min_time))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.state.max_time))),
        Arc::new(states.iter().map(|s| s.as_deref()).collect::<BinaryArray>()),
        Arc::new(StringArray::from(vec![None::<&str>; rows.len()])),
    ];
    RecordBatch::try_new(schema.clone(), columns)
}

/// Reads a partial file: its meta rows merged (with the checks of `Partial::merge`), then its
/// group rows folded in.
pub fn read(path: &Path) -> Result<Partial, ExchangeError> {
    let arrow = |source| ExchangeError::Arrow { path: path.to_path_buf(), source };
    let not = |what| ExchangeError::NotPartial { path: path.to_path_buf(), what };
    let bytes = std::fs::read(path)
        .map_err(|source| ExchangeError::Io { path: path.to_path_buf(), source })?;
    check_layout(&bytes).map_err(not)?;
    let batches = decode(&bytes).ok_or_else(|| not("damaged: Arrow could not decode it"))?;
    let batches: Vec<RecordBatch> = batches.map_err(arrow)?;
    let mut merged: Option<Partial> = None;
    for b in &batches {
        let meta = column(b, "meta").ok_or_else(|| not("no `meta` column"))?;
        for row in 0..b.num_rows() {
            for text in texts(meta, row).ok_or_else(|| not("`meta` is not text"))? {
                let m: Meta = serde_json::from_str(text)
                    .map_err(|source| ExchangeError::Json { path: path.to_path_buf(), source })?;
                if m.tsreplay_partial != PARTIAL_VERSION {
                    return Err(not("written by another partial format version"));
                }
                if let Some(what) = Partial::meta_problem(&m) {
                    return Err(not(what));
                }
                match &mut merged {
                    None => merged = Some(Partial::from_meta(m)),
                    Some(p) => p.merge(Partial::from_meta(m))?,
                }
            }
        }
    }
    let mut p = merged.ok_or_else(|| not("no stamp row"))?;
    for b in &batches {
        fold_groups(path, b, &mut p)?;
    }
    Ok(p)
}

/// Checks an Arrow file's footer and blocks against its size before anything is decoded, so
/// that a damaged length cannot make the decoder allocate what the file does not hold: each
/// block inside the file, and each record batch with no more rows than its body can hold
/// (every row has 4 bytes in the `rule` column).
fn check_layout(bytes: &[u8]) -> Result<(), &'static str> {
    let damaged = "damaged: its Arrow footer or a block does not fit in the file";
    let len = bytes.len();
    if len < 18 || !bytes.starts_with(b"ARROW1") || !bytes.ends_with(b"ARROW1") {
        return Err("not an Arrow IPC file (no ARROW1 magic at both ends)");
    }
    let footer_len = i32::from_le_bytes(bytes[len - 10..len - 6].try_into().expect("4 bytes"));
    let footer_len = usize::try_from(footer_len).map_err(|_| damaged)?;
    let start = (len - 10).checked_sub(footer_len).ok_or(damaged)?;
    let footer = arrow_ipc::root_as_footer(&bytes[start..len - 10]).map_err(|_| damaged)?;
    let blocks = footer.recordBatches().into_iter().flatten();
    let blocks = blocks.chain(footer.dictionaries().into_iter().flatten());
    for b in blocks {
        let (offset, meta, body) = (b.offset(), i64::from(b.metaDataLength()), b.bodyLength());
        let end = offset.checked_add(meta).and_then(|e| e.checked_add(body));
        if offset < 0 || meta < 8 || body < 0 || end.is_none_or(|e| e > len as i64) {
            return Err(damaged);
        }
        let (offset, meta) = (offset as usize, meta as usize);
        // A message opens with 0xFFFFFFFF and its length, then the flatbuffer.
        let message = arrow_ipc::root_as_message(&bytes[offset + 8..offset + meta]);
        let message = message.map_err(|_| damaged)?;
        if let Some(batch) = message.header_as_record_batch() {
            if batch.length() < 0 || batch.length() > body / 4 {
                return Err("damaged: a record batch claims more rows than its body holds");
            }
        }
    }
    Ok(())
}

/// Decodes every record batch; `None` when the decoder panicked on damage the layout check
/// could not see (its message is kept off stderr: the error says the file is damaged).
fn decode(bytes: &[u8]) -> Option<Result<Vec<RecordBatch>, ArrowError>> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let decoded = std::panic::catch_unwind(|| {
        let reader = FileReader::try_new(std::io::Cursor::new(bytes), None)?;
        reader.collect::<Result<Vec<_>, _>>()
    });
    std::panic::set_hook(hook);
    decoded.ok()
}

fn column<'b>(b: &'b RecordBatch, name: &str) -> Option<&'b ArrayRef> {
    b.column_by_name(name)
}

/// A group row: its rule's index, its key and its state.
type GroupRow<'b> = (usize, &'b [u8], AggState);

/// The group columns of one batch.
struct GroupColumns<'b> {
    rule: &'b arrow_array::Int32Array,
    key: &'b ArrayRef,
    count: &'b Int64Array,
    first: &'b Int64Array,
    last: &'b Int64Array,
    state: &'b ArrayRef,
}

impl<'b> GroupColumns<'b> {
    fn of(b: &'b RecordBatch) -> Result<GroupColumns<'b>, &'static str> {
        let col = |name| column(b, name).ok_or("a group column is missing");
        let int64 =
            |name| col(name)?.as_primitive_opt::<Int64Type>().ok_or("a count or time is not int64");
        Ok(GroupColumns {
            rule: col("rule")?.as_primitive_opt::<Int32Type>().ok_or("`rule` is not int32")?,
            key: col("key")?,
            count: int64("count")?,
            first: int64("first_time")?,
            last: int64("last_time")?,
            state: col("state")?,
        })
    }

    /// Row `row` as (rule index, key, state), or `None` for a stamp row; `rules` is how many
    /// the stamp has.
    fn group(&self, row: usize, rules: usize) -> Result<Option<GroupRow<'b>>, Damage> {
        if self.rule.is_null(row) {
            return Ok(None);
        }
        let r = usize::try_from(self.rule.value(row)).ok().filter(|r| *r < rules);
        let r = r.ok_or(Damage::Row("a `rule` index past the stamp's rules"))?;
        let keys = blobs(self.key, row).ok_or(Damage::Row("`key` is not binary"))?;
        let [key] = keys.as_slice() else { return Err(Damage::Row("a group row without one key")) };
        let (count, first, last) = (self.count, self.first, self.last);
        if count.is_null(row) || first.is_null(row) || last.is_null(row) {
            return Err(Damage::Row("a group row without its count or times"));
        }
        let n = u64::try_from(count.value(row)).map_err(|_| Damage::Row("a negative count"))?;
        let (min_time, max_time) = (first.value(row), last.value(row));
        if n == 0 || min_time > max_time {
            return Err(Damage::Row(
                "a group with no event, or with its first time after its last",
            ));
        }
        let mut agg = AggState { count: n, min_time, max_time, fields: vec![] };
        let states = blobs(self.state, row).ok_or(Damage::Row("`state` is not binary"))?;
        for (i, bytes) in states.iter().enumerate() {
            let fields = decode_fields(bytes).map_err(|e| Damage::State(r, e))?;
            match i {
                0 => agg.fields = fields,
                // Only the states are added: the row's count and times are already totals.
                _ => agg
                    .merge_checked(AggState { count: 0, min_time, max_time, fields })
                    .map_err(|e| Damage::State(r, e))?,
            }
        }
        Ok(Some((r, key, agg)))
    }
}

/// What is wrong with a group row: the row itself, or the state of rule `.0`.
enum Damage {
    Row(&'static str),
    State(usize, crate::group::encode::StateError),
}

/// Folds the group rows of one batch into `p`.
fn fold_groups(path: &Path, b: &RecordBatch, p: &mut Partial) -> Result<(), ExchangeError> {
    let not = |what| ExchangeError::NotPartial { path: path.to_path_buf(), what };
    let state = |p: &Partial, r: usize, source| ExchangeError::State {
        path: path.to_path_buf(),
        rule: p.stamp.rules[r].name.clone(),
        source,
    };
    let cols = GroupColumns::of(b).map_err(not)?;
    for row in 0..b.num_rows() {
        let group = match cols.group(row, p.body.tables.len()) {
            Ok(g) => g,
            Err(Damage::Row(what)) => return Err(not(what)),
            Err(Damage::State(r, source)) => return Err(state(p, r, source)),
        };
        let Some((r, key, agg)) = group else { continue };
        if let Err(source) = p.body.tables[r].merge_group(key, agg) {
            return Err(state(p, r, source));
        }
    }
    Ok(())
}

/// The byte strings of one cell: a binary value (none when null) or a list of them.
fn blobs(col: &ArrayRef, row: usize) -> Option<Vec<&[u8]>> {
    let (values, present) = cell(col, row)?;
    match values.data_type() {
        DataType::Binary => Some(present.map(|i| values.as_binary::<i32>().value(i)).collect()),
        DataType::LargeBinary => {
            Some(present.map(|i| values.as_binary::<i64>().value(i)).collect())
        }
        _ => None,
    }
}

/// The texts of one cell: a string (none when null) or a list of them.
fn texts(col: &ArrayRef, row: usize) -> Option<Vec<&str>> {
    let (values, present) = cell(col, row)?;
    match values.data_type() {
        DataType::Utf8 => Some(present.map(|i| values.as_string::<i32>().value(i)).collect()),
        DataType::LargeUtf8 => Some(present.map(|i| values.as_string::<i64>().value(i)).collect()),
        _ => None,
    }
}

/// The positions between two list offsets.
fn span<O: Copy + TryInto<usize>>(a: &O, b: &O) -> Option<std::ops::Range<usize>> {
    Some((*a).try_into().ok()?..(*b).try_into().ok()?)
}

/// Where one cell's values are: the column itself at `row`, or a list row's elements in the
/// list's child values; null values and null lists hold none.
fn cell(col: &ArrayRef, row: usize) -> Option<(&ArrayRef, impl Iterator<Item = usize> + '_)> {
    let (values, range) = match col.data_type() {
        _ if col.is_null(row) => (col, 0..0),
        DataType::List(_) => {
            let list = col.as_list::<i32>();
            let o = list.value_offsets();
            (list.values(), span(o.get(row)?, o.get(row + 1)?)?)
        }
        DataType::LargeList(_) => {
            let list = col.as_list::<i64>();
            let o = list.value_offsets();
            (list.values(), span(o.get(row)?, o.get(row + 1)?)?)
        }
        _ => (col, row..row + 1),
    };
    Some((values, range.filter(move |i| !values.is_null(*i))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{BinaryBuilder, ListBuilder, StringBuilder};
    use std::collections::BTreeSet;

    use crate::exchange::partial::{Body, Stamp};
    use crate::group::FieldState;

    fn stamp() -> Stamp {
        let rule = crate::exchange::RuleStamp {
            name: "r".into(),
            id: String::new(),
            version: "1".into(),
            search: "| tstats values(Processes.user) from datamodel=Endpoint.Processes by \
                     Processes.dest"
                .into(),
        };
        Stamp {
            tsreplay: "t".into(),
            manifest: "m".into(),
            splits: 2,
            files: vec![],
            unread: Default::default(),
            catalog: None,
            profile: ("p".into(), "d".into()),
            rules: vec![rule],
        }
    }

    fn distinct(values: &[&str]) -> Vec<u8> {
        let set: BTreeSet<Box<str>> = values.iter().map(|v| Box::from(*v)).collect();
        encode_fields(&[FieldState::Distinct(set)])
    }

    fn written(dir: &std::path::Path, p: &Partial) -> (std::path::PathBuf, Vec<u8>) {
        let path = dir.join("p.arrow");
        let mut bytes = Vec::new();
        write(p, &mut bytes).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        (path, bytes)
    }

    fn one_group(state: AggState) -> Partial {
        let mut body = Body::new(1);
        body.tables[0].merge_group(b"host", state).unwrap();
        Partial { stamp: stamp(), covered: std::iter::once(0).collect(), body }
    }

    fn users(values: &[&str]) -> AggState {
        let fields = decode_fields(&distinct(values)).unwrap();
        AggState { count: 1, min_time: 1, max_time: 2, fields }
    }

    #[test]
    fn damaged_files_and_groups_are_refused_before_anything_is_allocated() {
        let dir = tempfile::tempdir().unwrap();
        let (path, bytes) = written(dir.path(), &one_group(users(&["alice"])));
        assert!(read(&path).is_ok());
        let refused = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            match read(&path) {
                Err(ExchangeError::NotPartial { what, .. }) => what,
                other => panic!("not refused: {other:?}"),
            }
        };
        assert!(refused(&bytes[..bytes.len() - 3]).contains("ARROW1"));
        // The footer's length field, read as past the start of the file.
        let mut long = bytes.clone();
        let at = long.len() - 10;
        long[at..at + 4].copy_from_slice(&i32::MAX.to_le_bytes());
        assert!(refused(&long).contains("damaged"));
        // A group with no event: `run` never makes one.
        let mut empty = users(&["alice"]);
        empty.count = 0;
        let (_, bytes) = written(dir.path(), &one_group(empty));
        assert!(refused(&bytes).contains("no event"));
    }

    #[test]
    fn a_group_merged_with_another_kind_of_state_is_refused() {
        let mut t = crate::group::GroupTable::default();
        t.merge_group(b"k", users(&["alice"])).unwrap();
        let latest = AggState { fields: vec![FieldState::Latest(None)], ..users(&[]) };
        assert_eq!(t.merge_group(b"k", latest), Err(crate::group::encode::StateError::WrongShape));
        let counted = AggState { fields: vec![], ..users(&[]) };
        assert!(t.merge_group(b"k", counted).is_err());
    }

    /// Spark's aggregated form: one row per group with the count already summed and the
    /// states of two splits listed, and one row listing both splits' stamps.
    fn spark_form(dir: &std::path::Path, first: Vec<u8>, second: Vec<u8>) -> std::path::PathBuf {
        let meta = |split: u32| {
            let p = Partial {
                stamp: stamp(),
                covered: std::iter::once(split).collect(),
                body: Body::new(1),
            };
            serde_json::to_string(&p.meta()).unwrap()
        };
        let mut states = ListBuilder::new(BinaryBuilder::new());
        states.values().append_value(first);
        states.values().append_value(second);
        states.append(true);
        states.append(true); // the stamp row: an empty list
        let mut metas = ListBuilder::new(StringBuilder::new());
        metas.append(true);
        metas.values().append_value(meta(1));
        metas.values().append_value(meta(0));
        metas.append(true);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int32Array::from(vec![Some(0), None])),
            Arc::new(BinaryArray::from(vec![Some(&b"host"[..]), None])),
            Arc::new(Int64Array::from(vec![Some(5), None])),
            Arc::new(Int64Array::from(vec![Some(10), None])),
            Arc::new(Int64Array::from(vec![Some(20), None])),
            Arc::new(states.finish()),
            Arc::new(metas.finish()),
        ];
        let batch = RecordBatch::try_from_iter(
            ["rule", "key", "count", "first_time", "last_time", "state", "meta"]
                .into_iter()
                .zip(columns),
        )
        .unwrap();
        let path = dir.join("spark.arrow");
        let file = std::fs::File::create(&path).unwrap();
        let mut w = FileWriter::try_new(file, &batch.schema()).unwrap();
        w.write(&batch).unwrap();
        w.finish().unwrap();
        path
    }

    #[test]
    fn spark_lists_of_states_merge_without_adding_the_count_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = spark_form(dir.path(), distinct(&["alice"]), distinct(&["bob", "alice"]));
        let p = read(&path).unwrap();
        assert_eq!(p.covered, [0, 1].into_iter().collect());
        let groups: Vec<(&[u8], &AggState)> = p.body.tables[0].entries().collect();
        let want = AggState {
            count: 5,
            min_time: 10,
            max_time: 20,
            fields: decode_fields(&distinct(&["alice", "bob"])).unwrap(),
        };
        assert_eq!(groups, [(&b"host"[..], &want)]);
    }

    #[test]
    fn spark_lists_of_two_kinds_of_state_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let latest = encode_fields(&[FieldState::Latest(None)]);
        let path = spark_form(dir.path(), distinct(&["alice"]), latest);
        assert!(matches!(read(&path), Err(ExchangeError::State { .. })));
    }
}
