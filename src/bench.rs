//! `tsreplay bench`: the standard benchmark matrix, with its baselines run in the same
//! session, written to `results/<date>_<commit>_matrix/` as raw CSV, a summary and SVG plots.
//!
//! Owns the matrix (formats x sizes x selectivity x threads), the baselines (`cat`, `rg -c -i`
//! when installed, and the plain parse: the full-parse rule, no literal, nothing grouped), and
//! timing by wall clock over whole runs of this same binary. Inputs come from `gen` into a
//! scratch folder outside the project. It is a tool, not part of the replay pipeline.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::gen::{generate, GenFormat};

/// The full-parse benchmark rule, embedded so the binary can run it anywhere.
pub const FULL_PARSE_RULE: &str = include_str!("../scripts/bench_rules/full_parse.yml");

/// What to run.
#[derive(Debug, Clone)]
pub struct Matrix {
    /// Formats, with their names.
    pub formats: Vec<(GenFormat, &'static str)>,
    /// Input sizes in bytes.
    pub sizes: Vec<u64>,
    /// Shares of positives.
    pub selectivity: Vec<f64>,
    /// Thread counts.
    pub threads: Vec<usize>,
    /// Runs per measurement (the best is kept).
    pub runs: usize,
    /// Where generated inputs go.
    pub scratch: PathBuf,
    /// Where the results folder is made.
    pub results: PathBuf,
    /// A detection folder (or file) whose compiled rules also run in one pass, measured
    /// against the default rule alone.
    pub rules: Option<PathBuf>,
}

/// One measured line.
#[derive(Debug, Clone)]
struct Row {
    format: &'static str,
    size: u64,
    selectivity: f64,
    case: String,
    threads: usize,
    seconds: f64,
    records: Option<u64>,
}

/// Runs the matrix and returns the results folder.
pub fn run(m: &Matrix) -> io::Result<PathBuf> {
    std::fs::create_dir_all(&m.scratch)?;
    let me = std::env::current_exe()?;
    let rule = m.scratch.join("full_parse.yml");
    std::fs::write(&rule, FULL_PARSE_RULE)?;
    let has_rg = Command::new("rg").arg("--version").stdout(Stdio::null()).status().is_ok();
    let mut rows = Vec::new();
    for &(format, name) in &m.formats {
        for &size in &m.sizes {
            for &sel in &m.selectivity {
                let file = input(m, format, name, size, sel)?;
                measure_file(m, &me, &rule, has_rg, (name, size, sel), &file, &mut rows)?;
            }
        }
    }
    let dir = m.results.join(format!("{}_{}_matrix", today(), commit()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("raw.csv"), raw_csv(&rows))?;
    std::fs::write(dir.join("summary.md"), summary(m, &rows, has_rg))?;
    std::fs::write(dir.join("threads.svg"), svg_threads(&rows))?;
    std::fs::write(dir.join("selectivity.svg"), svg_selectivity(&rows))?;
    Ok(dir)
}

fn input(m: &Matrix, format: GenFormat, name: &str, size: u64, sel: f64) -> io::Result<PathBuf> {
    let file = m.scratch.join(format!("{name}-{size}-{sel}.log"));
    if !file.exists() {
        let mut out = io::BufWriter::new(std::fs::File::create(&file)?);
        generate(&mut out, format, size, sel, 1)?;
    }
    Ok(file)
}

fn measure_file(
    m: &Matrix,
    me: &Path,
    rule: &Path,
    has_rg: bool,
    (format, size, selectivity): (&'static str, u64, f64),
    file: &Path,
    rows: &mut Vec<Row>,
) -> io::Result<()> {
    let f = file.to_string_lossy().to_string();
    let mut push = |case: &str, threads: usize, (seconds, records): (f64, Option<u64>)| {
        let case = case.to_string();
        rows.push(Row { format, size, selectivity, case, threads, seconds, records });
    };
    std::fs::read(file).map(drop)?; // warm the page cache
    push("cat", 1, best(m.runs, "cat", &[&f])?);
    if has_rg {
        push("rg -c -i bitsadmin", 1, best(m.runs, "rg", &["-c", "-i", "bitsadmin", &f])?);
    }
    let me = me.to_string_lossy().to_string();
    let rule = rule.to_string_lossy().to_string();
    for &t in &m.threads {
        let j = t.to_string();
        push("plain parse", t, best(m.runs, &me, &["run", "-j", &j, "--rule", &rule, &f])?);
        push("tsreplay selective", t, best(m.runs, &me, &["run", "-j", &j, &f])?);
        if let Some(rules) = &m.rules {
            let rules = rules.to_string_lossy();
            let args = ["run", "-j", &j, "--rules", &rules, &f];
            push("catalog one pass", t, best(m.runs, &me, &args)?);
        }
    }
    Ok(())
}

/// The best wall time of `runs` runs, and the records the run reported (tsreplay only).
fn best(runs: usize, program: &str, args: &[&str]) -> io::Result<(f64, Option<u64>)> {
    let mut best = f64::INFINITY;
    let mut records = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let out = Command::new(program).args(args).stdout(Stdio::null()).output()?;
        best = best.min(started.elapsed().as_secs_f64());
        let err = String::from_utf8_lossy(&out.stderr);
        records = err
            .lines()
            .find_map(|l| l.trim().strip_prefix("records read:"))
            .and_then(|n| n.trim().parse().ok());
    }
    Ok((best, records))
}

fn raw_csv(rows: &[Row]) -> String {
    let mut out = String::from("format,bytes,selectivity,case,threads,seconds,records\n");
    for r in rows {
        let rec = r.records.map_or(String::new(), |n| n.to_string());
        let _ = writeln!(
            out,
            "{},{},{},{},{},{:.4},{rec}",
            r.format, r.size, r.selectivity, r.case, r.threads, r.seconds
        );
    }
    out
}

fn mbs(r: &Row) -> f64 {
    r.size as f64 / 1e6 / r.seconds.max(1e-9)
}

fn summary(m: &Matrix, rows: &[Row], has_rg: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmark matrix (`tsreplay bench`), {}\n", today());
    let _ = writeln!(out, "- machine: {} threads available", num_threads());
    let _ = writeln!(out, "- commit: {}", commit());
    let _ = writeln!(out, "- runs: best of {} wall-clock runs, page cache warm", m.runs);
    let _ = writeln!(out, "- inputs: `tsreplay gen --seed 1` in {}", m.scratch.display());
    if !has_rg {
        let _ = writeln!(out, "- `rg` was not installed: no rg baseline");
    }
    let _ = writeln!(
        out,
        "\n| format | bytes | positives | case | threads | s | MB/s | events/s | vs rg | vs cat |"
    );
    let _ = writeln!(out, "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let base = |case: &str| {
            rows.iter()
                .find(|b| {
                    b.case.starts_with(case)
                        && (b.format, b.size, b.selectivity) == (r.format, r.size, r.selectivity)
                })
                .map(|b| format!("{:.2}x", r.seconds / b.seconds.max(1e-9)))
                .unwrap_or_else(|| "-".into())
        };
        let eps =
            r.records.map_or("-".into(), |n| format!("{:.0}", n as f64 / r.seconds.max(1e-9)));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.3} | {:.0} | {eps} | {} | {} |",
            r.format,
            r.size,
            r.selectivity,
            r.case,
            r.threads,
            r.seconds,
            mbs(r),
            base("rg"),
            base("cat")
        );
    }
    if let Some(rules) = &m.rules {
        catalog_ratios(&mut out, rows, rules);
    }
    let _ = writeln!(
        out,
        "\nPlots: threads.svg (MB/s against threads), selectivity.svg (MB/s against the share \
         of positives, at the most threads)."
    );
    out
}

/// The one-pass catalog run against the default rule alone, same input and threads.
fn catalog_ratios(out: &mut String, rows: &[Row], rules: &Path) {
    let _ = writeln!(
        out,
        "\n## Catalog in one pass (`--rules {}`) against BITS Job Persistence alone\n",
        rules.display()
    );
    let _ = writeln!(out, "| format | bytes | positives | threads | BITS s | catalog s | ratio |");
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for c in rows.iter().filter(|r| r.case == "catalog one pass") {
        let same = |b: &&Row| {
            b.case == "tsreplay selective"
                && (b.format, b.size, b.selectivity, b.threads)
                    == (c.format, c.size, c.selectivity, c.threads)
        };
        if let Some(b) = rows.iter().find(same) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {:.3} | {:.3} | {:.1}x |",
                c.format,
                c.size,
                c.selectivity,
                c.threads,
                b.seconds,
                c.seconds,
                c.seconds / b.seconds.max(1e-9)
            );
        }
    }
}

/// A bar chart: one group of bars per label, one bar per series value.
fn svg_bars(title: &str, groups: &[(String, Vec<(String, f64)>)]) -> String {
    let max = groups.iter().flat_map(|(_, b)| b.iter().map(|x| x.1)).fold(1.0, f64::max);
    let bar_w = 28.0;
    let width = 80.0 + groups.iter().map(|(_, b)| b.len() as f64 * bar_w + 30.0).sum::<f64>();
    let mut s = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{width:.0}' height='320' \
         font-family='sans-serif' font-size='10'><text x='10' y='16' font-size='13'>{title}</text>\
         <line x1='60' y1='270' x2='{width:.0}' y2='270' stroke='black'/>"
    );
    let mut x = 70.0;
    for (label, bars) in groups {
        let start = x;
        for (name, v) in bars {
            let h = 230.0 * v / max;
            let _ = write!(
                s,
                "<rect x='{x:.0}' y='{:.0}' width='{:.0}' height='{h:.0}' fill='#4a7ab5'/>\
                 <text x='{:.0}' y='{:.0}' text-anchor='middle'>{v:.0}</text>\
                 <text x='{:.0}' y='282' text-anchor='middle'>{name}</text>",
                270.0 - h,
                bar_w - 4.0,
                x + (bar_w - 4.0) / 2.0,
                266.0 - h,
                x + (bar_w - 4.0) / 2.0
            );
            x += bar_w;
        }
        let _ = write!(
            s,
            "<text x='{:.0}' y='300' text-anchor='middle'>{label}</text>",
            (start + x) / 2.0
        );
        x += 30.0;
    }
    s.push_str("<text x='10' y='150' transform='rotate(-90 10 150)'>MB/s</text></svg>\n");
    s
}

fn svg_threads(rows: &[Row]) -> String {
    let mut groups: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    for r in rows.iter().filter(|r| r.case.starts_with("tsreplay") || r.case == "plain parse") {
        let label = format!("{} {} {}", r.format, r.case, r.size >> 20);
        let bar = (format!("j{}", r.threads), mbs(r));
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, b)) => b.push(bar),
            None => groups.push((label, vec![bar])),
        }
    }
    svg_bars("Throughput against threads (MB/s; label: format, case, MiB)", &groups)
}

fn svg_selectivity(rows: &[Row]) -> String {
    let top = rows.iter().map(|r| r.threads).max().unwrap_or(1);
    let mut groups: Vec<(String, Vec<(String, f64)>)> = Vec::new();
    for r in rows.iter().filter(|r| r.case == "tsreplay selective" && r.threads == top) {
        let label = format!("{} {} MiB", r.format, r.size >> 20);
        let bar = (format!("{}", r.selectivity), mbs(r));
        match groups.iter_mut().find(|(l, _)| *l == label) {
            Some((_, b)) => b.push(bar),
            None => groups.push((label, vec![bar])),
        }
    }
    svg_bars(&format!("Throughput against share of positives ({top} threads, MB/s)"), &groups)
}

fn num_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

fn commit() -> String {
    let out = Command::new("git").args(["rev-parse", "--short", "HEAD"]).output();
    out.ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}
