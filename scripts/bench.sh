#!/usr/bin/env bash
# The benchmark matrix of `tsreplay run`, with its baselines run in the same session:
# formats (Sysmon XML, CrowdStrike JSON) x paths (selective: the default rule on 0.2 %
# positives; full parse: scripts/bench_rules/full_parse.yml) x threads (1, 2), against
# `cat FILE > /dev/null` and `rg -c -i bitsadmin FILE` over the same file, page cache warm,
# best of 3. Inputs come from `tsreplay gen` (seeded) in a scratch folder outside the project.
# Writes results/<date>_<commit>/{raw.csv,summary.md}.
# Usage: scripts/bench.sh [SIZE=1GiB] [SCRATCH=/tmp/tsreplay-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1GiB}
scratch=${2:-/tmp/tsreplay-bench}
command -v rg > /dev/null || { echo "rg is needed (apt-get install ripgrep)"; exit 2; }
mkdir -p "$scratch"
cargo build --release -q
bin=target/release/tsreplay
commit=$(git rev-parse --short HEAD)
out="results/$(date +%Y-%m-%d)_${commit}_bench"
mkdir -p "$out"
echo "format,case,threads,seconds,bytes,records,rows" > "$out/raw.csv"

best_of_3() { # prints the best wall seconds of 3 runs of the command
  local best=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e" -o "$scratch/t" "$@" > /dev/null 2> "$scratch/err" || true
    local t; t=$(tail -1 "$scratch/t")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; fi
  done
  echo "$best"
}

for format in sysmon-xml crowdstrike-json; do
  file="$scratch/$format-$size.log"
  [ -f "$file" ] || "$bin" gen --format "$format" --size "$size" --positives 0.002 --seed 1 \
    -o "$file" 2> "$scratch/gen-$format.txt"
  bytes=$(stat -c %s "$file")
  cat "$file" > /dev/null
  echo "$format,cat,1,$(best_of_3 cat "$file"),$bytes,," >> "$out/raw.csv"
  echo "$format,rg -c -i bitsadmin,1,$(best_of_3 rg -c -i bitsadmin "$file"),$bytes,," >> "$out/raw.csv"
  for case in selective full_parse; do
    rule=()
    [ "$case" = full_parse ] && rule=(--rule scripts/bench_rules/full_parse.yml)
    for threads in 1 2; do
      secs=$(best_of_3 "$bin" run "${rule[@]}" -j "$threads" "$file")
      records=$(grep -oP 'records read:\s+\K\d+' "$scratch/err")
      rows=$(grep -oP 'rows:\s+\K\d+' "$scratch/err")
      echo "$format,tsreplay $case,$threads,$secs,$bytes,$records,$rows" >> "$out/raw.csv"
    done
  done
done

{
  echo "# Benchmark matrix, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "- commit: $commit; command: scripts/bench.sh $size"
  echo "- inputs: tsreplay gen --size $size --positives 0.002 --seed 1 (Sysmon XML, CrowdStrike JSON)"
  echo "- page cache warm, best of 3 wall-clock runs; ratios against the same file in this session"
  echo
  echo "| format | case | threads | seconds | MB/s | events/s | vs rg | vs cat | rows |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  awk -F, 'NR > 1 {
      if ($2 == "cat") cat[$1] = $4; if ($2 ~ /^rg/) rg[$1] = $4; line[NR] = $0 }
    END { for (i = 2; i <= NR; i++) { split(line[i], f, ",");
      mbs = f[5] / 1e6 / f[4]; eps = (f[6] == "" ? "-" : sprintf("%.0f", f[6] / f[4]));
      printf "| %s | %s | %s | %.2f | %.0f | %s | %.2fx | %.2fx | %s |\n", f[1], f[2], f[3], f[4],
        mbs, eps, f[4] / rg[f[1]], f[4] / cat[f[1]], (f[7] == "" ? "-" : f[7]) } }' "$out/raw.csv"
  echo
  echo "Scaling (1 thread / 2 threads wall time):"
  awk -F, 'NR > 1 && $2 ~ /^tsreplay/ { t[$1 "," $2 "," $3] = $4 }
    END { for (k in t) { split(k, p, ","); if (p[3] == 1) {
      printf "- %s %s: %.2fx\n", p[1], p[2], t[k] / t[p[1] "," p[2] ",2"] } } }' "$out/raw.csv" | sort
} > "$out/summary.md"
cat "$out/summary.md"
