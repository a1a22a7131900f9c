//! Issue 6: bad inputs, the group limit, `-o FILE` and interruption. Each expected message and
//! count is worked out from the bytes the test writes (a team-written Sysmon EventID 1 line
//! that the default rule matches, and variations of it).

mod common;

use std::fs;
use std::path::Path;

use common::{event, run, s, stderr, stdout, write};

/// Starts `tsreplay` with `args`, its standard streams piped.
fn spawn(args: &[&str]) -> std::process::Child {
    use std::process::{Command, Stdio};
    Command::new(env!("CARGO_BIN_EXE_tsreplay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tsreplay binary runs")
}

/// The default rule, compiled with the embedded macros and profile.
fn default_rule() -> tsreplay::engine::Compiled {
    let det = tsreplay::spl::Detection::default_rule();
    let macros = tsreplay::spl::MacroTable::with_defaults();
    tsreplay::engine::compile(&det, &macros, tsreplay::cim::Profile::default_profile()).unwrap()
}

/// Runs an action when the run starts reading (after the files were opened and mapped), as
/// a collector rotating or appending to a log would.
struct AtStart(Box<dyn Fn() + Send + Sync>);

impl tsreplay::engine::Progress for AtStart {
    fn start(&self, _total: u64) {
        (self.0)()
    }

    fn advance(&self, _bytes: u64, _records: u64) {}

    fn finish(&self) {}
}

/// An `AtStart` that truncates `path` to `len` bytes.
fn truncate_at_start(path: &Path, len: u64) -> std::sync::Arc<AtStart> {
    let path = path.to_path_buf();
    std::sync::Arc::new(AtStart(Box::new(move || {
        fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len).unwrap();
    })))
}

fn data_rows(csv: &str) -> usize {
    csv.lines().count().saturating_sub(1)
}

#[test]
fn nul_bytes_between_and_inside_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = event(1, "bitsadmin /create a").into_bytes();
    bytes.extend_from_slice(&[0u8; 100]);
    bytes.push(b'\n');
    bytes.extend_from_slice(event(2, "bitsadmin /create b").as_bytes());
    let xml = write(dir.path(), "nul.xml", &bytes);
    // A raw NUL inside a JSON string is not valid JSON.
    let json = write(dir.path(), "nul.json", b"{\"event_simpleName\":\"Process\0Rollup2\"}\n");
    let (code, out, err) = run(&["run", "--format", "csv", &xml, &json]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(data_rows(&out), 2, "{out}");
    assert!(err.contains("records read:            3"), "{err}");
    assert!(err.contains("skipped: non-XML text between records: 1"), "{err}");
    // The JSON line holds no rule literal, so the prefilter skips it unparsed (README); with
    // the prefilter off it is parsed and counted as malformed.
    assert!(err.contains("skipped by prefilter:    1"), "{err}");
    let (_, _, err) = run(&["run", "--no-prefilter", &json]);
    assert!(err.contains("malformed: not valid JSON (skipped): 1"), "{err}");
}

#[test]
fn a_100_mb_single_line() {
    let dir = tempfile::tempdir().unwrap();
    // A CrowdStrike positive with a 100 MB field the rule does not read, then a line with no
    // record at all: 100 MB of text with no `<Event` and no newline.
    let pad = "x".repeat(100 << 20);
    let cs = format!(
        "{{\"event_simpleName\":\"ProcessRollup2\",\"timestamp\":\"1700000000000\",\
         \"ImageFileName\":\"\\\\Device\\\\HarddiskVolume1\\\\Windows\\\\bitsadmin.exe\",\
         \"CommandLine\":\"bitsadmin /resume j\",\"Padding\":\"{pad}\"}}\n"
    );
    let cs = write(dir.path(), "long.json", cs.as_bytes());
    let text = write(dir.path(), "long.xml", pad.as_bytes());
    let (code, out, err) = run(&["run", "--format", "csv", &cs]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(data_rows(&out), 1, "{out}");
    assert!(out.contains("bitsadmin /resume j"), "{out}");
    let (code, _, err) = run(&["run", &text]);
    assert_eq!(code, 2);
    assert!(err.contains("not recognised"), "{err}");
}

#[test]
fn xml_entities_are_never_expanded() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = String::from("<!DOCTYPE lolz [<!ENTITY lol \"lol\">");
    for i in 1..10 {
        let prev = if i == 1 { "lol".to_string() } else { format!("lol{}", i - 1) };
        let refs: String = std::iter::repeat_n(format!("&{prev};"), 10).collect();
        doc.push_str(&format!("<!ENTITY lol{i} \"{refs}\">"));
    }
    doc.push_str("]>\n");
    doc.push_str(&event(1, "bitsadmin /create &lol9;"));
    let f = write(dir.path(), "lolz.xml", doc.as_bytes());
    let (code, out, err) = run(&["run", "--format", "csv", &f]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(data_rows(&out), 1, "{out}");
    // The value is the raw text (Part A.1): ten characters of entity reference, not 10^9 lols.
    assert!(out.contains(",bitsadmin /create &lol9;,"), "{out}");
    assert!(err.contains("skipped: non-XML text between records: 1"), "{err}");
}

#[test]
fn the_group_limit_stops_with_an_error_and_no_table() {
    let dir = tempfile::tempdir().unwrap();
    let body: String = (0..10).map(|i| event(i, "bitsadmin /create j")).collect();
    let f = write(dir.path(), "ten.xml", body.as_bytes());
    // Ten events, ten guids: ten groups.
    let (code, out, err) = run(&["run", "--format", "csv", "--max-groups", "9", "-j", "1", &f]);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty(), "no partial table: {out}");
    assert!(err.contains("stopped: the group tables reached --max-groups 9"), "{err}");
    let (code, out, _) = run(&["run", "--format", "csv", "--max-groups", "10", &f]);
    assert_eq!(code, 0);
    assert_eq!(data_rows(&out), 10);
}

#[test]
fn output_file_is_complete_or_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "one.xml", event(1, "bitsadmin /create j").as_bytes());
    let out = dir.path().join("rows.csv");
    let o = s(&out);
    let (code, stdout_text, _) = run(&["run", "-q", "--format", "csv", "-o", o, &f]);
    assert_eq!(code, 0);
    assert!(stdout_text.is_empty());
    let text = fs::read_to_string(&out).unwrap();
    assert_eq!(data_rows(&text), 1);
    assert!(text.ends_with('\n'));
    // A folder as the output: an error naming it, and nothing left beside it.
    let (code, _, err) = run(&["run", "-q", "-o", s(dir.path()), &f]);
    assert_eq!(code, 2);
    assert!(err.contains("is a folder"), "{err}");
    let leftovers = fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn an_interrupted_run_says_so_and_prints_whole_rows() {
    use std::io::Write;
    use std::process::Command;
    let mut child = spawn(&["run", "-q", "--format", "csv", "-"]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(event(1, "bitsadmin /create a").as_bytes()).unwrap();
    stdin.flush().unwrap();
    // The process waits on the pipe; the signal sets the stop flag, and the records that
    // follow are not read.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let sent = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    std::thread::sleep(std::time::Duration::from_millis(100));
    let _ = stdin.write_all(event(2, "bitsadmin /create b").as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted: the table covers only the records read"), "{err}");
    assert!(text.starts_with("action,dest,"), "{text}");
    assert!(text.ends_with('\n'));
    assert!(data_rows(&text) <= 1, "the record after the signal is not read: {text}");
}

#[test]
fn a_file_truncated_during_the_run_is_reported_not_fatal() {
    use tsreplay::engine::{self, Options};
    let dir = tempfile::tempdir().unwrap();
    let one = event(0, "bitsadmin /create j").len();
    let body: String = (0..2000).map(|i| event(i, "bitsadmin /create j")).collect();
    let path = dir.path().join("rotating.xml");
    fs::write(&path, &body).unwrap();
    // Cut in the middle of event 1000: 1000 whole events stay.
    let cut = (1000 * one + one / 2) as u64;
    let rule = default_rule();
    let progress = truncate_at_start(&path, cut);
    let opts = Options {
        threads: 2,
        chunk_size: 64 << 10,
        progress: Some(progress),
        ..Options::default()
    };
    let report = engine::run(&rule, std::slice::from_ref(&path), &opts);
    assert_eq!(report.table.rows.len(), 1000);
    let (failed, why) = &report.summary.failed[0];
    assert_eq!(failed, &path);
    let want = format!("was cut while it was read ({} bytes at open, {cut} now)", body.len());
    assert!(why.starts_with(&want), "{why}");
}

/// An `AtStart` that appends one more event to `path`.
fn append_at_start(path: &Path) -> std::sync::Arc<AtStart> {
    let path = path.to_path_buf();
    std::sync::Arc::new(AtStart(Box::new(move || {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(event(99, "bitsadmin /create late").as_bytes()).unwrap();
    })))
}

#[test]
fn a_file_that_grows_during_the_run_is_read_as_it_was_opened() {
    use tsreplay::engine::{self, Options};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.xml");
    let first = event(1, "bitsadmin /create j");
    fs::write(&path, &first).unwrap();
    let rule = default_rule();
    let opts = Options { progress: Some(append_at_start(&path)), ..Options::default() };
    let report = engine::run(&rule, std::slice::from_ref(&path), &opts);
    assert_eq!(report.table.rows.len(), 1);
    assert!(report.summary.failed.is_empty());
    let grown = first.len() + event(99, "bitsadmin /create late").len();
    let want = format!(
        "grew from {} to {grown} bytes; the bytes past {} were not read",
        first.len(),
        first.len()
    );
    assert_eq!(report.summary.changed, [(path, want)]);
}

#[test]
fn a_shrink_inside_the_last_page_is_a_loss_not_a_note() {
    use tsreplay::engine::{self, Options};
    let dir = tempfile::tempdir().unwrap();
    let body: String = (0..10).map(|i| event(i, "bitsadmin /create j")).collect();
    let path = dir.path().join("tail.xml");
    fs::write(&path, &body).unwrap();
    // 10 bytes off the end: inside the last page, so no fault; the last record is cut.
    let cut = body.len() as u64 - 10;
    let rule = default_rule();
    let progress = truncate_at_start(&path, cut);
    let opts = Options { progress: Some(progress), ..Options::default() };
    let report = engine::run(&rule, std::slice::from_ref(&path), &opts);
    assert_eq!(report.table.rows.len(), 9);
    let (_, why) = &report.summary.failed[0];
    let want = format!("shrank from {} to {cut} bytes during the run", body.len());
    assert!(why.starts_with(&want), "{why}");
}

#[test]
fn output_to_a_fifo_or_to_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "one.xml", event(1, "bitsadmin /create j").as_bytes());
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (code, _, err) = run(&["run", "-q", "-o", s(&fifo), &f]);
    assert_eq!(code, 2);
    assert!(err.contains("not a regular file"), "{err}");
    let (code, _, err) = run(&["run", "-q", "-o", &f, &f]);
    assert_eq!(code, 2);
    assert!(err.contains("-o names an input"), "{err}");
    assert_eq!(fs::read_to_string(&f).unwrap(), event(1, "bitsadmin /create j"));
}

#[test]
fn a_closed_pipe_ends_csv_output_quietly() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let body: String = (0..2000).map(|i| event(i, "bitsadmin /create j")).collect();
    let f = write(dir.path(), "many.xml", body.as_bytes());
    let mut child = spawn(&["run", "-q", "--format", "csv", &f]);
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("action,"));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_stream_stops_at_the_group_limit_without_reading_to_its_end() {
    use std::io::Write;
    let mut child = spawn(&["run", "-q", "--max-groups", "10", "-"]);
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // 200,000 events (about 150 MB), each its own group: far past the limit.
        for i in 0..200_000 {
            if stdin.write_all(event(i, "bitsadmin /create j").as_bytes()).is_err() {
                return i;
            }
        }
        200_000
    });
    let out = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(written < 200_000, "tsreplay read the whole stream after the stop");
}
