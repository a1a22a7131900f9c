#!/usr/bin/env bash
# Quick throughput and memory check of `tsreplay run` (the full benchmark matrix is issue 3).
# Builds a large Splunk XML file in a scratch folder by repeating the real Panache rendering
# from ../shared/data (never inside the project), then times, in one session:
#   cat FILE > /dev/null, tsreplay run (default rule) with 1 and 2 threads, and --no-prefilter.
# Writes results/<date>_<commit>/{raw.csv,summary.md}.
# Usage: scripts/quick_measure.sh [REPEATS=400] [SCRATCH=/tmp/tsreplay-measure]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-400}
scratch=${2:-/tmp/tsreplay-measure}
src=../shared/data/sysmon-xml/derived__sbousseaden__PanacheSysmon_vs_AtomicRedTeam01.xml
mkdir -p "$scratch"
big="$scratch/panache_x$repeats.xml"
if [ ! -f "$big" ]; then
  for _ in $(seq "$repeats"); do cat "$src"; done > "$big"
fi
cargo build --release -q
bin=target/release/tsreplay
commit=$(git rev-parse --short HEAD)
out="results/$(date +%Y-%m-%d)_$commit"
mkdir -p "$out"
bytes=$(stat -c %s "$big")
echo "case,threads,seconds,max_rss_kib,records,rows" > "$out/raw.csv"
measure() { # name threads command...
  local name=$1 threads=$2; shift 2
  cat "$big" > /dev/null # warm the page cache
  for run in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$scratch/time" "$@" > "$scratch/stdout" 2> "$scratch/stderr" || true
    read -r secs rss < <(tail -1 "$scratch/time")
    records=$(grep -oP 'records read:\s+\K\d+' "$scratch/stderr" || echo "")
    rows=$(grep -oP 'rows:\s+\K\d+' "$scratch/stderr" || echo "")
    echo "$name,$threads,$secs,$rss,$records,$rows" >> "$out/raw.csv"
  done
}
# Peak anonymous memory (heap and stacks, without the mapped file's pages), sampled from
# /proc every 5 ms, for the default rule over 1, 2 and 4 copies of the big file.
# shellcheck source=scripts/peak.sh
. scripts/peak.sh
peak_anon() { # command... ; prints the peak RssAnon in KiB
  "$@" > /dev/null 2>&1 &
  local pid=$! peak
  peak=$(peak_rss_anon "$pid")
  wait "$pid" || true
  echo "$peak"
}
echo "copies,bytes,peak_rss_anon_kib" > "$out/memory.csv"
for copies in 1 2 4; do
  # The same file given twice is read once, so each copy is a real copy.
  list=()
  for i in $(seq "$copies"); do
    [ -f "$scratch/copy$i.xml" ] || cp "$big" "$scratch/copy$i.xml"
    list+=("$scratch/copy$i.xml")
  done
  echo "$copies,$((bytes * copies)),$(peak_anon "$bin" run -j 2 "${list[@]}")" >> "$out/memory.csv"
done

measure cat 1 cat "$big"
measure tsreplay 1 "$bin" run -j 1 "$big"
measure tsreplay 2 "$bin" run -j 2 "$big"
measure tsreplay-no-prefilter 2 "$bin" run -j 2 --no-prefilter "$big"
{
  echo "# Quick measurement, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "- commit: $commit"
  echo "- command: scripts/quick_measure.sh $repeats"
  echo "- input: the Panache Splunk XML rendering repeated $repeats times: $bytes bytes"
  echo "  (4 matching events per copy), page cache warm; best of 3 runs"
  echo
  echo "| case | threads | best s | MB/s | records/s | max RSS MiB | rows |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  tail -n +2 "$out/raw.csv" | sort -t, -k1,2 -k3,3g | awk -F, -v b="$bytes" '
    !seen[$1","$2]++ {
      mbs = b / 1e6 / $3; rps = ($5 == "" ? "-" : sprintf("%.0f", $5 / $3));
      printf "| %s | %s | %.3f | %.0f | %s | %.1f | %s |\n", $1, $2, $3, mbs, rps, $4 / 1024, ($6 == "" ? "-" : $6)
    }'
  echo
  echo "Max RSS counts the pages of the memory-mapped input that were touched, so it grows with"
  echo "the file. Peak anonymous memory (heap and stacks, outside the map) as the input grows:"
  echo
  echo "| copies | input bytes | peak RssAnon MiB |"
  echo "|---:|---:|---:|"
  tail -n +2 "$out/memory.csv" | awk -F, '{printf "| %s | %s | %.1f |\n", $1, $2, $3 / 1024}'
} > "$out/summary.md"
cat "$out/summary.md"
