//! Run counters: volume per stage and every record skipped or damaged, by kind, with the first
//! few locations. Workers keep their own `Stats`; the engine merges them and this module
//! prints the one summary.
//!
//! Owns the summary's wording. It must not decide what counts as damaged; stages report it.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How many locations are kept per kind.
const KEEP_LOCATIONS: usize = 5;

/// The kinds of skipped, damaged or notable records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Issue {
    /// A JSON line that is not valid JSON.
    InvalidJson,
    /// A JSON line that is valid but not an object.
    JsonNotObject,
    /// An XML record whose `<EventData>` was cut: no fields, no row.
    EventDataCut,
    /// An XML record with no `</Event>` (ended where the next one starts, or at the end).
    Unterminated,
    /// Non-XML text between XML records (classic WinEventLog text and the like), skipped.
    NonXmlText,
    /// A record with invalid UTF-8, read with U+FFFD in its place.
    InvalidUtf8,
    /// A process creation with no readable time: no row.
    NoTime,
    /// A Sysmon process creation without UtcTime, timed from SystemTime (or TimeCreated).
    TimeFallback,
    /// An EVTX record that failed to parse.
    EvtxRecord,
    /// An EVTX chunk that failed to parse (not zero-filled).
    EvtxChunk,
    /// An EVTX chunk slot without a chunk header (unused, zero-filled or stale), skipped.
    EvtxEmptyChunk,
    /// A record read from an EVTX-dump XML rendering.
    DumpRendering,
    /// An EVTX file whose final chunk is cut short.
    EvtxCutChunk,
    /// An EVTX file with a header and no chunk.
    EvtxNoChunks,
    /// A JSON line nested deeper than the parser allows.
    JsonTooDeep,
}

impl Issue {
    const ALL: [Issue; 15] = [
        Issue::InvalidJson,
        Issue::JsonNotObject,
        Issue::EventDataCut,
        Issue::Unterminated,
        Issue::NonXmlText,
        Issue::InvalidUtf8,
        Issue::NoTime,
        Issue::TimeFallback,
        Issue::EvtxRecord,
        Issue::EvtxChunk,
        Issue::EvtxEmptyChunk,
        Issue::DumpRendering,
        Issue::EvtxCutChunk,
        Issue::EvtxNoChunks,
        Issue::JsonTooDeep,
    ];

    /// The summary's words for this issue.
    pub fn label(self) -> &'static str {
        match self {
            Issue::InvalidJson => "malformed: not valid JSON (skipped)",
            Issue::JsonNotObject => "malformed: JSON line is not an object (skipped)",
            Issue::EventDataCut => "truncated: XML record cut before </EventData> (no fields)",
            Issue::Unterminated => "truncated: XML record without </Event>",
            Issue::NonXmlText => "skipped: non-XML text between records",
            Issue::InvalidUtf8 => "repaired: invalid UTF-8 or lone surrogates replaced by U+FFFD",
            Issue::NoTime => "skipped: process creation without a readable time",
            Issue::TimeFallback => {
                "note: Sysmon EventID 1 without UtcTime, timed from SystemTime/TimeCreated"
            }
            Issue::EvtxRecord => "malformed: EVTX record that failed to parse (skipped)",
            Issue::EvtxChunk => "malformed: EVTX chunk that failed to parse (skipped)",
            Issue::EvtxEmptyChunk => {
                "note: EVTX chunk slots without a chunk header (unused, skipped)"
            }
            Issue::DumpRendering => "note: records read from an EVTX-dump XML rendering",
            Issue::EvtxCutChunk => "truncated: EVTX file whose final chunk is cut short",
            Issue::EvtxNoChunks => "note: EVTX file with no chunk (an empty log)",
            Issue::JsonTooDeep => "malformed: JSON nested deeper than 256 levels (skipped)",
        }
    }
}

/// What a location's number counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Unit {
    /// A byte offset in the file (in the decoded text for UTF-16 files).
    Byte,
    /// An EVTX record id (the record header's).
    Record,
    /// An EVTX chunk number.
    Chunk,
}

/// Where a record is: a file (index into the run's file list) and a position in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Location {
    /// The file's index.
    pub file: usize,
    /// The position: a byte offset, a record id or a chunk number, as `unit` says.
    pub offset: u64,
    /// What `offset` counts.
    pub unit: Unit,
    /// Extra detail (an error message), or empty.
    pub detail: String,
}

impl Location {
    /// A byte offset in a file.
    pub fn byte(file: usize, offset: u64) -> Location {
        Location { file, offset, unit: Unit::Byte, detail: String::new() }
    }
}

/// Counters of one worker, or of a whole run after merging.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    /// Input bytes read.
    pub bytes: u64,
    /// Records seen (lines, XML events, EVTX records).
    pub records: u64,
    /// Process-creation events among them (Sysmon 1, 4688, ProcessRollup2).
    pub process_events: u64,
    /// Records that are Sysmon registry events (EventID 12, 13, 14).
    pub registry_events: u64,
    /// Records that are Sysmon file events (EventID 11, 23, 26).
    pub file_events: u64,
    /// Records the prefilter rejected before parsing.
    pub prefiltered: u64,
    /// EVTX chunks the prefilter ruled out from their raw bytes (their records are counted in
    /// `records` and `prefiltered`, and are not decoded, so their kinds are not counted).
    pub evtx_chunks_skipped: u64,
    /// Events that passed the tstats filter.
    pub matched: u64,
    /// Matched events dropped for a missing BY field (no `fillnull_value`).
    pub dropped_missing_by: u64,
    issues: Vec<(Issue, u64, Vec<Location>)>,
}

impl Stats {
    /// Counts a record of `kind` under its data set.
    pub fn count_kind(&mut self, kind: crate::schema::SourceKind) {
        match kind.dataset() {
            Some("Endpoint.Processes") => self.process_events += 1,
            Some("Endpoint.Registry") => self.registry_events += 1,
            Some(_) => self.file_events += 1,
            None => {}
        }
    }

    /// Counts one issue at `loc`.
    pub fn issue(&mut self, issue: Issue, loc: impl FnOnce() -> Location) {
        let entry = match self.issues.iter_mut().position(|(i, _, _)| *i == issue) {
            Some(p) => &mut self.issues[p],
            None => {
                self.issues.push((issue, 0, Vec::new()));
                self.issues.last_mut().expect("just pushed")
            }
        };
        entry.1 += 1;
        let locs = &mut entry.2;
        let new = loc();
        if locs.len() < KEEP_LOCATIONS || locs.last().is_some_and(|l| new < *l) {
            let at = locs.partition_point(|l| *l < new);
            locs.insert(at, new);
            locs.truncate(KEEP_LOCATIONS);
        }
    }

    /// How many times `issue` was counted.
    pub fn count(&self, issue: Issue) -> u64 {
        self.issues.iter().find(|(i, _, _)| *i == issue).map_or(0, |(_, n, _)| *n)
    }

    /// Every issue counted, with its count, in the summary's order.
    pub fn issue_counts(&self) -> Vec<(Issue, u64)> {
        Issue::ALL.iter().map(|i| (*i, self.count(*i))).filter(|(_, n)| *n > 0).collect()
    }

    /// The first locations of `issue`, in file and offset order.
    pub fn locations(&self, issue: Issue) -> &[Location] {
        self.issues.iter().find(|(i, _, _)| *i == issue).map_or(&[], |(_, _, l)| l)
    }

    /// Folds another worker's counters into these.
    pub fn merge(&mut self, other: Stats) {
        // Saturating: counters read back from partial files are not trusted to be small.
        let add = |a: &mut u64, b: u64| *a = a.saturating_add(b);
        add(&mut self.bytes, other.bytes);
        add(&mut self.records, other.records);
        add(&mut self.process_events, other.process_events);
        add(&mut self.registry_events, other.registry_events);
        add(&mut self.file_events, other.file_events);
        add(&mut self.prefiltered, other.prefiltered);
        add(&mut self.evtx_chunks_skipped, other.evtx_chunks_skipped);
        add(&mut self.matched, other.matched);
        add(&mut self.dropped_missing_by, other.dropped_missing_by);
        for (issue, n, locs) in other.issues {
            let kept = locs.len() as u64;
            for loc in locs {
                self.issue(issue, || loc);
            }
            self.add_count(issue, n.saturating_sub(kept));
        }
    }

    /// Renumbers the files that locations point into (a split's one file is file `f(0)` of
    /// its manifest).
    pub fn remap_files(&mut self, f: impl Fn(usize) -> usize) {
        for (_, _, locs) in &mut self.issues {
            locs.iter_mut().for_each(|l| l.file = f(l.file));
        }
    }

    fn add_count(&mut self, issue: Issue, extra: u64) {
        if let Some(e) = self.issues.iter_mut().find(|(i, _, _)| *i == issue) {
            e.1 = e.1.saturating_add(extra);
        }
    }
}

/// What the summary reports about a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Files read.
    pub files: Vec<PathBuf>,
    /// Paths that could not be read or recognised, with the reason.
    pub failed: Vec<(PathBuf, String)>,
    /// Files that were empty.
    pub empty: Vec<PathBuf>,
    /// Input paths that named a file or folder already read (read once).
    pub repeated_paths: usize,
    /// Symlinks leading back into a folder being walked (not followed).
    pub loops: Vec<PathBuf>,
    /// Files that changed during the run without loss (grew, shrank after being read,
    /// rewritten in place), with what happened.
    pub changed: Vec<(PathBuf, String)>,
    /// The merged counters.
    pub stats: Stats,
    /// Result rows.
    pub rows: usize,
    /// Wall-clock seconds.
    pub seconds: f64,
}

impl Summary {
    /// The lines naming paths that could not be read or recognised (printed even with
    /// `--quiet`).
    pub fn render_failures(&self) -> String {
        let mut out = String::new();
        for (p, why) in &self.failed {
            let _ = writeln!(out, "  not read: {}: {}", shown(p), escaped(why));
        }
        out
    }

    /// The summary text for stderr.
    pub fn render(&self) -> String {
        let s = &self.stats;
        let secs = self.seconds.max(1e-9);
        let mut out = String::new();
        let _ = writeln!(out, "tsreplay summary");
        let _ = writeln!(out, "  files read:              {}", self.files.len());
        let _ = writeln!(out, "  bytes:                   {}", s.bytes);
        let _ = writeln!(out, "  records read:            {}", s.records);
        let _ = writeln!(out, "  process-creation events: {}", s.process_events);
        if s.registry_events + s.file_events > 0 {
            let _ = writeln!(out, "  registry events:         {}", s.registry_events);
            let _ = writeln!(out, "  file events:             {}", s.file_events);
        }
        let _ = writeln!(out, "  skipped by prefilter:    {}", s.prefiltered);
        if s.evtx_chunks_skipped > 0 {
            let n = s.evtx_chunks_skipped;
            let what = "not decoded, so their process creations are not counted";
            let _ = writeln!(out, "  EVTX chunks skipped:     {n} ({what})");
        }
        let _ = writeln!(out, "  events matched:          {}", s.matched);
        let _ = writeln!(out, "  dropped (missing BY):    {}", s.dropped_missing_by);
        let _ = writeln!(out, "  rows:                    {}", self.rows);
        let _ = writeln!(out, "  wall seconds:            {:.3}", self.seconds);
        let _ = writeln!(out, "  events/s:                {:.0}", s.records as f64 / secs);
        let _ = writeln!(out, "  MB/s:                    {:.1}", s.bytes as f64 / 1e6 / secs);
        for p in &self.empty {
            let _ = writeln!(out, "  empty file: {}", shown(p));
        }
        if self.repeated_paths > 0 {
            let n = self.repeated_paths;
            let _ = writeln!(out, "  note: {n} files or folders reached more than once, read once");
        }
        for p in &self.loops {
            let _ = writeln!(out, "  note: symlink loop not followed: {}", shown(p));
        }
        for (p, what) in &self.changed {
            let what = escaped(what);
            let _ = writeln!(out, "  note: changed during the run: {}: {what}", shown(p));
        }
        if self.files.is_empty() {
            let _ = writeln!(out, "  warning: no input file was read");
        }
        out.push_str(&self.render_failures());
        for issue in Issue::ALL {
            let n = s.count(issue);
            if n == 0 {
                continue;
            }
            let _ = writeln!(out, "  {}: {n}", issue.label());
            for loc in s.locations(issue) {
                let path = self.files.get(loc.file).map_or("?".into(), |p| shown(p));
                let detail = match loc.detail.is_empty() {
                    true => String::new(),
                    false => format!(": {}", escaped(&loc.detail)),
                };
                let at = match loc.unit {
                    Unit::Byte => format!("{path}:{}", loc.offset),
                    Unit::Record => format!("{path} record {}", loc.offset),
                    Unit::Chunk => format!("{path} chunk {}", loc.offset),
                };
                let _ = writeln!(out, "    at {at}{detail}");
            }
        }
        out
    }
}

/// A path as shown in the summary: control characters escaped, so that a file name cannot
/// drive the terminal or fake a summary line.
fn shown(p: &std::path::Path) -> String {
    escaped(&p.display().to_string())
}

/// Text with its control characters escaped (reasons and details may come from a partial
/// file, so they are no more trusted than file names).
fn escaped(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(file: usize, offset: u64) -> Location {
        Location::byte(file, offset)
    }

    #[test]
    fn reasons_and_details_cannot_drive_the_terminal() {
        let mut s = Summary::default();
        s.failed.push(("a.log".into(), "bad\x1b[2J\r  rows: 999".into()));
        s.stats.issue(Issue::InvalidJson, || Location { detail: "x\x07".into(), ..loc(0, 1) });
        let text = s.render();
        assert!(!text.contains('\x1b') && !text.contains('\x07') && !text.contains('\r'));
        assert!(text.contains("not read: a.log: bad\\u{1b}[2J\\r  rows: 999"), "{text}");
    }

    #[test]
    fn merge_keeps_totals_and_the_first_locations() {
        let mut a = Stats::default();
        let mut b = Stats::default();
        for off in [50, 40, 30, 20, 10, 60] {
            a.issue(Issue::InvalidJson, || loc(0, off));
        }
        for off in [5, 70] {
            b.issue(Issue::InvalidJson, || loc(0, off));
        }
        a.merge(b);
        assert_eq!(a.count(Issue::InvalidJson), 8);
        let offs: Vec<u64> = a.locations(Issue::InvalidJson).iter().map(|l| l.offset).collect();
        assert_eq!(offs, [5, 10, 20, 30, 40]);
    }
}
