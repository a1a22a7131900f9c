//! Exit statuses and messages of the command line for bad inputs and bad rules. Expected
//! messages and counts are worked out from the inputs each test writes.

mod common;

use std::fs;
use std::path::Path;

use common::{run, s, stderr, stdout, write};

/// A Sysmon EventID 1 forwarder line that the default rule matches (team-written).
static BITS_EVENT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| common::event(555_555_555_555, "bitsadmin /create job"));

#[test]
fn missing_file_is_reported_and_others_still_run() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.xml", BITS_EVENT.as_bytes());
    let missing = s(&dir.path().join("nope.xml")).to_string();
    let (code, out, err) = run(&["run", "--format", "csv", &missing, &good]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("not read: {missing}: cannot read:")), "{err}");
    assert_eq!(out.lines().count(), 2, "the readable file still gives its row:\n{out}");
}

#[test]
fn folder_of_unrecognised_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.txt", b"just some words\n");
    write(dir.path(), "array.json", b"[{\"a\": 1}]\n");
    let (code, out, err) = run(&["run", s(dir.path())]);
    assert_eq!(code, 2);
    assert!(err.contains("notes.txt: not recognised: neither Windows event XML"), "{err}");
    assert!(err.contains("array.json: not recognised: a JSON array document"), "{err}");
    assert!(out.contains("(no rows)"));
}

#[test]
fn empty_and_whitespace_files_are_noted_not_failed() {
    let dir = tempfile::tempdir().unwrap();
    let empty = write(dir.path(), "empty.xml", b"");
    let blank = write(dir.path(), "blank.json", b"\n  \r\n");
    let (code, _, err) = run(&["run", &empty, &blank]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&format!("empty file: {empty}")), "{err}");
    assert!(err.contains(&format!("empty file: {blank}")), "{err}");
    assert!(err.contains("records read:            0"), "{err}");
}

#[test]
fn truncated_xml_record_is_counted_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let cut = &BITS_EVENT[..BITS_EVENT.find("<Data Name='User'>").unwrap()];
    let body = format!("{}{cut}\n{}", *BITS_EVENT, *BITS_EVENT);
    let f = write(dir.path(), "cut.xml", body.as_bytes());
    let (code, out, err) = run(&["run", "--format", "csv", &f]);
    assert_eq!(code, 0, "{err}");
    // The whole events are one group of two; the cut one gives nothing.
    assert!(
        out.lines().nth(1).unwrap().contains(",2,2024-01-02T03:04:05,2024-01-02T03:04:05"),
        "{out}"
    );
    let offset = BITS_EVENT.len();
    assert!(err.contains("truncated: XML record cut before </EventData> (no fields): 1"), "{err}");
    assert!(err.contains("truncated: XML record without </Event>: 1"), "{err}");
    assert!(err.contains(&format!("at {f}:{offset}")), "{err}");
}

#[test]
fn invalid_utf8_is_replaced_and_the_record_kept() {
    let dir = tempfile::tempdir().unwrap();
    let bad = BITS_EVENT.replace("LAB\\eve", "LAB\\e\u{1}ve").into_bytes();
    let at = bad.iter().position(|b| *b == 1).unwrap();
    let mut bytes = bad.clone();
    bytes[at] = 0xFF;
    let f = write(dir.path(), "bad.xml", &bytes);
    let (code, out, err) = run(&["run", "--format", "csv", &f]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("repaired: invalid UTF-8 or lone surrogates replaced by U+FFFD: 1"),
        "{err}"
    );
    assert!(out.contains("LAB\\e\u{FFFD}ve"), "{out}");
}

#[test]
fn json_line_that_is_not_an_object() {
    let dir = tempfile::tempdir().unwrap();
    let lines = "{\"event_simpleName\":\"ProcessRollup2\",\"timestamp\":\"1700000000000\",\
                 \"ImageFileName\":\"\\\\Device\\\\HarddiskVolume1\\\\Windows\\\\bitsadmin.exe\",\
                 \"CommandLine\":\"bitsadmin /resume j\"}\n[1,2,3]\n{\"broken\":\n";
    let f = write(dir.path(), "cs.json", lines.as_bytes());
    let (code, out, err) = run(&["run", "--format", "csv", &f]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(err.contains("malformed: JSON line is not an object (skipped): 1"), "{err}");
    assert!(err.contains("malformed: not valid JSON (skipped): 1"), "{err}");
    let second_line = lines.find('\n').unwrap() + 1;
    assert!(err.contains(&format!("at {f}:{second_line}")), "{err}");
}

fn rule_file(dir: &Path, search: &str) -> String {
    let yaml = format!("name: Test Rule\nsearch: |-\n  {}\n", search.replace('\n', "\n  "));
    write(dir, "rule.yml", yaml.as_bytes())
}

#[test]
fn unknown_macro_is_a_compile_error_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let rule = rule_file(
        dir.path(),
        "| tstats count from datamodel=Endpoint.Processes where `no_such_macro` by Processes.dest",
    );
    let data = write(dir.path(), "d.xml", BITS_EVENT.as_bytes());
    let (code, out, err) = run(&["run", "--rule", &rule, &data]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("rule does not compile: unknown macro `no_such_macro`"), "{err}");
    assert!(err.contains("at line 1, column 56 of the expanded search"), "{err}");
    assert!(!err.contains("records read"), "nothing is processed:\n{err}");
}

#[test]
fn unsupported_command_is_a_compile_error() {
    let dir = tempfile::tempdir().unwrap();
    let rule = rule_file(
        dir.path(),
        "| tstats count from datamodel=Endpoint.Processes by Processes.dest\n| stats count by dest",
    );
    let data = write(dir.path(), "d.xml", BITS_EVENT.as_bytes());
    let (code, _, err) = run(&["run", "--rule", &rule, &data]);
    assert_eq!(code, 1);
    assert!(err.contains("unsupported command `stats`"), "{err}");
    assert!(err.contains("at line 2, column 3"), "{err}");
    assert!(err.contains("| stats count by dest\n    ^^^^^"), "{err}");
}

#[test]
fn default_rule_finds_the_team_written_event() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "one.log", BITS_EVENT.as_bytes());
    let (code, out, err) = run(&["run", "--format", "json", &f]);
    assert_eq!(code, 0, "{err}");
    let row: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(row["process"], "bitsadmin /create job");
    assert_eq!(row["process_name"], "bitsadmin.exe");
    assert_eq!(row["user_id"], "'S-1-5-18'");
    assert_eq!(row["original_file_name"], "unknown");
    assert_eq!(row["process_hash"], "null");
    assert_eq!(row["firstTime"], "2024-01-02T03:04:05");
    assert_eq!(row["count"], "1");
}

#[test]
fn bad_time_zone_and_sourcetype_are_usage_errors() {
    let (code, _, err) = run(&["run", "--tz", "Mars/Base", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown time zone `Mars/Base`"), "{err}");
    let (code, _, err) = run(&["run", "--sourcetype", "syslog", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown --sourcetype `syslog`"), "{err}");
}

#[test]
fn quiet_still_names_unreadable_paths() {
    let dir = tempfile::tempdir().unwrap();
    let missing = s(&dir.path().join("gone.xml")).to_string();
    let (code, _, err) = run(&["run", "-q", &missing]);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("not read: {missing}: cannot read:")), "{err}");
    assert!(!err.contains("records read"), "{err}");
}

#[test]
fn a_file_named_twice_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.xml", BITS_EVENT.as_bytes());
    let dotted = format!("{}/./a.xml", s(dir.path()));
    let (code, out, err) = run(&["run", "--format", "csv", &f, &dotted, s(dir.path())]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().nth(1).unwrap().contains(",1,2024-01-02T03:04:05,"), "{out}");
    assert!(err.contains("note: 2 files or folders reached more than once, read once"), "{err}");
}

#[test]
fn utf16_needs_a_byte_order_mark() {
    let dir = tempfile::tempdir().unwrap();
    let units: Vec<u8> = BITS_EVENT.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let no_bom = write(dir.path(), "nobom.xml", &units);
    let (code, _, err) = run(&["run", &no_bom]);
    assert_eq!(code, 2);
    assert!(
        err.contains("not recognised: binary data, or text in an encoding without a BOM"),
        "{err}"
    );
    let mut with_bom = vec![0xFF, 0xFE];
    with_bom.extend_from_slice(&units);
    let f = write(dir.path(), "bom.xml", &with_bom);
    let (code, out, err) = run(&["run", "--format", "csv", &f]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("bitsadmin /create job"), "{out}");
    let mut be = vec![0xFE, 0xFF];
    be.extend(BITS_EVENT.encode_utf16().flat_map(|u| u.to_be_bytes()));
    let f = write(dir.path(), "be.xml", &be);
    let (_, out, _) = run(&["run", "--format", "csv", &f]);
    assert!(out.contains("bitsadmin /create job"), "{out}");
    let mut utf8_bom = vec![0xEF, 0xBB, 0xBF];
    utf8_bom.extend_from_slice(BITS_EVENT.as_bytes());
    let f = write(dir.path(), "u8.xml", &utf8_bom);
    let (_, out, _) = run(&["run", "--format", "csv", &f]);
    assert!(out.contains("bitsadmin /create job"), "{out}");
}

#[test]
fn forced_evtx_on_text_is_not_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.xml", BITS_EVENT.as_bytes());
    let (code, _, err) = run(&["run", "--sourcetype", "evtx", &f]);
    assert_eq!(code, 2);
    assert!(err.contains("not an EVTX file (no ElfFile magic)"), "{err}");
}

#[test]
fn lower_case_operators_and_unclosed_parentheses_explain_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.xml", BITS_EVENT.as_bytes());
    let rule = rule_file(
        dir.path(),
        "| tstats count from datamodel=Endpoint.Processes \
         where Processes.dest=a or Processes.dest=b",
    );
    let (code, _, err) = run(&["run", "--rule", &rule, &data]);
    assert_eq!(code, 1);
    assert!(err.contains("`or` in lower case is a search term, not an operator"), "{err}");
    let rule = rule_file(
        dir.path(),
        "| tstats count from datamodel=Endpoint.Processes \
         where (Processes.dest=a by Processes.dest",
    );
    let (code, _, err) = run(&["run", "--rule", &rule, &data]);
    assert_eq!(code, 1);
    assert!(err.contains("expected `)`, found `by`"), "{err}");
}

#[test]
fn errors_in_long_lines_show_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.xml", BITS_EVENT.as_bytes());
    let long = format!(
        "| tstats count from datamodel=Endpoint.Processes where Processes.dest IN ({}) \
         by Processes.dest | join x",
        (0..60).map(|i| format!("host{i}")).collect::<Vec<_>>().join(", ")
    );
    let rule = rule_file(dir.path(), &long);
    let (_, _, err) = run(&["run", "--rule", &rule, &data]);
    let shown = err.lines().find(|l| l.contains("| join x")).unwrap();
    assert!(shown.starts_with("  ...") && shown.len() < 130, "{err}");
    let caret = err.lines().find(|l| l.trim_start().starts_with('^')).unwrap();
    assert_eq!(caret.find('^'), shown.find("join"), "{err}");
}

#[test]
fn missing_rule_file_is_not_called_a_compile_error() {
    let (code, _, err) = run(&["run", "--rule", "/nonexistent/rule.yml", "x"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("tsreplay: cannot read rule /nonexistent/rule.yml"), "{err}");
}

/// A CrowdStrike line the default rule matches (team-written), with `{CMD}` to fill in.
const CS_LINE: &str = "{\"event_simpleName\":\"ProcessRollup2\",\"timestamp\":\"1700000000000\",\
    \"ImageFileName\":\"\\\\Device\\\\HarddiskVolume1\\\\Windows\\\\bitsadmin.exe\",\
    \"CommandLine\":\"{CMD}\"}";

#[test]
fn deeply_nested_json_is_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(50_000), "]".repeat(50_000));
    let good = CS_LINE.replace("{CMD}", "bitsadmin /resume j");
    let f = write(dir.path(), "deep.json", format!("{good}\n{deep}\n{good}\n").as_bytes());
    let (code, out, err) = run(&["run", "--format", "csv", "--no-prefilter", &f]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().nth(1).unwrap().contains(",2,"), "{out}");
    assert!(err.contains("malformed: JSON nested deeper than 256 levels (skipped): 1"), "{err}");
}

#[test]
fn cr_only_json_lines_are_separate_records() {
    let dir = tempfile::tempdir().unwrap();
    let good = CS_LINE.replace("{CMD}", "bitsadmin /resume j");
    let f = write(dir.path(), "cr.json", format!("{good}\r{good}\r{good}").as_bytes());
    let (_, out, err) = run(&["run", "--format", "csv", &f]);
    assert!(err.contains("records read:            3"), "{err}");
    assert!(out.lines().nth(1).unwrap().contains(",3,"), "{out}");
}

#[test]
fn lone_surrogate_escapes_become_replacement_characters() {
    let dir = tempfile::tempdir().unwrap();
    let line = CS_LINE.replace("{CMD}", "bitsadmin /resume j\\ud800x");
    let f = write(dir.path(), "s.json", format!("{line}\n").as_bytes());
    let (code, out, err) = run(&["run", "--format", "csv", &f]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("bitsadmin /resume j\u{FFFD}x"), "{out}");
    assert!(err.contains("repaired: invalid UTF-8 or lone surrogates replaced by U+FFFD: 1"));
}

#[test]
fn times_outside_the_representable_range_are_unreadable_not_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let far = BITS_EVENT.replace("2024-01-02 03:04:05.123", "2300-01-01 00:00:00.000");
    let f = write(dir.path(), "t.xml", far.as_bytes());
    let (_, out, err) = run(&["run", "--format", "csv", &f]);
    // UtcTime is unreadable, so _time falls back to SystemTime (2024), as for a missing one.
    assert!(out.contains(",1,2024-01-02T03:04:05,2024-01-02T03:04:05"), "{out}");
    assert!(err.contains("note: Sysmon EventID 1 without UtcTime"), "{err}");
}

#[test]
fn devices_and_huge_thread_counts_are_refused() {
    let (code, _, err) = run(&["run", "/dev/zero"]);
    assert_eq!(code, 2);
    assert!(err.contains("not read: /dev/zero: cannot read: not a regular file"), "{err}");
    let (code, _, err) = run(&["run", "-j", "5000", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("5000 is not in 0..=1024"), "{err}");
}

#[test]
fn symlink_loops_are_noted_and_everything_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("logs");
    fs::create_dir(&sub).unwrap();
    write(&sub, "a.xml", BITS_EVENT.as_bytes());
    std::os::unix::fs::symlink(&sub, sub.join("again")).unwrap();
    let (code, out, err) = run(&["run", "--format", "csv", s(dir.path()), s(&sub)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().nth(1).unwrap().contains(",1,"), "{out}");
    assert!(err.contains("note: symlink loop not followed:"), "{err}");
    assert!(err.contains("reached more than once, read once"), "{err}");
}

#[test]
fn nesting_and_duplicate_columns_are_compile_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.xml", BITS_EVENT.as_bytes());
    let deep = format!(
        "| tstats count from datamodel=Endpoint.Processes where {}Processes.dest=a{}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let rule = rule_file(dir.path(), &deep);
    let (code, _, err) = run(&["run", "--rule", &rule, &data]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("at most 128 nested parentheses and NOTs"), "{err}");
    let dup =
        "| tstats count as Processes.dest from datamodel=Endpoint.Processes by Processes.dest";
    let rule = rule_file(dir.path(), dup);
    let (code, _, err) = run(&["run", "--rule", &rule, &data]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the output column Processes.dest twice"), "{err}");
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "a.xml", BITS_EVENT.as_bytes());
    let (_, _, err) = run(&["run", &f]);
    assert!(!err.contains("ETA"), "{err}");
    assert!(err.starts_with("tsreplay summary"), "{err}");
}

#[test]
fn standard_input_and_damaged_gzip_streams() {
    let out = common::tsreplay_stdin(&["run", "--format", "csv", "-"], BITS_EVENT.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("bitsadmin /create job"));
    let dir = tempfile::tempdir().unwrap();
    let many = BITS_EVENT.repeat(2000);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut enc, many.as_bytes()).unwrap();
    let mut gz = enc.finish().unwrap();
    let cut = gz.len() / 2;
    gz.truncate(cut);
    let f = write(dir.path(), "cut.xml.gz", &gz);
    let (code, out, err) = run(&["run", "--format", "csv", "--chunk-size", "4096", &f]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("not read: {f}: reading stopped:")), "{err}");
    // The records before the damage were read and grouped.
    assert!(out.lines().count() == 2, "{out}");
}

#[test]
fn named_pipes_are_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipping: mkfifo is not available");
        return;
    }
    let path = fifo.clone();
    let writer = std::thread::spawn(move || fs::write(path, BITS_EVENT.repeat(3)));
    let (code, out, err) = run(&["run", "--format", "csv", s(&fifo)]);
    writer.join().unwrap().unwrap();
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().nth(1).unwrap().contains(",3,"), "{out}");
}

#[test]
fn generated_logs_give_one_row_per_positive_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    for format in ["sysmon-xml", "security-xml", "crowdstrike-json"] {
        let f = s(&dir.path().join(format)).to_string();
        let args = ["gen", "--format", format, "--size", "300KiB", "--positives", "0.01", "-o", &f];
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        let positives: usize = err
            .split(" records, ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no positive count in {err}"));
        assert!(positives > 0, "{err}");
        let (_, out, err) = run(&["run", "--format", "csv", &f]);
        let rows: Vec<&str> = out.lines().skip(1).collect();
        assert_eq!(rows.len(), positives, "{format}: {err}");
        assert!(rows.iter().all(|r| r.contains("TsrJob")), "{format}: {out}");
        // Same seed, same bytes.
        let again = s(&dir.path().join("again")).to_string();
        let args =
            ["gen", "--format", format, "--size", "300KiB", "--positives", "0.01", "-o", &again];
        run(&args);
        assert_eq!(fs::read(&f).unwrap(), fs::read(&again).unwrap());
    }
}

#[test]
fn configuration_files_must_be_regular_and_macro_walks_end() {
    let (code, _, err) = run(&["explain", "--profile", "/dev/zero"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m");
    fs::create_dir(&m).unwrap();
    std::os::unix::fs::symlink(".", m.join("a")).unwrap();
    std::os::unix::fs::symlink(".", m.join("b")).unwrap();
    write(&m, "x.yml", b"- name: process_bitsadmin\n  definition: Processes.process_name=x.exe\n");
    let (code, out, err) = run(&["explain", "--macros", s(&m)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("AND(process_name=x.exe, process IN("), "{out}");
}

#[test]
fn file_names_cannot_drive_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let name = "a\u{1b}]0;x\u{7}\n  rows: 999.txt";
    let f = write(dir.path(), name, b"not a log\n");
    let (_, _, err) = run(&["run", &f]);
    assert!(!err.contains('\u{1b}'), "{err:?}");
    assert!(!err.contains("\n  rows: 999"), "{err}");
    assert!(err.contains("\\u{1b}]0;x\\u{7}\\n  rows: 999.txt"), "{err}");
}

#[test]
fn bench_writes_its_matrix_with_baselines_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch");
    let results = dir.path().join("results");
    let (code, out, err) = run(&[
        "bench",
        "--sizes",
        "64KiB",
        "--threads",
        "1",
        "--selectivity",
        "0.01",
        "--formats",
        "sysmon-xml",
        "--runs",
        "1",
        "--scratch",
        s(&scratch),
        "--results",
        s(&results),
    ]);
    assert_eq!(code, 0, "{err}");
    let made: Vec<_> = fs::read_dir(&results).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(made.len(), 1, "{made:?}");
    for f in ["raw.csv", "summary.md", "threads.svg", "selectivity.svg"] {
        assert!(made[0].join(f).is_file(), "{f} missing");
    }
    let raw = fs::read_to_string(made[0].join("raw.csv")).unwrap();
    // cat, rg when installed, and the plain parse and the rule at 1 thread.
    assert!(raw.lines().any(|l| l.contains(",cat,1,")), "{raw}");
    assert!(raw.lines().any(|l| l.contains(",plain parse,1,")), "{raw}");
    assert!(raw.lines().any(|l| l.contains(",tsreplay selective,1,")), "{raw}");
    assert!(out.contains("| sysmon-xml | 65536 | 0.01 | tsreplay selective | 1 |"), "{out}");
    assert!(fs::read_to_string(made[0].join("threads.svg")).unwrap().starts_with("<svg"));
}

#[test]
fn a_forced_text_format_on_binary_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut evtx = b"ElfFile\0".to_vec();
    evtx.resize(5000, 0);
    let e = write(dir.path(), "log.evtx", &evtx);
    let b = write(dir.path(), "blob.xml", b"<Event>\0\0\0binary</Event>\n");
    let (code, _, err) = run(&["run", "--sourcetype", "xmlwineventlog", &e, &b]);
    assert_eq!(code, 2);
    assert!(err.contains("log.evtx: an EVTX file, though --sourcetype names xml text"), "{err}");
    assert!(err.contains("blob.xml: binary data (NUL bytes), though --sourcetype"), "{err}");
}
