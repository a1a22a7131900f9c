//! `compare`, `diff`, `test` and `--findings` end to end, over the team-written fixtures in
//! `fixtures/compare`, `fixtures/harness` and `fixtures/attack_data`. Every expected count,
//! hint and profile line is worked out by hand in those folders' `NOTES.md`.

mod common;

use common::{run, tsreplay};

const CASE: &str = "fixtures/cases/bits_job_persistence_v13_full";

/// `compare` of the v13 golden case with `export`, plus extra arguments.
fn compare(export: &str, extra: &[&str]) -> (i32, String, String) {
    let rule = format!("{CASE}/rule.yml");
    let splunk = format!("fixtures/compare/{export}");
    let inputs = [
        format!("{CASE}/input_sysmon.xml"),
        format!("{CASE}/input_security.xml"),
        format!("{CASE}/input_falcon.json"),
    ];
    let mut args = vec!["compare", "-q", "--rule", &rule, "--splunk", &splunk];
    args.extend_from_slice(extra);
    args.extend(inputs.iter().map(String::as_str));
    run(&args)
}

/// Asserts that lines starting with `lines` appear in `text` in this order (lines trimmed).
fn assert_lines_in_order(text: &str, lines: &[&str]) {
    let mut rest = text.lines().map(str::trim);
    for want in lines {
        let found = rest.any(|l| l.starts_with(want));
        assert!(found, "line `{want}` missing (or out of order) in:\n{text}");
    }
}

#[test]
fn equal_csv_export_exits_zero() {
    let (code, out, _) = compare("splunk_equal.csv", &[]);
    assert_eq!(code, 0, "{out}");
    assert_lines_in_order(
        &out,
        &[
            "tsreplay: 5 rows (replayed over 3 files)",
            "columns compared: 23",
            "columns only in Splunk (not compared): search_name",
            "equal rows: 5",
            "near rows: 0",
            "rows only in Splunk: 0",
            "rows only in tsreplay: 0",
            "EQUAL: 5 rows on 23 columns",
        ],
    );
}

#[test]
fn results_json_names_near_rows_and_the_profile_fix() {
    let (code, out, _) = compare("splunk_results.json", &["--job", "fixtures/compare/job.json"]);
    assert_eq!(code, 1, "{out}");
    assert_lines_in_order(
        &out,
        &[
            "Splunk:   5 rows (fixtures/compare/splunk_results.json, REST results JSON)",
            "columns only in Splunk (not compared): tag",
            "equal rows: 0",
            "near rows: 4",
            "rows only in Splunk: 1",
            "rows only in tsreplay: 1",
            "parent_process_id        tsreplay: 0x4e1c",
            "Splunk:   19996",
            "process_id               tsreplay: 0x4e20",
            "Splunk:   20000",
            "systematic differences",
            "user: Splunk drops the domain in 3 of 3 near rows (tsreplay `CORP\\wlee`, Splunk \
             `wlee`)",
            "[sources.sysmon_xml.fields]",
            "user = { field = \"User\", strip_domain = true }",
            "# sysmon_json inherits it",
            "user_id: Splunk has the value without the ' around it in 3 of 3 near rows \
             (tsreplay `'S-1-5-18'`, Splunk `S-1-5-18`)",
            "user_id = { field = \"UserID\" }",
            "Splunk:   runDuration 1.250 s (scanCount 11, eventCount 11, resultCount 5)",
            "DIFFERENT: 0 equal, 4 near, 1 only in Splunk, 1 only in tsreplay",
        ],
    );
    assert!(out.contains("dest=ws-bits-09.corp.tsr"), "the Splunk-only row is listed");
    assert!(out.contains("dest=WKS-BITS-03"), "the tsreplay-only row is listed");
    // One row differs in its pids: not systematic.
    assert!(!out.contains("process_id: Splunk writes"), "{out}");
    assert!(!out.contains("not the same events"), "scanCount equals the 11 records read");
}

#[test]
fn suggested_profile_closes_the_gap() {
    let dir = tempfile::tempdir().unwrap();
    let fix = dir.path().join("fix.toml");
    let fix = fix.to_str().unwrap();
    let (code, _, _) = compare("splunk_results.json", &["--suggest-profile", fix]);
    assert_eq!(code, 1);
    let text = std::fs::read_to_string(fix).unwrap();
    assert!(text.contains("[sources.sysmon_xml.fields]"), "{text}");
    let (code, out, _) = compare("splunk_results.json", &["--profile", fix]);
    assert_eq!(code, 1);
    assert_lines_in_order(
        &out,
        &["DIFFERENT: 3 equal, 1 near, 1 only in Splunk, 1 only in tsreplay"],
    );
    // The 4688 pids in decimal, by hand: the number switch makes the fourth row equal.
    let more = format!(
        "{text}\n[sources.security_4688_xml.fields]\n\
         process_id = {{ field = \"NewProcessId\", number = \"decimal\" }}\n\
         parent_process_id = {{ field = \"ProcessId\", number = \"decimal\" }}\n"
    );
    let fix2 = dir.path().join("fix2.toml");
    std::fs::write(&fix2, more).unwrap();
    let (_, out, _) = compare("splunk_results.json", &["--profile", fix2.to_str().unwrap()]);
    assert_lines_in_order(
        &out,
        &["DIFFERENT: 4 equal, 0 near, 1 only in Splunk, 1 only in tsreplay"],
    );
}

#[test]
fn export_lines_two_hours_later_hint_the_time_zone() {
    let (code, out, _) = compare("splunk_export.jsonl", &[]);
    assert_eq!(code, 1);
    assert_lines_in_order(
        &out,
        &[
            "Splunk:   5 rows (fixtures/compare/splunk_export.jsonl, export JSON lines)",
            "near rows: 5",
            "firstTime: Splunk's times are 2:00 h later in 5 of 5 near rows (tsreplay \
             `2024-06-08T07:00:21`, Splunk `2024-06-08T09:00:21`)",
            "lastTime: Splunk's times are 2:00 h later in 5 of 5 near rows (tsreplay \
             `2024-06-08T07:00:21`, Splunk `2024-06-08T09:00:21`)",
        ],
    );
    let (code, out, _) = compare("splunk_export.jsonl", &["--tz", "Europe/Paris"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("EQUAL: 5 rows on 23 columns"));
}

#[test]
fn diff_finds_hex_pids_and_unknown_for_null() {
    let (code, out, _) =
        run(&["diff", "fixtures/compare/diff_ours.csv", "fixtures/compare/diff_splunk.csv"]);
    assert_eq!(code, 1, "{out}");
    assert_lines_in_order(
        &out,
        &[
            "equal rows: 1",
            "near rows: 3",
            "rows only in Splunk: 0",
            "rows only in tsreplay: 0",
            "original_file_name: Splunk has `null` where tsreplay has `unknown` in 3 of 3 near \
             rows (tsreplay `unknown`, Splunk `null`)",
            "[sources.security_4688_xml.fields]",
            "original_file_name = { missing = true, cim_default = false }",
            "# security_4688_json inherits it",
            "process_id: Splunk writes the number in decimal in 3 of 3 near rows (tsreplay \
             `0x1f4`, Splunk `500`)",
            "process_id = { field = \"NewProcessId\", number = \"decimal\" }",
        ],
    );
    assert!(!out.contains("parent_process_id:"), "parent pids are equal: {out}");
    // With one differing column allowed, no row pairs: all three are listed on each side.
    let (_, out, _) = run(&[
        "diff",
        "--near",
        "1",
        "fixtures/compare/diff_ours.csv",
        "fixtures/compare/diff_splunk.csv",
    ]);
    assert!(out.contains("DIFFERENT: 1 equal, 0 near, 3 only in Splunk, 3 only in tsreplay"));
    // Pairing by a key column pairs them again, whatever else differs.
    let (_, out, _) = run(&[
        "diff",
        "--near",
        "1",
        "--key",
        "dest",
        "fixtures/compare/diff_ours.csv",
        "fixtures/compare/diff_splunk.csv",
    ]);
    assert!(out.contains("DIFFERENT: 1 equal, 3 near, 0 only in Splunk, 0 only in tsreplay"));
}

#[test]
fn diff_reads_our_own_json_and_csv_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = format!("{CASE}/input_sysmon.xml");
    let rule = format!("{CASE}/rule.yml");
    let json = tsreplay(&["run", "-q", "--format", "json", "--rule", &rule, &input]);
    let csv = tsreplay(&["run", "-q", "--format", "csv", "--rule", &rule, &input]);
    let (j, c) = (dir.path().join("o.json"), dir.path().join("o.csv"));
    std::fs::write(&j, &json.stdout).unwrap();
    std::fs::write(&c, &csv.stdout).unwrap();
    let (code, out, _) = run(&["diff", j.to_str().unwrap(), c.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    // The three Sysmon rows of the golden case.
    assert!(out.contains("EQUAL: 3 rows on 23 columns"), "{out}");
}

#[test]
fn unreadable_exports_exit_two_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"result\":{\"a\":\"1\"}}\n{\"result\":\n").unwrap();
    let (code, _, err) = run(&["diff", "fixtures/compare/diff_ours.csv", bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("malformed JSON at line 2"), "{err}");
    let table = dir.path().join("t.txt");
    std::fs::write(&table, "a    b\n---  --\n1    2\n").unwrap();
    let (code, _, err) = run(&["diff", table.to_str().unwrap(), "fixtures/compare/diff_ours.csv"]);
    assert_eq!(code, 2);
    assert!(err.contains("--format csv or --format json"), "{err}");
    let (code, _, err) = compare("missing.csv", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.csv: cannot read"), "{err}");
    // A rule that does not compile stops compare with 2, not 1 ("different").
    let (code, _, _) = run(&[
        "compare",
        "--splunk",
        "fixtures/compare/splunk_equal.csv",
        "--rule",
        "fixtures/compare/NOTES.md",
        "fixtures/compare",
    ]);
    assert_eq!(code, 2);
}

#[test]
fn published_rules_pass_their_unit_tests_offline() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let (code, out, _) = run(&[
        "test",
        "../shared/rules/bits_job_persistence.yml",
        "../shared/rules/bits_job_persistence_v5.yml",
        "--data-dir",
        "fixtures/attack_data",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    if !common::root().join("../shared/rules").is_dir() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI needs ../shared");
        eprintln!("skipped: ../shared/rules is not beside the checkout");
        return;
    }
    assert_eq!(code, 0, "{out}");
    assert_lines_in_order(
        &out,
        &[
            "PASS   BITS Job Persistence: True Positive Test #1  (3 rows, 7 events,",
            "PASS   BITS Job Persistence: True Positive Test #2  (1 row, 2 events,",
            "PASS   BITS Job Persistence: True Positive Test #1  (3 rows, 7 events,",
            "PASS   BITS Job Persistence: True Positive Test #2  (1 row, 2 events,",
            "4 tests: 4 passed, 0 failed, 0 skipped, 0 errors",
        ],
    );
    let xml = std::fs::read_to_string(junit).unwrap();
    assert!(xml.contains("tests=\"4\" skipped=\"0\" failures=\"0\" errors=\"0\""), "{xml}");
}

#[test]
fn harness_outcomes_match_the_hand_worked_table() {
    let (code, out, _) =
        run(&["test", "fixtures/harness", "--data-dir", "fixtures/attack_data", "-j", "1"]);
    assert_eq!(code, 1);
    let status: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(status, ["PASS", "FAIL", "SKIP", "ERROR", "ERROR", "SKIP", "FAIL", "SKIP"], "{out}");
    assert_lines_in_order(
        &out,
        &[
            "note: contentctl's row-order check (--strict) fails: row 1 has risk-object field \
             `process_guid` missing or null",
            "no row has every risk-object field set (process_guid)",
            "the search returned no row",
            "data missing: no fixtures/attack_data/datasets/other/place/windows-sysmon-benign.log; \
             fixtures/attack_data/datasets/quiet/windows-sysmon-benign.log has the same name",
            "8 tests: 1 passed, 2 failed, 3 skipped, 2 errors",
        ],
    );
    assert!(out.contains("(4 rows, 9 events"), "{out}");
    assert!(out.contains("is a Git LFS pointer, not the data"), "{out}");
    assert!(out.contains("sourcetype `WinEventLog` is not one tsreplay reads"), "{out}");
    let (_, out, _) = run(&[
        "test",
        "fixtures/harness/bits_guid_risk.yml",
        "--data-dir",
        "fixtures/attack_data",
        "--strict",
    ]);
    assert!(out.contains("8 tests: 0 passed, 3 failed, 3 skipped, 2 errors"), "{out}");
}

#[test]
fn a_flat_data_folder_is_searched_by_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let falcon = "fixtures/attack_data/datasets/attack_techniques/T1197/atomic_red_team/\
                  crowdstrike_falcon.log";
    std::fs::copy(falcon, dir.path().join("crowdstrike_falcon.log")).unwrap();
    let data = dir.path().to_str().unwrap();
    let (_, out, _) = run(&["test", "fixtures/harness/bits_guid_risk.yml", "--data-dir", data]);
    let status: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    // NOTES.md: tests 1, 3, 4, 7, 8 lack their files; 5 and 6 fail before looking.
    assert_eq!(status, ["SKIP", "FAIL", "SKIP", "SKIP", "ERROR", "SKIP", "SKIP", "SKIP"], "{out}");
}

#[test]
fn macro_files_in_a_folder_are_named_not_failed() {
    if !common::root().join("../shared/rules").is_dir() {
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "CI needs ../shared");
        eprintln!("skipped: ../shared/rules is not beside the checkout");
        return;
    }
    let (code, out, _) = run(&["test", "../shared/rules", "--data-dir", "fixtures/attack_data"]);
    assert_eq!(code, 0, "{out}");
    // The folder holds 2 detections and 6 macro files.
    assert!(out.contains("note: 6 YAML files in the folders are not detections"), "{out}");
    assert!(out.contains("4 tests: 4 passed, 0 failed, 0 skipped, 0 errors"), "{out}");
    let empty = tempfile::tempdir().unwrap();
    let (code, out, _) =
        run(&["test", empty.path().to_str().unwrap(), "--data-dir", "fixtures/attack_data"]);
    assert_eq!(code, 1);
    assert!(out.contains("no test found"), "{out}");
}

/// Writes `tables` (name, CSV text) into a temporary folder.
fn tables(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn diff_in(dir: &tempfile::TempDir, a: &str, b: &str) -> (i32, String, String) {
    let (a, b) = (dir.path().join(a), dir.path().join(b));
    run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()])
}

#[test]
fn no_results_compare_equal_to_no_rows() {
    let benign = "fixtures/attack_data/datasets/quiet/windows-sysmon-benign.log";
    let dir = tables(&[
        ("empty.csv", ""),
        ("results.json", "{\"preview\":false,\"results\":[]}"),
        ("export.jsonl", "{\"preview\":false,\"lastrow\":true}\n"),
    ]);
    for f in ["empty.csv", "results.json", "export.jsonl"] {
        let splunk = dir.path().join(f);
        let (code, out, _) = run(&["compare", "-q", "--splunk", splunk.to_str().unwrap(), benign]);
        assert_eq!(code, 0, "{f}: {out}");
        assert!(out.contains("EQUAL: 0 rows on 23 columns"), "{f}: {out}");
    }
}

#[test]
fn tables_without_a_common_column_cannot_be_compared() {
    let dir = tables(&[("a.csv", "x,y\n1,2\n"), ("b.csv", "hello world\n")]);
    let (code, _, err) = diff_in(&dir, "a.csv", "b.csv");
    assert_eq!(code, 2);
    assert!(err.contains("no column in common"), "{err}");
}

const HEAD: &str = "dest,user,process_hash,firstTime,vendor_product\n";

#[test]
fn a_fix_that_would_break_equal_rows_is_not_proposed() {
    let ours = format!(
        "{HEAD}h1,CORP\\a,x,2024-01-10T10:00:00,Microsoft Sysmon\n\
         h2,CORP\\b,x,2024-01-10T10:00:00,Microsoft Sysmon\n\
         h3,CORP\\c,x,2024-01-10T10:00:00,Microsoft Sysmon\n"
    );
    let splunk = format!(
        "{HEAD}h1,a,x,2024-01-10T10:00:00,Microsoft Sysmon\n\
         h2,b,x,2024-01-10T10:00:00,Microsoft Sysmon\n\
         h3,CORP\\c,x,2024-01-10T10:00:00,Microsoft Sysmon\n"
    );
    let dir = tables(&[("o.csv", &ours), ("s.csv", &splunk)]);
    let (code, out, _) = diff_in(&dir, "o.csv", "s.csv");
    assert_eq!(code, 1);
    assert_lines_in_order(
        &out,
        &[
            "user: Splunk drops the domain in 2 of 2 near rows",
            "no profile line proposed: the change would also alter 1 row that is equal now",
            "the lines that make the value now:",
            "[sources.sysmon_xml.fields]",
            "user = { field = \"User\" }",
        ],
    );
}

#[test]
fn daylight_saving_gives_one_zone_hint_and_multivalues_no_profile_line() {
    let ours = format!(
        "{HEAD}h1,u,A=1,2024-01-10T10:00:00,Microsoft Sysmon\n\
         h2,u,A=1,2024-06-10T10:00:00,Microsoft Sysmon\n\
         h3,u,\"A=1,B=2\",2024-02-01T00:00:00,Microsoft Sysmon\n\
         h4,u,\"A=1,B=2\",2024-02-01T00:00:00,Microsoft Sysmon\n"
    );
    // Paris: UTC+1 in January, UTC+2 in June; h3 and h4 with the hashes as a multivalue.
    let splunk = format!(
        "{HEAD}h1,u,A=1,2024-01-10T11:00:00,Microsoft Sysmon\n\
         h2,u,A=1,2024-06-10T12:00:00,Microsoft Sysmon\n\
         h3,u,\"A=1\nB=2\",2024-02-01T00:00:00,Microsoft Sysmon\n\
         h4,u,\"A=1\nB=2\",2024-02-01T00:00:00,Microsoft Sysmon\n"
    );
    let dir = tables(&[("o.csv", &ours), ("s.csv", &splunk)]);
    let (_, out, _) = diff_in(&dir, "o.csv", "s.csv");
    assert_lines_in_order(
        &out,
        &[
            "process_hash: Splunk has a multivalue of the value split on `,` in 2 of 2 near rows",
            "no profile line proposed: a BY field gives one row per value",
            "firstTime: Splunk's times are 1:00 h later or 2:00 h later in 2 of 2 near rows",
            "Splunk's user time zone differs from the one tsreplay printed in",
        ],
    );
}

#[test]
fn unpaired_rows_say_how_to_pair_them() {
    let ours = format!("{HEAD}h1,CORP\\a,p,2024-01-10T10:00:00,Microsoft Sysmon\n");
    let splunk = format!("{HEAD}h1,a,q,2024-01-10T11:00:00,Microsoft Sysmon\n");
    let dir = tables(&[("o.csv", &ours), ("s.csv", &splunk)]);
    let (_, out, _) = diff_in(&dir, "o.csv", "s.csv");
    assert!(out.contains("raise --near, or pair them with --key COLUMNS"), "{out}");
    let (a, b) = (dir.path().join("o.csv"), dir.path().join("s.csv"));
    let (_, out, _) = run(&["diff", "--key", "dest", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(out.contains("DIFFERENT: 0 equal, 1 near, 0 only in Splunk, 0 only in tsreplay"));
}

#[test]
fn findings_fill_the_message_from_each_row() {
    let rule = "fixtures/harness/bits_guid_risk.yml";
    let input = format!("{CASE}/input_falcon.json");
    let (code, out, _) = run(&["run", "-q", "--findings", "--rule", rule, &input]);
    assert_eq!(code, 0);
    assert_lines_in_order(
        &out,
        &[
            "findings",
            "row 1",
            // dest and process_guid of the CrowdStrike row (NOTES.md of the golden case).
            "message: BITS job on WKS-BITS-03 by null",
            "entity: process_guid=null (type other, score 10)",
            "threat object: process_name=bitsadmin.exe (type process_name)",
            "mitre: T1197",
        ],
    );
    let (_, out, _) = run(&["run", "-q", "--findings", "--format", "json", "--rule", rule, &input]);
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["row"]["dest"], "WKS-BITS-03");
    assert_eq!(v["finding"]["message"], "BITS job on WKS-BITS-03 by null");
    assert_eq!(v["finding"]["entities"][0]["score"], 10.0);
    let (code, _, err) = run(&["run", "-q", "--findings", "--format", "csv", &input]);
    assert_eq!(code, 2);
    assert!(err.contains("--findings needs"), "{err}");
}

/// Findings of the bad-input review of compare, diff and test, each a regression test.
mod hostile {
    use super::{diff_in, run, tables};

    #[test]
    fn distinct_keys_per_row_are_bounded_not_quadratic() {
        let keys: String = (0..5000).map(|i| format!("{{\"k{i}\":\"1\"}}\n")).collect();
        let dir = tables(&[("a.csv", "k0\n1\n"), ("keys.json", &keys)]);
        let (code, _, err) = diff_in(&dir, "a.csv", "keys.json");
        assert_eq!(code, 2);
        assert!(err.contains("more than 4096 distinct columns"), "{err}");
    }

    #[test]
    fn a_failed_splunk_search_is_not_an_empty_result() {
        let fatal = "{\"preview\":false,\"messages\":[{\"type\":\"FATAL\",\"text\":\"Error in \
                     tstats: datamodel not found\"}],\"fields\":[],\"results\":[]}";
        let lines = "{\"messages\":[{\"type\":\"ERROR\",\"text\":\"bad\"}]}\n";
        let dir = tables(&[("a.csv", "dest\n"), ("fatal.json", fatal), ("lines.json", lines)]);
        for f in ["fatal.json", "lines.json"] {
            let (code, _, err) = diff_in(&dir, "a.csv", f);
            assert_eq!(code, 2, "{f}");
            assert!(err.contains("the Splunk search failed"), "{f}: {err}");
        }
    }

    #[test]
    fn columns_named_like_export_framing_are_rows() {
        let a = "{\"dest\":\"A\",\"preview\":\"1\"}\n{\"dest\":\"B\",\"preview\":\"2\"}\n";
        let b = "{\"dest\":\"X\",\"preview\":\"9\"}\n";
        let dir = tables(&[("a.json", a), ("b.json", b)]);
        let (code, out, _) = diff_in(&dir, "a.json", "b.json");
        assert_eq!(code, 1);
        assert!(out.contains("tsreplay: 2 rows") && out.contains("Splunk:   1 rows"), "{out}");
    }

    #[test]
    fn duplicate_columns_and_invalid_utf8_are_not_hidden() {
        let dir = tables(&[("d.csv", "a,a,b\n1,2,x\n"), ("e.csv", "a,b\n1,x\n")]);
        let (code, _, err) = diff_in(&dir, "e.csv", "d.csv");
        assert_eq!(code, 2);
        assert!(err.contains("column `a` appears twice"), "{err}");
        std::fs::write(dir.path().join("u1.csv"), b"a,b\n\xff,1\n").unwrap();
        std::fs::write(dir.path().join("u2.csv"), b"a,b\n\xfe,1\n").unwrap();
        let (code, out, _) = diff_in(&dir, "u1.csv", "u2.csv");
        assert_eq!(code, 0);
        assert!(out.contains("held invalid UTF-8, read as U+FFFD"), "{out}");
    }

    #[test]
    fn long_numbers_are_not_times() {
        let o = "dest,process_id\na,123456789\nb,223456789\n";
        let s = "dest,process_id\na,123456790\nb,223456790\n";
        let dir = tables(&[("o.csv", o), ("s.csv", s)]);
        let (_, out, _) = diff_in(&dir, "o.csv", "s.csv");
        assert!(!out.contains("times are"), "{out}");
        assert!(out.contains("process_id: Splunk has another value in 2 of 2"), "{out}");
    }

    #[test]
    fn names_and_values_cannot_forge_report_lines() {
        let dir = tables(&[
            ("a.csv", "dest\nh\n"),
            ("b.csv", "dest,\"b\u{1b}[31m\nfake line: EQUAL\"\nh,1\n"),
        ]);
        let (_, out, _) = diff_in(&dir, "a.csv", "b.csv");
        assert!(!out.contains('\u{1b}'), "{out}");
        assert!(!out.lines().any(|l| l.starts_with("fake line")), "{out}");
    }

    #[test]
    fn a_lookup_fix_changes_the_raw_key_of_an_existing_lookup() {
        // CrowdStrike integrity 12288 is `high` by the profile's lookup; Splunk says `medium`.
        let head = "dest,process_integrity_level,vendor_product\n";
        let o = format!("{head}a,high,CrowdStrike Falcon\nb,high,CrowdStrike Falcon\n");
        let s = format!("{head}a,medium,CrowdStrike Falcon\nb,medium,CrowdStrike Falcon\n");
        let dir = tables(&[("o.csv", &o), ("s.csv", &s)]);
        let (_, out, _) = diff_in(&dir, "o.csv", "s.csv");
        assert!(out.contains("\"12288\" = \"medium\""), "{out}");
        assert!(!out.contains("\"high\" = \"medium\""), "{out}");
    }

    #[test]
    fn an_empty_suggestion_still_replaces_an_old_file() {
        let dir = tables(&[("a.csv", "dest\nh\n"), ("old.toml", "[sources.sysmon_xml]\n")]);
        let (a, old) = (dir.path().join("a.csv"), dir.path().join("old.toml"));
        let (a, old) = (a.to_str().unwrap(), old.to_str().unwrap());
        let (code, _, _) = run(&["diff", "--suggest-profile", old, a, a]);
        assert_eq!(code, 0);
        let text = std::fs::read_to_string(old).unwrap();
        assert!(text.contains("no profile line to suggest") && !text.contains("[sources"));
    }

    #[test]
    fn odd_finding_shapes_and_typos_in_folders_are_errors() {
        let rule = std::fs::read_to_string("fixtures/harness/bits_guid_risk.yml").unwrap();
        let bad_shape =
            rule.replace("finding:\n    title:", "finding: hello\nold_finding:\n    title:");
        let typo = rule.replace("\nsearch: |-", "\nserach: |-");
        let dir = tables(&[("shape.yml", &bad_shape), ("typo.yml", &typo)]);
        let (code, out, _) =
            run(&["test", dir.path().to_str().unwrap(), "--data-dir", "fixtures/attack_data"]);
        assert_eq!(code, 1);
        assert!(out.contains("`finding` is not a map"), "{out}");
        assert!(out.contains("missing field `search`"), "{out}");
        assert!(!out.contains("not detections"), "{out}");
    }

    #[test]
    fn control_characters_in_test_names_keep_the_junit_file_valid() {
        let rule = std::fs::read_to_string("fixtures/harness/bits_guid_risk.yml").unwrap();
        let odd = rule.replace("name: Two sources", "name: \"T\\x02 \\uFFFF \\e[2J\"");
        let dir = tables(&[("odd.yml", &odd)]);
        let junit = dir.path().join("j.xml");
        let (_, out, _) = run(&[
            "test",
            dir.path().join("odd.yml").to_str().unwrap(),
            "--data-dir",
            "fixtures/attack_data",
            "--junit",
            junit.to_str().unwrap(),
        ]);
        assert!(!out.contains('\u{1b}') && !out.contains('\u{2}'), "{out}");
        let xml = std::fs::read_to_string(junit).unwrap();
        assert!(
            !xml.contains('\u{FFFF}') && xml.contains("T\u{FFFD} \u{FFFD} \u{FFFD}[2J"),
            "{xml}"
        );
    }

    #[test]
    fn deep_yaml_flow_nesting_is_refused_quickly() {
        let rule = std::fs::read_to_string("fixtures/harness/bits_guid_risk.yml").unwrap();
        let deep = rule
            .replace("tests:", &format!("x: {}{}\ntests:", "[".repeat(50_000), "]".repeat(50_000)));
        let dir = tables(&[("deep.yml", &deep)]);
        let (code, out, _) = run(&[
            "test",
            dir.path().join("deep.yml").to_str().unwrap(),
            "--data-dir",
            "fixtures/attack_data",
        ]);
        assert_eq!(code, 1);
        assert!(out.contains("nested deeper than 64 levels"), "{out}");
    }
}
