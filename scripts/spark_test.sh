#!/usr/bin/env bash
# The PySpark tier: installs PySpark, PyArrow and the tsreplay_spark package into a virtual
# environment under target/, builds the binary, and runs python/tests/test_spark.py on Spark
# local[2,2] (two task threads, one retry per task) over ../shared/data.
# With --record DIR it also writes the run's output, versions and timing to DIR.
# Needs Python 3.9+ with venv and Java 17 (both on the CI machine).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
record=""
if [ "${1:-}" = "--record" ]; then record=${2:?--record needs a folder}; fi
venv=${TSREPLAY_SPARK_VENV:-$root/target/spark-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  'pyspark==4.0.1' 'pyarrow==26.0.1' 'pandas==3.1.1' "$root/python"
cargo build --release --quiet
export TSREPLAY_BIN="$root/target/release/tsreplay"
export PYSPARK_PYTHON="$venv/bin/python"
export PYSPARK_DRIVER_PYTHON="$venv/bin/python"
start=$(date +%s)
if [ -z "$record" ]; then
  "$venv/bin/python" -W ignore python/tests/test_spark.py
  exit
fi
mkdir -p "$record"
set +e
"$venv/bin/python" -W ignore python/tests/test_spark.py > "$record/run.txt" 2>&1
status=$?
set -e
{
  echo "command: scripts/spark_test.sh --record $record"
  echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (uncommitted changes)')"
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "java: $(java -version 2>&1 | head -1)"
  "$venv/bin/python" -c 'import sys, pyspark, pyarrow; print("python:", sys.version.split()[0]); print("pyspark:", pyspark.__version__); print("pyarrow:", pyarrow.__version__)'
  echo "seconds: $(( $(date +%s) - start ))"
  echo "exit status: $status"
  grep -E '^(test_|Ran |OK|FAILED)' "$record/run.txt" || true
} > "$record/summary.txt"
cat "$record/summary.txt"
exit $status
