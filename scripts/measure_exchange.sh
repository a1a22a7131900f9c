#!/usr/bin/env bash
# The overhead of the distributed contract against the plain local run, same threads, over the
# bench's 1 GiB selective inputs (0.2 % positives, default rule; `tsreplay bench` makes them):
#   local     run -j2 FILE
#   contract  splits (256 MiB) + each partial -j2 in turn + merge + finish
#   xargs     splits + partials -j1 under xargs -P2 + merge + finish
#   spark     (with --spark) tsreplay_spark.detect on local[2] (scripts/spark_test.sh's venv)
# and `cat FILE > /dev/null` as the baseline. Best of RUNS wall seconds; the rows of every path
# are checked equal to the local run's. Writes OUT/{raw.csv,summary.md}.
# Usage: scripts/measure_exchange.sh OUT [RUNS=3] [SCRATCH=/tmp/tsreplay-bench] [--spark]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:?out dir}" && cd "$1" && pwd)
runs=${2:-3}
scratch=${3:-/tmp/tsreplay-bench}
spark=${4:-}
bin="$root/target/release/tsreplay"
work="$scratch/exchange"
mkdir -p "$work"
cd "$root" && cargo build --release --quiet
echo "format,path,run,seconds" > "$out/raw.csv"

best() { sort -n | head -1; }
timed() { # label format command... : appends one line per run
  local label=$1 format=$2; shift 2
  for r in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N)
    echo "$format,$label,$r,$(echo "$t1 - $t0" | bc)" >> "$out/raw.csv"
  done
}
contract() { # file threads parallel
  local file=$1 j=$2 p=$3
  rm -f "$work"/part*.arrow
  "$bin" splits "$file" --size 256MiB -o "$work/m.json" 2>/dev/null
  local n; n=$(grep -c '"file":' "$work/m.json")
  seq 0 $((n - 1)) | xargs -P"$p" -I{} "$bin" partial "$work/m.json" --split {} -j"$j" -q \
    -o "$work/part{}.arrow"
  "$bin" merge "$work"/part*.arrow -o "$work/merged.arrow" 2>/dev/null
  "$bin" finish "$work/merged.arrow" --format csv -q > "$work/contract.csv"
}
spark_run() { # file
  PYSPARK_PYTHON="$root/target/spark-venv/bin/python" \
    "$root/target/spark-venv/bin/python" - "$1" "$bin" "$work/spark-job.txt" > "$work/spark.csv" 2>"$work/spark.err" <<'PY'
import sys
from pyspark.sql import SparkSession
import tsreplay_spark
spark = (SparkSession.builder.master("local[2]").config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false").getOrCreate())
import time
for label in ("spark-job-first", "spark-job-again"):
    t0 = time.time()
    rows = tsreplay_spark.detect(spark, [sys.argv[1]], binary=sys.argv[2], threads=1)
    with open(sys.argv[3], "a") as f:
        f.write(f"{label} {time.time() - t0:.3f}\n")
sys.stdout.write(rows)
spark.stop()
PY
}
for f in sysmon-xml crowdstrike-json; do
  file="$scratch/$f-1073741824-0.002.log"
  [ -f "$file" ] || "$bin" gen --format "$f" --size 1GiB --positives 0.002 --seed 1 -o "$file"
  cat "$file" > /dev/null
  timed cat "$f" sh -c "cat '$file' > /dev/null"
  timed local "$f" sh -c "'$bin' run -j2 '$file' --format csv -q > '$work/local.csv'"
  timed contract "$f" contract "$file" 2 1
  cmp "$work/local.csv" "$work/contract.csv"
  timed xargs "$f" contract "$file" 1 2
  cmp "$work/local.csv" "$work/contract.csv"
  if [ "$spark" = "--spark" ]; then
    rm -f "$work/spark-job.txt"
    timed spark "$f" spark_run "$file"
    cmp "$work/local.csv" "$work/spark.csv"
    r=0
    while read -r label secs; do
      r=$((r + 1)); echo "$f,$label,$r,$secs" >> "$out/raw.csv"
    done < "$work/spark-job.txt"
  fi
done
{
  echo "# Distributed contract overhead, 1 GiB selective inputs (0.2 % positives, default rule)"
  echo
  echo "- commit: $(git -C "$root" rev-parse --short HEAD); date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
  echo "- command: scripts/measure_exchange.sh $* (best of $runs; rows of every path equal)"
  echo
  echo "spark: the whole Python process (session start included); spark-job-first: the first"
  echo "detect() in a started session (Python workers start); spark-job-again: a second one."
  echo "Spark's settings are its defaults (spark.sql.shuffle.partitions 200)."
  echo
  echo "| input | path | best seconds | vs local |"
  echo "|---|---|---|---|"
  for f in sysmon-xml crowdstrike-json; do
    local_best=$(awk -F, -v f="$f" '$1 == f && $2 == "local" {print $4}' "$out/raw.csv" | best)
    for p in cat local contract xargs spark spark-job-first spark-job-again; do
      b=$(awk -F, -v f="$f" -v p="$p" '$1 == f && $2 == p {print $4}' "$out/raw.csv" | best)
      [ -n "$b" ] || continue
      printf '| %s | %s | %.3f | %.2fx |\n' "$f" "$p" "$b" "$(echo "$b / $local_best" | bc -l)"
    done
  done
} > "$out/summary.md"
cat "$out/summary.md"
