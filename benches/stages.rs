//! Criterion benches, one group per stage, each reporting `Throughput::Bytes` over seeded
//! `tsreplay gen` data (8 MiB per format): prefilter, XML extraction, JSON extraction, EVTX
//! record reading (the real Panache log from `../shared/data`, when present), CIM mapping and
//! group merge. Run: `cargo bench --bench stages`.

use std::borrow::Cow;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tsreplay::cim::{CimEvent, Profile};
use tsreplay::engine::{self, Compiled};
use tsreplay::event::{json, xml};
use tsreplay::gen::{generate, GenFormat};
use tsreplay::group::GroupTable;
use tsreplay::input::frame::{self, XmlItem};
use tsreplay::schema::RecordFormat;
use tsreplay::spl::{Detection, MacroTable};

const SIZE: u64 = 8 << 20;

fn data(format: GenFormat) -> Vec<u8> {
    let mut out = Vec::new();
    generate(&mut out, format, SIZE, 0.002, 1).expect("generation writes to memory");
    out
}

fn rule() -> Compiled {
    let det = Detection::default_rule();
    engine::compile(&det, &MacroTable::with_defaults(), Profile::default_profile())
        .expect("the default rule compiles")
}

fn xml_records(bytes: &[u8]) -> Vec<&str> {
    let mut out = Vec::new();
    frame::xml_items(bytes, |item| {
        if let XmlItem::Record { range, .. } = item {
            out.push(std::str::from_utf8(&bytes[range]).expect("generated text is UTF-8"));
        }
    });
    out
}

fn prefilter(c: &mut Criterion) {
    let rule = rule();
    let sysmon = data(GenFormat::SysmonXml);
    let records = xml_records(&sysmon);
    let mut g = c.benchmark_group("prefilter");
    g.throughput(Throughput::Bytes(sysmon.len() as u64));
    g.bench_function("sysmon_xml_records", |b| {
        b.iter(|| {
            let f = &rule.prefilter;
            records.iter().filter(|r| f.may_match(RecordFormat::SplunkXml, r.as_bytes())).count()
        })
    });
    g.bench_function("framing_only", |b| b.iter(|| xml_records(black_box(&sysmon)).len()));
    g.finish();
}

fn xml_extraction(c: &mut Criterion) {
    let rule = rule();
    let sysmon = data(GenFormat::SysmonXml);
    let records = xml_records(&sysmon);
    let mut g = c.benchmark_group("xml_extraction");
    g.throughput(Throughput::Bytes(sysmon.len() as u64));
    g.bench_function("header_and_fields", |b| {
        b.iter(|| {
            records.iter().filter_map(|r| xml::extract(r, xml::header(r), &rule.projection)).count()
        })
    });
    g.finish();
}

fn json_extraction(c: &mut Criterion) {
    let rule = rule();
    let cs = data(GenFormat::CrowdStrikeJson);
    let lines: Vec<&[u8]> = cs.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    let mut g = c.benchmark_group("json_extraction");
    g.throughput(Throughput::Bytes(cs.len() as u64));
    g.bench_function("crowdstrike_lines", |b| {
        let mut buf = Vec::new();
        b.iter(|| {
            let mut n = 0;
            for line in &lines {
                buf.clear();
                buf.extend_from_slice(line);
                n += usize::from(json::parse(&mut buf, &rule.projection).is_ok());
            }
            n
        })
    });
    g.finish();
}

fn evtx_record(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/evtx/sbousseaden__PanacheSysmon_vs_AtomicRedTeam01.evtx");
    let Ok(bytes) = std::fs::read(&path) else {
        eprintln!("skipping evtx_record: {} is not there", path.display());
        return;
    };
    let mut g = c.benchmark_group("evtx_record");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("panache_all_chunks", |b| {
        b.iter(|| {
            let mut n = 0u64;
            tsreplay::input::evtx::read(black_box(&bytes), None, |_| n += 1);
            n
        })
    });
    g.finish();
}

fn cim_mapping(c: &mut Criterion) {
    let rule = rule();
    let sysmon = data(GenFormat::SysmonXml);
    let records = xml_records(&sysmon);
    let events: Vec<_> = records
        .iter()
        .filter_map(|r| match xml::extract(r, xml::header(r), &rule.projection) {
            Some(xml::Extracted::Event(e)) => Some(e),
            _ => None,
        })
        .collect();
    let mut g = c.benchmark_group("cim_mapping");
    g.throughput(Throughput::Bytes(sysmon.len() as u64));
    g.bench_function("all_twenty_fields", |b| {
        b.iter(|| events.iter().filter(|e| rule.mapper.map(e).is_ok()).count())
    });
    g.finish();
}

fn group_merge(c: &mut Criterion) {
    let rule = rule();
    let n = rule.plan.fields.len();
    let table = |offset: usize| {
        let mut t = GroupTable::default();
        for i in 0..50_000 {
            let values =
                (0..n).map(|f| vec![Cow::Owned(format!("v{f}-{}", (i + offset) % 80_000))]);
            let ev = CimEvent {
                values: values.collect(),
                time: i as i64,
                time_fallback: false,
                mapped: n,
            };
            let _ = t.add(&rule.plan, &ev);
        }
        t
    };
    let (a, b) = (table(0), table(30_000));
    let bytes: u64 = 2 * 50_000 * n as u64 * 10;
    let mut g = c.benchmark_group("group_merge");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.bench_function("two_tables_of_50k_groups", |bench| {
        bench.iter(|| {
            let mut left = a.clone();
            left.merge(b.clone());
            left.len()
        })
    });
    g.finish();
}

criterion_group!(
    stages,
    prefilter,
    xml_extraction,
    json_extraction,
    evtx_record,
    cim_mapping,
    group_merge
);
criterion_main!(stages);
