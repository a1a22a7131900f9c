//! Property: for random split sizes and random merge orders, the contract's rows are exactly
//! the single-process run's, for every golden case and over the shared data's EVTX files.
//! (The single-process rows are themselves checked against hand-worked values in
//! `tests/cases.rs`; here they are the reference the issue names.)

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;

use tsreplay::engine::{self, Options, RuleSet};
use tsreplay::exchange::{ipc, Manifest, Partial};
use tsreplay::output::ResultTable;
use tsreplay::spl::{Detection, MacroTable};

fn case(dir: &str) -> (RuleSet, Vec<PathBuf>, jiff::tz::TimeZone) {
    let dir = common::root().join("fixtures/cases").join(dir);
    let det = Detection::from_path(&dir.join("rule.yml")).unwrap();
    let rule = engine::compile(
        &det,
        &MacroTable::with_defaults(),
        tsreplay::cim::Profile::default_profile(),
    )
    .unwrap();
    let mut inputs: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("input_")))
        .collect();
    inputs.sort();
    let args = fs::read_to_string(dir.join("args")).unwrap_or_default();
    let tz = match args.split_whitespace().nth(1) {
        Some(name) => tsreplay::output::time_zone(name).unwrap(),
        None => jiff::tz::TimeZone::UTC,
    };
    (RuleSet::new(vec![rule]), inputs, tz)
}

/// The rows through splits of `size`, partials written and read back as Arrow IPC, merged in
/// the order `picks` gives (each pick chooses the two of the remaining parts to merge next).
fn distributed(
    set: &RuleSet,
    inputs: &[PathBuf],
    size: u64,
    picks: &[(usize, usize)],
    tz: &jiff::tz::TimeZone,
) -> Vec<ResultTable> {
    let m = Manifest::plan(inputs, size, None);
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options { threads: 1, ..Options::default() };
    let mut parts: Vec<Partial> = (0..m.splits.len() as u32)
        .map(|i| {
            let (p, stopped) = engine::run_split(set, &m, i, &opts).unwrap();
            assert!(stopped.is_none());
            round_trip(tmp.path(), &p, i)
        })
        .collect();
    let mut k = 0;
    while parts.len() > 1 {
        let (a, b) = picks.get(k).copied().unwrap_or((0, 1));
        k += 1;
        let a = a % parts.len();
        let mut b = b % (parts.len() - 1);
        if b >= a {
            b += 1;
        }
        let right = parts.remove(b);
        let left = &mut parts[if b < a { a - 1 } else { a }];
        left.merge(right).unwrap();
    }
    let merged = parts.pop().unwrap();
    let (_, report) = engine::finish_partial(merged, tz, 1).unwrap();
    report.rules.into_iter().map(|r| r.table).collect()
}

fn round_trip(dir: &Path, p: &Partial, i: u32) -> Partial {
    let path = dir.join(format!("{i}.arrow"));
    let mut file = fs::File::create(&path).unwrap();
    ipc::write(p, &mut file).unwrap();
    ipc::read(&path).unwrap()
}

fn local(set: &RuleSet, inputs: &[PathBuf], tz: &jiff::tz::TimeZone) -> Vec<ResultTable> {
    let opts = Options { threads: 2, tz: tz.clone(), ..Options::default() };
    engine::run_set(set, inputs, &opts).rules.into_iter().map(|r| r.table).collect()
}

fn assert_same(got: &[ResultTable], want: &[ResultTable]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.columns, w.columns);
        assert_eq!(g.rows, w.rows);
    }
}

const CASES: &[&str] = &[
    "bits_job_persistence_v13_full",
    "aggregates_raw_epoch",
    "crowdstrike_fdr",
    "multivalue_data",
    "sec4688_shapes_and_fields",
    "ctime_dst_new_york",
    "flat_json_mordor_nxlog",
    "xml_entities_multiline",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_splits_and_merge_orders_give_the_local_rows(
        which in 0..CASES.len(),
        size in 1u64..6000,
        picks in proptest::collection::vec((0usize..64, 0usize..64), 0..64),
    ) {
        let (set, inputs, tz) = case(CASES[which]);
        let want = local(&set, &inputs, &tz);
        prop_assert!(want.iter().any(|t| !t.rows.is_empty()), "{} has rows", CASES[which]);
        assert_same(&distributed(&set, &inputs, size, &picks, &tz), &want);
    }
}

#[test]
fn random_evtx_splits_of_the_shared_data_give_the_local_rows() {
    let Some(data) = common::shared_data() else { return };
    let rules = common::root().join("../shared/security_content/detections/endpoint");
    let profile = tsreplay::cim::Profile::default_profile();
    let cat = tsreplay::catalog::load(&[rules], &[], &profile, true).unwrap();
    let set = RuleSet::new(cat.rules());
    let inputs = vec![data.join("evtx")];
    let tz = jiff::tz::TimeZone::UTC;
    let want = local(&set, &inputs, &tz);
    assert!(want.iter().filter(|t| !t.rows.is_empty()).count() > 3);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(4));
    let sizes = (1u64..400_000, proptest::collection::vec((0usize..64, 0usize..64), 0..40));
    runner
        .run(&sizes, |(size, picks)| {
            assert_same(&distributed(&set, &inputs, size, &picks, &tz), &want);
            Ok(())
        })
        .unwrap();
}

#[test]
fn finish_refuses_a_partial_of_another_tsreplay_version() {
    let (set, inputs, tz) = case("crowdstrike_fdr");
    let m = Manifest::plan(&inputs, 1 << 20, None);
    let (mut p, _) = engine::run_split(&set, &m, 0, &Options::default()).unwrap();
    assert!(engine::finish_partial(p.clone(), &tz, 1).is_ok());
    p.stamp.tsreplay = "0.0.1-other".into();
    let refused = engine::finish_partial(p, &tz, 1);
    assert!(matches!(refused, Err(tsreplay::exchange::ExchangeError::Mismatch { .. })));
}
