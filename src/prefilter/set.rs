//! The prefilter of a rule set: one automaton over every rule's literals, per format, that
//! tells which rules a record may match.
//!
//! Owns the union of the rules' checks. A rule's own check decides its soundness (which
//! literals, which records fall through); this module only combines them, so a rule is a
//! candidate for a record exactly when its own prefilter would keep the record.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::{falls_through, Check, Prefilter};
use crate::schema::RecordFormat;

/// Rules with a literal shorter than this see every record instead (measured: `at`, `ss`
/// and `su` made the overlapping search a third of a catalog run).
const MIN_LITERAL: usize = 3;

/// Up to this many literal bytes, the set automaton is a DFA.
const DFA_LITERAL_BYTES: usize = 200_000;

/// Candidate rules per record for a set of rules.
///
/// # Design
/// One ASCII-case-insensitive automaton over the union of the rules' literals, searched with
/// overlapping matches, so one pass over the record finds every literal present; each literal
/// lists the rules that need it. Rules whose check passes everything are always candidates.
#[derive(Debug, Clone)]
pub struct SetFilter {
    per_format: Vec<(RecordFormat, Union)>,
    evtx: Union,
}

#[derive(Debug, Clone, Default)]
struct Union {
    /// Rules that see every record.
    always: Vec<usize>,
    /// Rules that have literals (all candidates when the record falls through).
    literal_rules: Vec<usize>,
    automaton: Option<AhoCorasick>,
    /// Per automaton pattern: the rules that need it.
    owners: Vec<Vec<usize>>,
}

impl Union {
    fn build(checks: &[&Check]) -> Union {
        let mut u = Union::default();
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut index: hashbrown::HashMap<Vec<u8>, usize> = hashbrown::HashMap::new();
        for (rule, check) in checks.iter().enumerate() {
            match check {
                Check::Pass => u.always.push(rule),
                Check::Reject => {}
                // A literal this short occurs many times in most records, and reporting each
                // occurrence costs more than evaluating the rule's filter on every record.
                Check::Literals { encoded, .. }
                    if encoded.iter().any(|l| l.len() < MIN_LITERAL) =>
                {
                    u.always.push(rule)
                }
                Check::Literals { encoded, .. } => {
                    u.literal_rules.push(rule);
                    for lit in encoded {
                        let lower = lit.to_ascii_lowercase();
                        match index.get(&lower) {
                            Some(&i) => u.owners[i].push(rule),
                            None => {
                                index.insert(lower.clone(), literals.len());
                                literals.push(lower);
                                u.owners.push(vec![rule]);
                            }
                        }
                    }
                }
            }
        }
        if literals.is_empty() {
            return u;
        }
        if literals.len() > super::MAX_LITERALS {
            log::debug!("prefilter: {} set literals: every rule sees every record", literals.len());
            u.always.append(&mut u.literal_rules);
            u.owners.clear();
            return u;
        }
        // Every record is searched in full, so search speed wins over build time: a DFA while
        // the literals are small (a whole catalog's are about 30 KB), else the contiguous NFA.
        let bytes: usize = literals.iter().map(Vec::len).sum();
        // Past that, the noncontiguous NFA, which builds in linear time (a 100,000-value IN
        // list took 8 s to build as a contiguous one).
        let kind = if bytes <= DFA_LITERAL_BYTES {
            AhoCorasickKind::DFA
        } else {
            AhoCorasickKind::NoncontiguousNFA
        };
        let built = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .build(&literals);
        log::debug!(
            "prefilter: {} rules see every record, {} go by their literals",
            u.always.len(),
            u.literal_rules.len()
        );
        let mut shortest: Vec<&Vec<u8>> = literals.iter().collect();
        shortest.sort_by_key(|l| l.len());
        let shown: Vec<String> =
            shortest.iter().take(8).map(|l| String::from_utf8_lossy(l).into_owned()).collect();
        log::debug!(
            "prefilter: set automaton over {} literals ({bytes} bytes), shortest {shown:?}",
            literals.len()
        );
        match built {
            Ok(ac) => u.automaton = Some(ac),
            Err(e) => {
                log::debug!(
                    "prefilter: set automaton not built ({e}); every rule sees every record"
                );
                u.always.append(&mut u.literal_rules);
                u.owners.clear();
            }
        }
        u
    }

    /// Adds the candidate rules for `hay` to `out` (each once, via `seen`).
    fn candidates(&self, hay: &[u8], fall: bool, seen: &mut [bool], out: &mut Vec<usize>) {
        let mut add = |r: usize, out: &mut Vec<usize>| {
            if !seen[r] {
                seen[r] = true;
                out.push(r);
            }
        };
        for &r in &self.always {
            add(r, out);
        }
        if fall {
            for &r in &self.literal_rules {
                add(r, out);
            }
        } else if let Some(ac) = &self.automaton {
            for m in ac.find_overlapping_iter(hay) {
                for &r in &self.owners[m.pattern().as_usize()] {
                    add(r, out);
                }
            }
        }
        for &r in out.iter() {
            seen[r] = false;
        }
    }
}

impl SetFilter {
    /// Combines the rules' prefilters, rule `i` being `filters[i]`.
    pub fn build(filters: &[&Prefilter]) -> SetFilter {
        let per_format = RecordFormat::ALL
            .iter()
            .map(|&f| {
                let checks: Vec<&Check> = filters.iter().map(|p| p.check(f)).collect();
                (f, Union::build(&checks))
            })
            .collect();
        let evtx: Vec<&Check> = filters.iter().map(|p| &p.evtx_chunk).collect();
        SetFilter { per_format, evtx: Union::build(&evtx) }
    }

    /// The rules whose prefilter keeps `record` (raw bytes in `format`), in rule order, into
    /// `out` (cleared first). `seen` must hold one `false` per rule; it is left so.
    pub fn candidates(
        &self,
        format: RecordFormat,
        record: &[u8],
        seen: &mut [bool],
        out: &mut Vec<usize>,
    ) {
        out.clear();
        let Some((_, u)) = self.per_format.iter().find(|(f, _)| *f == format) else { return };
        u.candidates(record, falls_through(format, record), seen, out);
    }

    /// Whether some rule may match a record in this raw EVTX chunk.
    pub fn evtx_chunk_may_match(&self, chunk: &[u8]) -> bool {
        let u = &self.evtx;
        if !u.always.is_empty() {
            return true;
        }
        u.automaton.as_ref().is_some_and(|ac| ac.is_match(chunk))
    }
}
