//! The security_content catalog: 25 catalog detections replayed over team-written events
//! (`fixtures/catalog/`, rows worked out by hand in each NOTES.md), alone and inside one pass
//! of all 20; and the coverage of `tsreplay catalog` over `../shared/security_content`.
//!
//! The detections are read from `../shared/security_content` (not copied): without it these
//! tests skip with a message, and under `CI=true` they fail.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{root, s, stderr, stdout, tsreplay};

/// `../shared/security_content`, or `None` (with a message) outside CI when it is absent.
fn content() -> Option<PathBuf> {
    let dir = root().join("../shared/security_content");
    if dir.join("detections").is_dir() {
        return Some(dir.canonicalize().expect("path resolves"));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true but ../shared/security_content is missing beside the checkout");
    }
    eprintln!("skipping: ../shared/security_content is not beside the checkout");
    None
}

struct Case {
    dir: PathBuf,
    detection: PathBuf,
    inputs: Vec<String>,
    expected: String,
}

fn cases(content: &Path) -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("fixtures/catalog"))
        .expect("fixtures/catalog")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.into_iter()
        .map(|dir| {
            let rel = fs::read_to_string(dir.join("detection")).expect("detection file");
            let mut inputs: Vec<String> = fs::read_dir(&dir)
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("input_"))
                })
                .map(|p| s(&p).to_string())
                .collect();
            inputs.sort();
            let expected = fs::read_to_string(dir.join("expected.csv")).expect("expected.csv");
            Case { detection: content.join(rel.trim()), dir, inputs, expected }
        })
        .collect()
}

const VARIANTS: &[&[&str]] =
    &[&[], &["-j", "3", "--chunk-size", "7"], &["--no-prefilter", "-j", "1"]];

#[test]
fn catalog_detections_give_their_hand_worked_rows() {
    let Some(content) = content() else { return };
    let macros = content.join("macros");
    let all = cases(&content);
    assert!(all.len() >= 25, "expected 25 catalog cases, found {}", all.len());
    let mut failures = Vec::new();
    for c in &all {
        for variant in VARIANTS {
            let mut args = vec!["run", "--rule", s(&c.detection), "--macros", s(&macros)];
            args.extend(["--format", "csv", "--quiet"]);
            args.extend(variant.iter().copied());
            args.extend(c.inputs.iter().map(String::as_str));
            let out = tsreplay(&args);
            let got = stdout(&out);
            if got != c.expected {
                failures.push(format!(
                    "{} {variant:?}:\n--- expected\n{}--- got\n{got}--- stderr\n{}",
                    c.dir.display(),
                    c.expected,
                    stderr(&out)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

/// The rows of `rule` in `--rules --format json` output, as the CSV `--rule` would print with
/// `header`'s columns.
fn rule_rows_as_csv(json_lines: &str, rule: &str, header: &[String]) -> String {
    let mut w =
        csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(vec![]);
    w.write_record(header).unwrap();
    for line in json_lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        if v["rule"] != rule {
            continue;
        }
        let cells: Vec<String> = header
            .iter()
            .map(|h| match &v["row"][h.as_str()] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
                other => panic!("column {h} of {rule} is {other}"),
            })
            .collect();
        w.write_record(&cells).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

#[test]
fn one_pass_over_all_cases_gives_each_rule_its_own_rows() {
    let Some(content) = content() else { return };
    let macros = content.join("macros");
    let all = cases(&content);
    let rules: Vec<String> = all.iter().map(|c| s(&c.detection).to_string()).collect();
    let rules = rules.join(",");
    let mut failures = Vec::new();
    for c in &all {
        let mut args = vec!["run", "--rules", &rules, "--macros", s(&macros), "--format", "json"];
        args.extend(["--quiet", "-j", "2"]);
        args.extend(c.inputs.iter().map(String::as_str));
        let out = tsreplay(&args);
        assert!(out.status.success(), "{}: {}", c.dir.display(), stderr(&out));
        let name = fs::read_to_string(&c.detection).unwrap();
        let name = name.lines().find_map(|l| l.strip_prefix("name: ")).unwrap().trim().to_string();
        let header: Vec<String> =
            c.expected.lines().next().unwrap().split(',').map(str::to_string).collect();
        let got = rule_rows_as_csv(&stdout(&out), &name, &header);
        if got != c.expected {
            failures.push(format!(
                "{} in one pass:\n--- expected\n{}--- got\n{got}",
                c.dir.display(),
                c.expected
            ));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn catalog_compiles_the_target_share_of_endpoint_processes() {
    let Some(content) = content() else { return };
    let out = tsreplay(&["catalog", s(&content)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line =
        text.lines().find(|l| l.starts_with("Endpoint.Processes ")).expect("a Processes row");
    let nums: Vec<usize> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    let (compiled, total) = (nums[0], nums[1]);
    // catalog.md counts 545 top-level Endpoint.Processes tstats detections in this snapshot.
    assert_eq!(total, 545, "{line}");
    assert!(compiled * 100 >= total * 85, "{compiled} of {total} is under 85%: {line}");
    assert!(text.contains("98 deprecated skipped"), "catalog.md counts 98 deprecated: {text}");
}

#[test]
fn refusal_reasons_name_the_construct_and_are_stable() {
    let Some(content) = content() else { return };
    let run = || stdout(&tsreplay(&["catalog", "--list", s(&content)]));
    let (a, b) = (run(), run());
    assert_eq!(a, b, "two runs give the same report");
    let reason_of = |file: &str| {
        a.lines()
            .find(|l| l.contains(file))
            .and_then(|l| l.split('\t').nth(2))
            .unwrap_or_else(|| panic!("{file} listed"))
            .to_string()
    };
    // Each checked by reading the YAML: the first construct outside the subset.
    let hand = [
        // `| tstats ... Endpoint.Processes ... | rename | join process_guid [| tstats ...]`
        ("detections/endpoint/batch_file_write_to_system32.yml", "unsupported command `join`"),
        // `| tstats count from datamodel=Web where Web.http_user_agent="*Java*" ...`
        ("detections/endpoint/java_class_file_download_by_java_user_agent.yml", "data model `Web`"),
        // datamodel=Endpoint.Registry, Registry fields and supported commands only
        ("detections/endpoint/active_setup_registry_autostart.yml", "compiled"),
        // a raw `sysmon` search
        (
            "detections/endpoint/access_lsass_memory_for_dump_creation.yml",
            "not a tstats search (a raw event search)",
        ),
        // BITS Job Persistence itself compiles
        ("detections/endpoint/bits_job_persistence.yml", "compiled"),
    ];
    for (file, want) in hand {
        assert_eq!(reason_of(file), want, "{file}");
    }
    for line in a.lines().filter(|l| l.contains('\t')) {
        let reason = line.split('\t').nth(2).unwrap_or("");
        assert!(!reason.contains("line") && !reason.contains("column"), "no position: {line}");
    }
}

#[test]
fn current_directory_is_null_by_part_a_and_mapped_with_one_profile_line() {
    let Some(content) = content() else { return };
    let case = cases(&content)
        .into_iter()
        .find(|c| c.dir.ends_with("windows_uac_bypass_suspicious_child_process"))
        .expect("the UAC case");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    fs::write(
        &profile,
        concat!(
            "[sources.sysmon_xml.fields]\n",
            "process_current_directory = { field = \"CurrentDirectory\" }\n"
        ),
    )
    .unwrap();
    let macros = content.join("macros");
    let mut args = vec!["run", "--rule", s(&case.detection), "--macros", s(&macros)];
    args.extend(["--profile", s(&profile), "--format", "csv", "--quiet"]);
    args.extend(case.inputs.iter().map(String::as_str));
    let got = stdout(&tsreplay(&args));
    // The three firing records' CurrentDirectory values, read from input_sysmon.xml; the
    // expected.csv (Part A) has `null` in that column.
    let dirs: Vec<&str> = got.lines().skip(1).map(|l| l.split(',').nth(9).unwrap()).collect();
    assert_eq!(
        dirs,
        [
            r"C:\Windows\system32\",
            r"C:\Users\Public\Libraries\",
            r"C:\Users\tbrooks\AppData\Local\Temp\"
        ]
    );
    assert!(case.expected.lines().skip(1).all(|l| l.split(',').nth(9) == Some("null")));
}

#[test]
fn rule_set_findings_in_json_name_their_rule() {
    let Some(content) = content() else { return };
    let case = cases(&content)
        .into_iter()
        .find(|c| c.dir.ends_with("deleting_shadow_copies"))
        .expect("the shadow copies case");
    let macros = content.join("macros");
    let mut args = vec!["run", "--rules", s(&case.detection), "--macros", s(&macros)];
    args.extend(["--findings", "--format", "json", "--quiet"]);
    args.extend(case.inputs.iter().map(String::as_str));
    let out = tsreplay(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // expected.csv of the case holds the rows (cells with line breaks inside); each JSON line
    // is one of them, tagged.
    let rows = csv::Reader::from_reader(case.expected.as_bytes()).records().count();
    assert_eq!(rows, 2, "the case's NOTES.md works out two rows");
    assert_eq!(lines.len(), rows);
    for l in &lines {
        assert_eq!(l["rule"], "Deleting Shadow Copies");
        assert!(l["row"].is_object() && l["finding"].is_object(), "{l}");
    }
}

#[test]
fn catalog_names_files_it_cannot_read_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    fs::write(&bad, "garbage: : :\n").unwrap();
    let missing = dir.path().join("nonexistent.yml");
    let out = tsreplay(&["catalog", "--list", s(&bad), s(&missing)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("not read") && err.contains("bad.yml"), "{err}");
    assert!(err.contains("nonexistent.yml"), "{err}");
    assert!(stdout(&out).contains("2 analysed"), "{}", stdout(&out));
}
