//! The distributed contract (`splits`, `partial`, `merge`, `finish`) against the rows worked
//! out by hand for every golden case, against the single-process run for random split sizes
//! and merge orders, and over `../shared/data` with `xargs -P2`, a missing split and a split
//! run twice.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{inputs_of, root, s, shared_data, stderr, stdout, tsreplay};

/// A merge order for the partials of a run.
#[derive(Clone, Copy, Debug)]
enum Order {
    /// One `merge` call over all partials, last split first.
    Reversed,
    /// Pairs merged, then pairs of pairs, each by its own `merge` call.
    Tree,
}

/// Runs the whole contract over `inputs`; returns `finish`'s stdout, or the failing step's
/// stderr.
fn contract(
    tmp: &Path,
    rule: &[&str],
    inputs: &[String],
    size: &str,
    order: Order,
    finish: &[&str],
) -> Result<String, String> {
    let manifest = tmp.join("manifest.json");
    let mut args = vec!["splits", "--size", size, "-o", s(&manifest)];
    args.extend(inputs.iter().map(String::as_str));
    step(&args)?;
    let n = splits_in(&manifest);
    let mut parts = Vec::new();
    for i in 0..n {
        let part = tmp.join(format!("part{i}.arrow"));
        let split = i.to_string();
        let mut args = vec!["partial", s(&manifest), "--split", &split, "-q", "-o", s(&part)];
        args.extend(rule);
        step(&args)?;
        parts.push(part);
    }
    let merged = merge_in(tmp, parts, order)?;
    let mut args = vec!["finish", s(&merged), "--format", "csv", "--quiet"];
    args.extend(finish);
    step(&args)
}

fn step(args: &[&str]) -> Result<String, String> {
    let out = tsreplay(args);
    match out.status.success() {
        true => Ok(stdout(&out)),
        false => Err(format!("{args:?}: exit {:?}: {}", out.status.code(), stderr(&out))),
    }
}

fn splits_in(manifest: &Path) -> usize {
    let m: serde_json::Value = serde_json::from_slice(&fs::read(manifest).unwrap()).unwrap();
    m["splits"].as_array().expect("a splits list").len()
}

fn merge_in(tmp: &Path, mut parts: Vec<PathBuf>, order: Order) -> Result<PathBuf, String> {
    let mut round = 0;
    match order {
        Order::Reversed => {
            parts.reverse();
            let out = tmp.join("merged.arrow");
            let mut args = vec!["merge", "-o", s(&out)];
            args.extend(parts.iter().map(|p| s(p)));
            step(&args)?;
            Ok(out)
        }
        Order::Tree => {
            while parts.len() > 1 {
                round += 1;
                let mut next = Vec::new();
                for (i, pair) in parts.chunks(2).enumerate() {
                    let out = tmp.join(format!("m{round}_{i}.arrow"));
                    let mut args = vec!["merge", "-o", s(&out)];
                    args.extend(pair.iter().map(|p| s(p)));
                    step(&args)?;
                    next.push(out);
                }
                parts = next;
            }
            Ok(parts.pop().expect("one merge is left"))
        }
    }
}

fn case_dirs(under: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join(under))
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Split sizes that cut records in the middle (records are 300 to 2,000 bytes) and one that
/// keeps several whole; each paired with a merge order.
const SPLITTINGS: &[(&str, Order)] = &[("700", Order::Reversed), ("4KiB", Order::Tree)];

#[test]
fn every_golden_case_gives_its_hand_worked_rows_through_the_contract() {
    let mut failures = Vec::new();
    for dir in case_dirs("fixtures/cases") {
        let expected = fs::read_to_string(dir.join("expected.csv")).unwrap();
        let extra = fs::read_to_string(dir.join("args")).unwrap_or_default();
        let finish: Vec<&str> = extra.split_whitespace().collect();
        let rule = dir.join("rule.yml");
        for (size, order) in SPLITTINGS {
            let tmp = tempfile::tempdir().unwrap();
            let got = contract(
                tmp.path(),
                &["--rule", s(&rule)],
                &inputs_of(&dir),
                size,
                *order,
                &finish,
            );
            if got.as_deref() != Ok(expected.as_str()) {
                failures.push(format!("{} at {size} {order:?}: {got:?}", dir.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn catalog_cases_give_their_hand_worked_rows_through_the_contract() {
    let content = root().join("../shared/security_content");
    if !content.join("detections").is_dir() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but ../shared/security_content is missing");
        }
        eprintln!("skipping: ../shared/security_content is not beside the checkout");
        return;
    }
    let macros = content.join("macros");
    let mut failures = Vec::new();
    for dir in case_dirs("fixtures/catalog") {
        let expected = fs::read_to_string(dir.join("expected.csv")).unwrap();
        let rel = fs::read_to_string(dir.join("detection")).unwrap();
        let rule = content.join(rel.trim());
        let tmp = tempfile::tempdir().unwrap();
        let args = ["--rule", s(&rule), "--macros", s(&macros)];
        let got = contract(tmp.path(), &args, &inputs_of(&dir), "900", Order::Tree, &[]);
        if got.as_deref() != Ok(expected.as_str()) {
            failures.push(format!("{}: {got:?}", dir.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs `script` with `sh -c` in `dir`, with `$B` the binary.
fn sh(dir: &Path, script: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .env("B", env!("CARGO_BIN_EXE_tsreplay"))
        .output()
        .expect("sh runs")
}

#[test]
fn xargs_over_the_shared_data_gives_the_local_rows_and_refuses_gaps_and_repeats() {
    let Some(data) = shared_data() else { return };
    let rules = root().join("../shared/security_content/detections/endpoint");
    let rules = rules.canonicalize().expect("the endpoint detections are beside the data");
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (d, r) = (s(&data), s(&rules));
    let script = format!(
        "$B splits {d} --size 192KiB -o m.json 2>splits.err; \
         n=$(grep -c '\"file\":' m.json); echo $n > count; \
         seq 0 $((n - 1)) | xargs -P2 -I{{}} $B partial m.json --split {{}} --rules {r} -q \
           -o part{{}}.arrow 2>>partial.err || exit 9"
    );
    let out = sh(t, &script);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let n: usize = fs::read_to_string(t.join("count")).unwrap().trim().parse().unwrap();
    assert!(n > 20, "the shared data cut into {n} splits");
    let local = tsreplay(&["run", "--rules", r, d, "--format", "csv", "-q"]);
    assert!(!stdout(&local).is_empty());

    // Every split once, merged in name order (part0, part1, part10, ...): the local rows.
    let out = sh(t, "$B merge part*.arrow -o all.arrow && $B finish all.arrow --format csv -q");
    assert_eq!(out.status.code(), Some(2), "unreadable inputs make exit 2: {}", stderr(&out));
    assert_eq!(stdout(&out), stdout(&local));

    // One split missing: finish names it and prints nothing.
    let last = n - 1;
    let out = sh(
        t,
        &format!(
            "mv part{last}.arrow kept.arrow; $B merge part*.arrow -o gap.arrow \
                              && $B finish gap.arrow --format csv -q"
        ),
    );
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stdout(&out), "");
    let err = stderr(&out);
    assert!(err.contains(&format!("covers {last} of {n} splits; missing: split {last}")), "{err}");

    // The split run twice (a retried task): the second partial is refused, not added.
    let script = format!(
        "mv kept.arrow part{last}.arrow; $B partial m.json --split 3 --rules {r} -q -o again.arrow \
         && $B merge part*.arrow again.arrow -o twice.arrow"
    );
    let out = sh(t, &script);
    assert_eq!(out.status.code(), Some(4));
    let err = stderr(&out);
    assert!(err.contains("both partials cover split 3"), "{err}");
    assert!(err.contains("refused when again.arrow was merged"), "{err}");
    assert!(!t.join("twice.arrow").exists());

    // The retry's partial in place of the first: the same rows as before.
    let out = sh(
        t,
        "mv again.arrow part3.arrow; $B merge part*.arrow -o retry.arrow \
                     && $B finish retry.arrow --format csv -q",
    );
    assert_eq!(stdout(&out), stdout(&local));
}

#[test]
fn finish_prints_a_rules_run_per_rule_as_run_rules_does() {
    let dir = root().join("fixtures/cases/bits_job_persistence_v13_full");
    let rule = dir.join("rule.yml");
    let expected = fs::read_to_string(dir.join("expected.csv")).unwrap();
    // `run --rules` tags each row with the rule's name and id (rule.yml has no id).
    let yaml = fs::read_to_string(&rule).unwrap();
    assert!(yaml.starts_with("name: BITS Job Persistence\n") && !yaml.contains("\nid:"));
    let tag = "BITS Job Persistence,";
    let mut lines = expected.lines();
    let mut want = format!("rule,rule_id,{}\n", lines.next().unwrap());
    for l in lines {
        want.push_str(&format!("{tag},{l}\n"));
    }
    let tmp = tempfile::tempdir().unwrap();
    let got =
        contract(tmp.path(), &["--rules", s(&rule)], &inputs_of(&dir), "2KiB", Order::Tree, &[]);
    assert_eq!(got.as_deref(), Ok(want.as_str()));
}

#[test]
fn unreadable_files_and_bad_requests_exit_2_refusals_exit_4() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let missing = t.join("nope.json");
    let out = tsreplay(&["partial", s(&missing), "--split", "0", "-o", s(&t.join("p.arrow"))]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let input = root().join("fixtures/cases/crowdstrike_fdr/input_falcon.json");
    let out = tsreplay(&["splits", s(&input), "--size", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--size 0"), "{}", stderr(&out));
    let empty = t.join("empty");
    fs::create_dir(&empty).unwrap();
    let out = tsreplay(&["splits", s(&empty)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no split"), "{}", stderr(&out));
    let m = t.join("m.json");
    assert!(tsreplay(&["splits", s(&input), "-q", "-o", s(&m)]).status.success());
    let out = tsreplay(&["partial", s(&m), "--split", "1", "-o", s(&t.join("p.arrow"))]);
    assert_eq!(out.status.code(), Some(2), "one split, numbered 0: {}", stderr(&out));
    assert!(stderr(&out).contains("has splits 0 to 0"), "{}", stderr(&out));
    // A data file touched after `splits`: its ranges may no longer be its records.
    let copy = t.join("falcon.json");
    fs::copy(&input, &copy).unwrap();
    assert!(tsreplay(&["splits", s(&copy), "-q", "-o", s(&m)]).status.success());
    std::thread::sleep(std::time::Duration::from_millis(20));
    fs::write(&copy, fs::read(&input).unwrap()).unwrap();
    let out = tsreplay(&["partial", s(&m), "--split", "0", "-o", s(&t.join("p.arrow"))]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("it was modified since the manifest was made"),
        "{}",
        stderr(&out)
    );

    // `finish -o` and `merge -o` never write over a data file the stamp names.
    assert!(tsreplay(&["splits", s(&copy), "-q", "-o", s(&m)]).status.success());
    let part = t.join("p.arrow");
    assert!(tsreplay(&["partial", s(&m), "--split", "0", "-q", "-o", s(&part)]).status.success());
    let before = fs::read(&copy).unwrap();
    for args in [vec!["finish", s(&part), "-o", s(&copy)], vec!["merge", s(&part), "-o", s(&copy)]]
    {
        let out = tsreplay(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("-o names an input"), "{}", stderr(&out));
    }
    assert_eq!(fs::read(&copy).unwrap(), before);

    // `splits -o` never writes over a file it plans.
    let out = tsreplay(&["splits", s(&copy), "-o", s(&copy)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fs::read(&copy).unwrap(), before);

    // A pipe is read once: it is not split.
    let fifo = t.join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let out = tsreplay(&["splits", s(&fifo), "-q"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not a regular file"), "{}", stderr(&out));
}
