//! The real public logs in `../shared/data` (never copied into the project). Expected rows are
//! in `fixtures/expected_real/`, worked out by hand from the raw records (NOTES.md there).

mod common;

use std::fs;

use common::{root, s, shared_data, stderr, stdout, tsreplay};

const PANACHE_XML: &str = "sysmon-xml/derived__sbousseaden__PanacheSysmon_vs_AtomicRedTeam01.xml";
const PANACHE_EVTX: &str = "evtx/sbousseaden__PanacheSysmon_vs_AtomicRedTeam01.evtx";
const WINLOGBEAT: &str =
    "json-other/elastic_beats__winlogbeat_sysmon-12-processcreate.evtx.golden.json";

fn expected(name: &str) -> String {
    fs::read_to_string(root().join("fixtures/expected_real").join(name)).expect("expected file")
}

fn csv_run(rule: Option<&str>, extra: &[&str], path: &str) -> (String, String, Option<i32>) {
    let mut args = vec!["run", "--format", "csv"];
    if let Some(r) = rule {
        args.extend(["--rule", r]);
    }
    args.extend(extra);
    args.push(path);
    let out = tsreplay(&args);
    (stdout(&out), stderr(&out), out.status.code())
}

#[test]
fn atomic_red_team_bits_gives_four_rows_from_xml_and_evtx() {
    let Some(data) = shared_data() else { return };
    let want = expected("bits_v13_panache.csv");
    for file in [PANACHE_XML, PANACHE_EVTX] {
        for args in [&["-j", "1"][..], &["-j", "2"], &["--no-prefilter"]] {
            let (got, err, code) = csv_run(None, args, s(&data.join(file)));
            assert_eq!(got, want, "{file} {args:?}\n{err}");
            assert_eq!(code, Some(0), "{file}: {err}");
            assert!(err.contains("records read:            565"), "{err}");
            assert!(err.contains("events matched:          4"), "{err}");
            // EVTX chunks the prefilter skips are not decoded, so their kinds are not counted.
            let skips = file == PANACHE_EVTX && args[0] != "--no-prefilter";
            assert_eq!(err.contains("process-creation events: 511"), !skips, "{err}");
            assert_eq!(err.contains("EVTX chunks skipped:     13"), skips, "{err}");
        }
    }
}

#[test]
fn version_5_rule_runs_from_its_yaml() {
    let Some(data) = shared_data() else { return };
    let rule = data.join("../rules/bits_job_persistence_v5.yml");
    let want = expected("bits_v5_panache.csv");
    for file in [PANACHE_XML, PANACHE_EVTX] {
        let (got, err, _) = csv_run(Some(s(&rule)), &[], s(&data.join(file)));
        assert_eq!(got, want, "{file}\n{err}");
    }
}

#[test]
fn version_13_rule_file_equals_the_embedded_default() {
    let Some(data) = shared_data() else { return };
    let rule = data.join("../rules/bits_job_persistence.yml");
    let (got, err, _) = csv_run(Some(s(&rule)), &[], s(&data.join(PANACHE_XML)));
    assert_eq!(got, expected("bits_v13_panache.csv"), "{err}");
}

#[test]
fn every_other_shared_file_reads_cleanly_and_gives_no_row() {
    let Some(data) = shared_data() else { return };
    let header = expected("bits_v13_panache.csv").lines().next().unwrap().to_string() + "\n";
    let mut files: Vec<_> = walk(&data);
    files.retain(|p| {
        let n = p.file_name().unwrap().to_string_lossy();
        !n.ends_with(".md") && !n.contains("PanacheSysmon_vs_AtomicRedTeam01")
    });
    assert!(files.len() >= 17, "found only {} data files", files.len());
    for f in files {
        let (got, err, code) = csv_run(None, &[], s(&f));
        if f.ends_with(WINLOGBEAT) {
            assert_eq!(code, Some(2), "{err}");
            assert!(err.contains("not recognised: a JSON array document"), "{err}");
            continue;
        }
        assert_eq!(got, header, "{}: rows where none are expected", f.display());
        assert_eq!(code, Some(0), "{}: {err}", f.display());
        assert!(!err.contains("malformed"), "{}: {err}", f.display());
    }
}

#[test]
fn match_all_rule_on_the_4688_and_crowdstrike_examples() {
    let Some(data) = shared_data() else { return };
    let rule = root().join("fixtures/expected_real/all_rule.yml");
    let cases = [
        (
            "security-4688-xml/\
             splunk_security_content__windows_event_log_security_4688__example_log.xml",
            "all_4688_example.csv",
        ),
        (
            "crowdstrike-json/\
             splunk_security_content__crowdstrike_processrollup2__example_log.json",
            "all_crowdstrike_example.csv",
        ),
    ];
    for (file, want) in cases {
        let (got, err, _) = csv_run(Some(s(&rule)), &[], s(&data.join(file)));
        assert_eq!(got, expected(want), "{file}\n{err}");
    }
}

#[test]
fn the_whole_folder_reports_the_unrecognised_document_and_still_prints_rows() {
    let Some(data) = shared_data() else { return };
    let out = tsreplay(&["run", "--format", "csv", s(&data)]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("elastic_beats__winlogbeat_sysmon-12-processcreate.evtx.golden.json"));
    // The XML and EVTX renderings of the same 4 events fall into the same 4 groups.
    assert_eq!(stdout(&out).lines().count(), 5);
    assert!(err.contains("events matched:          8"), "{err}");
    assert!(
        err.contains("note: EVTX chunk slots without a chunk header (unused, skipped): 8"),
        "{err}"
    );
    assert!(err.contains("skipped: non-XML text between records: 4"), "{err}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn cut_and_damaged_evtx_files_report_what_they_lost() {
    // With the prefilter off, so that every chunk is decoded and checked (a chunk the
    // prefilter skips is not checked for damage).
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let original =
        fs::read(data.join("evtx/sbousseaden__sysmon_1_persist_bitsjob_SetNotifyCmdLine.evtx"))
            .unwrap();
    // One byte short: the single chunk is cut, its 6 whole records are still read.
    let cut = dir.path().join("cut.evtx");
    fs::write(&cut, &original[..original.len() - 1]).unwrap();
    let out = tsreplay(&["run", "--no-prefilter", s(&cut)]);
    let err = stderr(&out);
    assert!(err.contains("records read:            6"), "{err}");
    assert!(err.contains("truncated: EVTX file whose final chunk is cut short: 1"), "{err}");
    assert!(err.contains("chunk 0: 65535 of 65536 bytes present"), "{err}");
    // Cut inside a record of the Atomic Red Team log: no row may come from the cut record.
    let panache = fs::read(data.join(PANACHE_EVTX)).unwrap();
    let cut = dir.path().join("panache_cut.evtx");
    fs::write(&cut, &panache[..133_127]).unwrap();
    let out = tsreplay(&["run", "--no-prefilter", "--format", "csv", s(&cut)]);
    let rows = stdout(&out);
    assert!(!rows.contains("{00000000-0000-0000-0000-000000000000}"), "{rows}");
    let want = expected("bits_v13_panache.csv");
    for row in rows.lines().skip(1) {
        assert!(want.lines().any(|w| w == row), "a row the whole file does not give: {row}");
    }
    // The only chunk with its magic damaged: damage, not an unused slot.
    let mut only = original.clone();
    only[4096] ^= 0xFF;
    let f = dir.path().join("only.evtx");
    fs::write(&f, &only).unwrap();
    let err = stderr(&tsreplay(&["run", "--no-prefilter", s(&f)]));
    assert!(err.contains("malformed: EVTX chunk that failed to parse (skipped): 1"), "{err}");
    // A zeroed chunk before the last one is a hole, reported.
    let mut holed = fs::read(data.join("evtx/omerbenamram__sysmon.evtx")).unwrap();
    holed[4096 + 4 * 65536..4096 + 5 * 65536].fill(0);
    let f = dir.path().join("hole.evtx");
    fs::write(&f, &holed).unwrap();
    let err = stderr(&tsreplay(&["run", "--no-prefilter", s(&f)]));
    assert!(err.contains("malformed: EVTX chunk that failed to parse (skipped): 1"), "{err}");
    assert!(err.contains("chunk 4"), "{err}");
    // A flipped chunk magic before the last chunk is damage, not an unused slot.
    let mut flipped = fs::read(data.join("evtx/omerbenamram__sysmon.evtx")).unwrap();
    flipped[4096] ^= 0xFF;
    let bad = dir.path().join("bad.evtx");
    fs::write(&bad, &flipped).unwrap();
    let err = stderr(&tsreplay(&["run", "--no-prefilter", s(&bad)]));
    assert!(err.contains("malformed: EVTX chunk that failed to parse (skipped): 1"), "{err}");
    assert!(err.contains("records read:            317"), "{err}");
    // One flipped bit inside a record fails the chunk's checksum: reported, not read wrong.
    let mut bit = original.clone();
    bit[0x2319] ^= 0x01;
    let crc = dir.path().join("crc.evtx");
    fs::write(&crc, &bit).unwrap();
    let err = stderr(&tsreplay(&["run", "--no-prefilter", s(&crc)]));
    assert!(err.contains("malformed: EVTX chunk that failed to parse (skipped): 1"), "{err}");
    // Shorter than the file header: not an EVTX file to read.
    let short = dir.path().join("short.evtx");
    fs::write(&short, &original[..100]).unwrap();
    let out = tsreplay(&["run", "--no-prefilter", s(&short)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("too short to be EVTX: 100 bytes"));
}

#[test]
fn evtx_chunk_skipping_never_changes_rows() {
    let Some(data) = shared_data() else { return };
    let dir = tempfile::tempdir().unwrap();
    let filters = [
        "Processes.process_name=cmd.exe",
        "Processes.process=\"*powershell*\"",
        "Processes.user=\"*IEUser*\" OR Processes.dest=\"*JUMP01*\"",
        "Processes.parent_process_name=services.exe Processes.process=\"*svc*\"",
        "Processes.process_id=4508",
        "Processes.dest=MSEDGEWIN10",
    ];
    let mut evtx: Vec<_> =
        fs::read_dir(data.join("evtx")).unwrap().map(|e| e.unwrap().path()).collect();
    evtx.sort();
    for (i, filter) in filters.iter().enumerate() {
        let rule = dir.path().join(format!("r{i}.yml"));
        let search = format!(
            "| tstats fillnull_value=null count min(_time) as t FROM datamodel=Endpoint.Processes \
             WHERE {filter} BY Processes.dest Processes.process Processes.process_id"
        );
        let yaml = format!("name: Skip Check {i}\nsearch: '{}'\n", search.replace('\'', "''"));
        fs::write(&rule, yaml).unwrap();
        for f in &evtx {
            let with = tsreplay(&["run", "--format", "csv", "--rule", s(&rule), s(f)]);
            let without =
                tsreplay(&["run", "--format", "csv", "--no-prefilter", "--rule", s(&rule), s(f)]);
            assert_eq!(stdout(&with), stdout(&without), "{filter} over {}", f.display());
        }
    }
}

/// Every catalog rule that returns rows on the shared data in one pass, and every seventh of
/// the others, must give the same rows run alone (prefilter on) as inside the pass (where
/// rules without literals make every record parsed). This caught literals sharing a
/// four-byte prefix being checked as one (`*Shadov*` hid `*Shadow*`).
#[test]
fn each_rule_alone_gives_its_rows_of_the_one_pass_run() {
    let Some(data) = shared_data() else { return };
    let content = root().join("../shared/security_content");
    assert!(content.join("detections").is_dir(), "security_content beside the data");
    let profile = tsreplay::cim::Profile::default_profile();
    let cat = tsreplay::catalog::load(&[content], &[], &profile, true).expect("catalog loads");
    let rules = cat.rules();
    assert!(rules.len() > 400, "{} rules compiled", rules.len());
    let opts = tsreplay::engine::Options { threads: 2, ..Default::default() };
    let set = tsreplay::engine::RuleSet::new(rules.clone());
    let all = tsreplay::engine::run_set(&set, std::slice::from_ref(&data), &opts);
    let mut checked = 0;
    let mut differ = Vec::new();
    for (i, (rule, outcome)) in rules.iter().zip(&all.rules).enumerate() {
        if outcome.table.rows.is_empty() && i % 7 != 0 {
            continue;
        }
        let alone = tsreplay::engine::run(rule, std::slice::from_ref(&data), &opts);
        checked += 1;
        if alone.table != outcome.table {
            differ.push(format!(
                "{}: alone {} rows, in the pass {}",
                rule.plan.name,
                alone.table.rows.len(),
                outcome.table.rows.len()
            ));
        }
    }
    assert!(checked > 100, "{checked} rules checked");
    assert!(differ.is_empty(), "{} rules differ:\n{}", differ.len(), differ.join("\n"));
}
