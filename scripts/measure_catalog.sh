#!/usr/bin/env bash
# The catalog in one pass against the default rule alone: wall time (best of RUNS) and peak
# anonymous memory, over the bench's generated 1 GiB inputs (0.2 % positives) and over the
# real shared data, for three rule sets: BITS Job Persistence alone, every compiled detection
# of CONTENT, and the same without the three catch-all hunting rules (no WHERE literal: they
# group every process event). Also writes the catalog report, list and indicators.
# Usage: scripts/measure_catalog.sh OUT_DIR [CONTENT] [SCRATCH] [RUNS]
set -euo pipefail
out=${1:?out dir}
root=$(cd "$(dirname "$0")/.." && pwd)
content=$(cd "${2:-$root/../shared/security_content}" && pwd)
scratch=${3:-/tmp/tsreplay-bench}
runs=${4:-3}
bin="$root/target/release/tsreplay"
mkdir -p "$out" "$scratch/catalog-filtered"

"$bin" catalog "$content" > "$out/report.txt"
"$bin" catalog --list "$content" > "$out/list.tsv"
"$bin" catalog --indicators "$content" > "$out/indicators.txt"

# The compiled rules without the catch-all ones, as links in a scratch folder.
rm -f "$scratch/catalog-filtered/"*.yml
catch_all='detect_rare_executables|single_letter_process_on_endpoint|hunting_path_traversal'
awk -F'\t' '$3 == "compiled" {print $1}' "$out/list.tsv" | grep -Ev "$catch_all" |
  while read -r f; do ln -sf "$f" "$scratch/catalog-filtered/$(basename "$f")"; done

for f in sysmon-xml crowdstrike-json; do
  [ -f "$scratch/$f-1073741824-0.002.log" ] ||
    "$bin" gen --format "$f" --size 1GiB --positives 0.002 --seed 1 \
      -o "$scratch/$f-1073741824-0.002.log"
done

# shellcheck source=scripts/peak.sh
. "$root/scripts/peak.sh"
peak_anon() { # prints "seconds peak_kib exit_status"
  local start end pid peak=0 v code=0
  start=$(date +%s.%N)
  "$@" > /dev/null 2> "$scratch/catalog-stderr" &
  pid=$!
  peak=$(peak_rss_anon "$pid" 0.01)
  wait "$pid" || code=$?
  end=$(date +%s.%N)
  echo "$(echo "$end - $start" | bc) $peak $code"
}

echo "input,rules,threads,best_seconds,peak_rss_anon_kib,exit,rows" > "$out/timing.csv"
measure() { # input label args...
  local input=$1 label=$2 best=999999 peak=0 s p c
  shift 2
  for _ in $(seq "$runs"); do
    read -r s p c < <(peak_anon "$bin" run -j 2 --format json "$@" "$input")
    best=$(echo "if ($s < $best) $s else $best" | bc)
    [ "$p" -gt "$peak" ] && peak=$p
  done
  local rows
  # The shared data folder holds files that are not logs (exit status 2): count rows anyway.
  rows=$({ "$bin" run -q -j 2 --format json "$@" "$input" 2> /dev/null || true; } | wc -l)
  echo "$(basename "$input"),$label,2,$best,$peak,$c,$rows" >> "$out/timing.csv"
}
for input in "$scratch/sysmon-xml-1073741824-0.002.log" \
  "$scratch/crowdstrike-json-1073741824-0.002.log" "$root/../shared/data"; do
  measure "$input" "BITS alone"
  measure "$input" "catalog" --rules "$content"
  measure "$input" "catalog without 3 catch-all rules" --rules "$scratch/catalog-filtered" \
    --macros "$content/macros"
done

{
  echo "# The catalog in one pass, $(date -u +%Y-%m-%d)"
  echo
  echo "- machine: $(nproc) threads, $(awk '/MemTotal/{print int($2/1048576)}' /proc/meminfo) GiB"
  echo "- commit: $(git -C "$root" rev-parse --short HEAD)"
  echo "- command: scripts/measure_catalog.sh $out (best of $runs runs, 2 threads, page cache warm)"
  echo
  echo "| input | rules | s | peak anon MiB | rows | ratio to BITS alone |"
  echo "|---|---|---:|---:|---:|---:|"
  awk -F, 'NR > 1 {
    if ($2 == "BITS alone") base[$1] = $4
    ratio = (base[$1] > 0) ? sprintf("%.1fx", $4 / base[$1]) : "-"
    printf "| %s | %s | %.3f | %.0f | %s | %s |\n", $1, $2, $4, $5 / 1024, $7, ratio
  }' "$out/timing.csv"
} > "$out/summary.md"
cat "$out/summary.md"
