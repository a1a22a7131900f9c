//! The distributed entry points: one split of a manifest into a partial, and a merge of
//! partials into rows. They use the local run's own reading (`read_parts`, the same jobs) and
//! finishing (`finish_body`), so every test of the local engine also tests these. Nothing
//! here reads or writes files of the contract: `exchange` does.

use std::path::PathBuf;
use std::time::Instant;

use super::{
    finish_body, plan_jobs, read_parts, thread_pool, Job, Options, RuleSet, SetReport, Stopped,
};
use crate::exchange::{ExchangeError, Manifest, Partial, RuleStamp, Split};
use crate::input::{self, frame, Format, InputFile, Opened};
use crate::output::stats::Summary;
use crate::plan::{self, Plan};
use crate::spl::{Detection, MacroTable};

/// Runs every rule of `set` over split `id` of `manifest`: the records that start in the
/// split's byte range (or its EVTX chunks, or its whole file). Says why reading stopped
/// early, if it did: such a partial is incomplete and must not be merged.
pub fn run_split(
    set: &RuleSet,
    manifest: &Manifest,
    id: u32,
    opts: &Options,
) -> Result<(Partial, Option<Stopped>), ExchangeError> {
    let started = Instant::now();
    let split = manifest.split(id)?;
    let listed = &manifest.files[split.file as usize];
    manifest.check_unchanged(listed)?;
    let format = listed.format();
    let (files, streams) = match input::open(&listed.path, Some(format), opts.chunk_size) {
        Opened::File(f) => (vec![f], Vec::new()),
        Opened::Stream(s) => (Vec::new(), vec![s]),
        Opened::Empty(_) => (Vec::new(), Vec::new()),
        Opened::Failed(e) => {
            return Err(ExchangeError::FileUnreadable { path: e.path, reason: e.reason })
        }
    };
    if let Some(f) = files.first().filter(|_| !listed.whole) {
        if f.data().len() as u64 != listed.len {
            let what = format!("its text is {} bytes, not {}", f.data().len(), listed.len);
            return Err(ExchangeError::FileChanged { path: listed.path.clone(), what });
        }
    }
    let jobs = match files.first() {
        Some(_) if listed.whole => plan_jobs(&files, opts.chunk_size),
        Some(f) => split_jobs(f, split, opts.chunk_size),
        None => Vec::new(),
    };
    let pool = thread_pool(opts.threads);
    let (mut body, stopped) = read_parts(set, &files, streams, &jobs, opts, &pool);
    body.stats.remap_files(|_| split.file as usize);
    body.seconds = started.elapsed().as_secs_f64();
    let covered = std::iter::once(id).collect();
    Ok((Partial { stamp: set.stamp(manifest), covered, body }, stopped))
}

/// The jobs of one split of file `f` (file 0 of the run).
fn split_jobs(f: &InputFile, split: Split, chunk_size: usize) -> Vec<Job> {
    let (start, end) = (split.start as usize, split.end as usize);
    if f.format == Format::Evtx {
        let chunks = input::split::owned_chunks(f.data().len(), start, end);
        return vec![Job::EvtxChunks { file: 0, chunks }];
    }
    let owned = input::split::owned_text(f.data(), f.format, start, end);
    frame::split(&f.data()[owned.clone()], f.format, chunk_size)
        .into_iter()
        .map(|r| Job::Text { file: 0, range: r.start + owned.start..r.end + owned.start })
        .collect()
}

/// Turns a merge of partials that covers every split into each rule's rows, through the same
/// `finish_body` a local run ends with. The rules are compiled back from their stamped
/// searches; every group is checked against its rule first.
pub fn finish_partial(
    p: Partial,
    tz: &jiff::tz::TimeZone,
    threads: usize,
) -> Result<(Vec<Plan>, SetReport), ExchangeError> {
    p.check_complete()?;
    let this = env!("CARGO_PKG_VERSION");
    if p.stamp.tsreplay != this {
        let (left, right) = (p.stamp.tsreplay.clone(), this.to_string());
        return Err(ExchangeError::Mismatch { what: "tsreplay versions", left, right });
    }
    let plans = p.stamp.rules.iter().map(recompile).collect::<Result<Vec<Plan>, _>>()?;
    for ((plan, table), rule) in plans.iter().zip(&p.body.tables).zip(&p.stamp.rules) {
        for (key, state) in table.entries() {
            crate::group::encode::check_fits(plan, key, state).map_err(|source| {
                let path = PathBuf::from("(merged partial)");
                ExchangeError::State { path, rule: rule.name.clone(), source }
            })?;
        }
    }
    let mut summary = Summary {
        files: p.stamp.files.clone(),
        failed: p.stamp.unread.failed.clone(),
        empty: p.stamp.unread.empty.clone(),
        repeated_paths: p.stamp.unread.repeated,
        ..Summary::default()
    };
    let mut body = p.body;
    body.failed.sort();
    body.changed.sort();
    summary.failed.append(&mut body.failed);
    let refs: Vec<&Plan> = plans.iter().collect();
    let report = finish_body(&refs, body, summary, tz, &thread_pool(threads));
    Ok((plans, report))
}

/// Compiles a stamped rule back into its plan, checking that it is the same search.
fn recompile(r: &RuleStamp) -> Result<Plan, ExchangeError> {
    let det = Detection {
        name: r.name.clone(),
        id: (!r.id.is_empty()).then(|| r.id.clone()),
        version: Some(serde_yaml_ng::Value::String(r.version.clone())),
        status: None,
        search: r.search.clone(),
        doc: serde_yaml_ng::Value::Null,
    };
    let failed = |e| ExchangeError::Recompile { rule: r.name.clone(), source: Some(Box::new(e)) };
    let plan = plan::compile(&det, &MacroTable::with_defaults()).map_err(failed)?;
    if plan.search != r.search {
        return Err(ExchangeError::Recompile { rule: r.name.clone(), source: None });
    }
    Ok(plan)
}
