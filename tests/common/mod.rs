//! Helpers shared by the integration tests: running the binary and finding the shared data.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `tsreplay` with `args`.
pub fn tsreplay(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tsreplay"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the tsreplay binary runs")
}

/// Runs `tsreplay` with `args` and `input` on its standard input.
pub fn tsreplay_stdin(args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_tsreplay"))
        .args(args)
        .current_dir(root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the tsreplay binary runs");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("tsreplay finishes");
    writer.join().expect("writer thread").expect("stdin written");
    out
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `../shared/data`, or `None` (with a message) when it is absent outside CI. Under `CI=true`
/// a missing folder fails the test.
pub fn shared_data() -> Option<PathBuf> {
    let dir = root().join("../shared/data");
    if dir.is_dir() {
        return Some(dir.canonicalize().expect("shared data path resolves"));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but ../shared/data is missing beside the checkout");
    }
    eprintln!("skipping: ../shared/data is not beside the checkout");
    None
}

/// A path as `&str`.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("paths are UTF-8")
}

/// Writes `bytes` to `dir/name` and returns the path as text.
pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("the test folder is writable");
    s(&p).to_string()
}

/// Runs `tsreplay` with `args`: exit status (-1 for a signal), stdout, stderr.
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = tsreplay(args);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

/// A Sysmon EventID 1 forwarder line that the default rule matches; `{CMD}` is its command
/// line and `{GUID}` the last digits of its ProcessGuid (each guid is its own group).
pub const EVENT: &str = concat!(
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>",
    "<Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID>",
    "<TimeCreated SystemTime='2024-01-02T03:04:05.9000000Z'/>",
    "<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>lab-pc</Computer>",
    "<Security UserID='S-1-5-18'/></System><EventData>",
    "<Data Name='UtcTime'>2024-01-02 03:04:05.123</Data>",
    "<Data Name='ProcessGuid'>{11111111-2222-3333-4444-{GUID}}</Data>",
    "<Data Name='ProcessId'>42</Data>",
    "<Data Name='Image'>C:\\Windows\\System32\\bitsadmin.exe</Data>",
    "<Data Name='CommandLine'>{CMD}</Data><Data Name='User'>LAB\\eve</Data>",
    "<Data Name='ParentImage'>C:\\Windows\\System32\\cmd.exe</Data>",
    "<Data Name='ParentCommandLine'>cmd.exe</Data></EventData></Event>\n"
);

/// The team-written event with its guid digits and command line.
pub fn event(guid: usize, cmd: &str) -> String {
    EVENT.replace("{GUID}", &format!("{guid:012}")).replace("{CMD}", cmd)
}

/// The `input_*` files of a case folder, sorted, as text paths.
pub fn inputs_of(dir: &Path) -> Vec<String> {
    let mut inputs: Vec<String> = std::fs::read_dir(dir)
        .expect("case folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("input_")))
        .map(|p| s(&p).to_string())
        .collect();
    inputs.sort();
    inputs
}
