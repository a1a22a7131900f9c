#!/usr/bin/env bash
# Peak anonymous memory (heap and stacks, without mapped input pages) of each step of the
# distributed contract against the local run, for a rule with a group per process (BY the
# unique process GUID: the worst case for partials) and for the default rule, over 1 GiB of
# generated Sysmon XML cut into 256 MiB splits.
# Usage: scripts/measure_exchange_memory.sh OUT_DIR [SCRATCH]
set -euo pipefail
out=$(mkdir -p "${1:?out dir}" && cd "$1" && pwd)
scratch=${2:-/tmp/tsreplay-groups}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/release/tsreplay"
mkdir -p "$scratch/exchange"
cat > "$scratch/rule.yml" <<'RULE'
name: Group Explosion
search: '| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes by Processes.process_guid Processes.dest'
RULE
input="$scratch/sysmon-1GiB.xml"
[ -f "$input" ] || "$bin" gen --format sysmon-xml --size 1GiB --seed 1 -o "$input"
# shellcheck source=scripts/peak.sh
. "$root/scripts/peak.sh"
peak_anon() { # command... ; prints the peak RssAnon in KiB
  "$@" > /dev/null 2> "$scratch/stderr" &
  local pid=$! peak
  peak=$(peak_rss_anon "$pid")
  wait "$pid"
  echo "$peak"
}
w="$scratch/exchange"
echo "rule,step,peak_rss_anon_kib,bytes_written" > "$out/memory.csv"
for rule in explosion default; do
  args=()
  [ "$rule" = explosion ] && args=(--rule "$scratch/rule.yml")
  echo "$rule,run,$(peak_anon "$bin" run -j2 "${args[@]}" "$input" --format csv -q)," >> "$out/memory.csv"
  "$bin" splits "$input" --size 256MiB -o "$w/m.json" 2> /dev/null
  n=$(grep -c '"file":' "$w/m.json")
  for i in $(seq 0 $((n - 1))); do
    kib=$(peak_anon "$bin" partial "$w/m.json" --split "$i" -j2 "${args[@]}" -q -o "$w/p$i.arrow")
    echo "$rule,partial $i,$kib,$(stat -c %s "$w/p$i.arrow")" >> "$out/memory.csv"
  done
  kib=$(peak_anon "$bin" merge "$w"/p*.arrow -o "$w/merged.arrow")
  echo "$rule,merge,$kib,$(stat -c %s "$w/merged.arrow")" >> "$out/memory.csv"
  echo "$rule,finish,$(peak_anon "$bin" finish "$w/merged.arrow" --format csv -q)," >> "$out/memory.csv"
  rm -f "$w"/p*.arrow
done
{
  echo "# Peak anonymous memory of the contract's steps, 1 GiB Sysmon XML, 256 MiB splits"
  echo
  echo "- commit: $(git -C "$root" rev-parse --short HEAD); date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "- command: scripts/measure_exchange_memory.sh $*"
  echo "- explosion: BY Processes.process_guid Processes.dest (a group per process); default: BITS"
  echo
  echo "| rule | step | peak RssAnon MiB | file MiB |"
  echo "|---|---|---:|---:|"
  tail -n +2 "$out/memory.csv" | while IFS=, read -r rule step kib bytes; do
    file=""; [ -n "$bytes" ] && file=$(echo "scale=1; $bytes / 1048576" | bc)
    printf '| %s | %s | %s | %s |\n' "$rule" "$step" "$(echo "scale=1; $kib / 1024" | bc)" "$file"
  done
} > "$out/summary.md"
cat "$out/summary.md"
