//! Golden cases: each folder under `fixtures/cases/` holds a rule, team-written inputs and the
//! expected CSV worked out by hand (see each folder's NOTES.md). Every case runs through every
//! code path: 1 and 3 threads, tiny chunks that split records everywhere, the prefilter on and
//! off, and the streaming pipeline (gzip and zstd files, standard input). All must give exactly
//! the expected bytes.

mod common;

use std::fs;
use std::path::Path;

use common::{root, s, stderr, stdout, tsreplay};

const VARIANTS: &[&[&str]] = &[
    &[],
    &["-j", "1"],
    &["-j", "3", "--chunk-size", "7"],
    &["--no-prefilter", "-j", "2", "--chunk-size", "1"],
];

fn run_case(dir: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    let expected = fs::read_to_string(dir.join("expected.csv")).expect("expected.csv");
    let extra = fs::read_to_string(dir.join("args")).unwrap_or_default();
    let inputs = common::inputs_of(dir);
    assert!(!inputs.is_empty(), "{}: no input_* files", dir.display());
    let rule = dir.join("rule.yml");
    for variant in VARIANTS {
        let mut args = vec!["run", "--rule", s(&rule), "--format", "csv", "--quiet"];
        args.extend(extra.split_whitespace());
        args.extend(variant.iter().copied());
        args.extend(inputs.iter().map(String::as_str));
        let out = tsreplay(&args);
        let got = stdout(&out);
        if got != expected || !out.status.success() {
            failures.push(format!(
                "{} with {variant:?}: exit {:?}\n--- expected\n{expected}--- got\n{got}\
                 --- stderr\n{}",
                dir.display(),
                out.status.code(),
                stderr(&out)
            ));
        }
    }
    failures.extend(streamed_variants(dir, &rule, &extra, &inputs, &expected));
    failures
}

/// The same case read through the streaming pipeline: every input gzip- and zstd-compressed,
/// and, for one-input cases, from standard input in tiny chunks.
fn streamed_variants(
    dir: &Path,
    rule: &Path,
    extra: &str,
    inputs: &[String],
    expected: &str,
) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let mut gz = Vec::new();
    let mut zst = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let bytes = fs::read(input).unwrap();
        let g = tmp.path().join(format!("{i}.gz"));
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &bytes).unwrap();
        fs::write(&g, enc.finish().unwrap()).unwrap();
        gz.push(s(&g).to_string());
        let z = tmp.path().join(format!("{i}.zst"));
        fs::write(&z, zstd::encode_all(&bytes[..], 1).unwrap()).unwrap();
        zst.push(s(&z).to_string());
    }
    let mut failures = Vec::new();
    let base = ["run", "--rule", s(rule), "--format", "csv", "--quiet"];
    for (label, files) in [("gzip", &gz), ("zstd", &zst)] {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra.split_whitespace());
        args.extend(["-j", "2", "--chunk-size", "5"]);
        args.extend(files.iter().map(String::as_str));
        let got = stdout(&tsreplay(&args));
        if got != expected {
            failures.push(format!("{} via {label}:\n--- got\n{got}", dir.display()));
        }
    }
    if let [only] = inputs {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(extra.split_whitespace());
        args.extend(["--chunk-size", "3", "-"]);
        let got = stdout(&common::tsreplay_stdin(&args, &fs::read(only).unwrap()));
        if got != expected {
            failures.push(format!("{} via stdin:\n--- got\n{got}", dir.display()));
        }
    }
    failures
}

#[test]
fn every_golden_case_gives_its_hand_worked_rows() {
    let cases = root().join("fixtures/cases");
    let mut dirs: Vec<_> = fs::read_dir(&cases)
        .expect("fixtures/cases")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 12, "expected at least 12 golden cases, found {}", dirs.len());
    let failures: Vec<String> = dirs.iter().flat_map(|d| run_case(d)).collect();
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
