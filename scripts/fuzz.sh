#!/usr/bin/env bash
# Runs one cargo-fuzz target until 10 M executions or a time limit, seeded from fixtures/.
# Usage: scripts/fuzz.sh TARGET [SECONDS] [RUNS]
#   TARGET: xml_record | json_line | evtx_file | spl_compile | export_reader
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Crashers land in
# fuzz/artifacts/TARGET/; keep each (or, for EVTX, a team-written equivalent) in
# fixtures/fuzz/TARGET/ so that tests/fuzz_regressions.rs replays it in `cargo test`.
# The log goes to stdout.
set -euo pipefail
target=${1:?target}
secs=${2:-1800}
runs=${3:-10000000}
root=$(cd "$(dirname "$0")/.." && pwd)
# The corpus lives outside the project: EVTX seeds come from ../shared/data, whose files (and
# mutations of them) must not be copied into the project.
corpus="${FUZZ_CORPUS:-/tmp/tsreplay-fuzz}/$target"
mkdir -p "$corpus"
seed() { for f in "$@"; do [ -f "$f" ] && cp -n "$f" "$corpus/seed_$(basename "$f")" || true; done; }
case "$target" in
  xml_record) seed "$root"/fixtures/cases/*/input_*.xml ;;
  json_line) seed "$root"/fixtures/cases/*/input_*.json "$root"/fixtures/cases/*/input_*.jsonl ;;
  evtx_file)
    for f in "$root"/../shared/data/evtx/*.evtx; do
      [ "$(stat -c %s "$f")" -le 300000 ] && seed "$f"
    done ;;
  spl_compile)
    seed "$root"/fixtures/cases/*/rule.yml "$root"/src/spl/default_rule.yml
    # Catalog detections (kept in the corpus outside the project, never copied into it).
    seed "$root"/../shared/security_content/detections/endpoint/*.yml ;;
  export_reader) seed "$root"/fixtures/compare/*.csv "$root"/fixtures/compare/*.json \
    "$root"/fixtures/compare/*.jsonl ;;
  *) echo "unknown target $target" >&2; exit 2 ;;
esac
cd "$root/fuzz"
exec cargo +nightly fuzz run -O "$target" "$corpus" -- \
  -max_total_time="$secs" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
