#!/usr/bin/env bash
# Group-cardinality explosion: peak anonymous memory (heap and stacks, without the mapped
# input's pages) of a BY on unique process GUIDs over generated Sysmon XML, with and without
# --max-groups. Usage: scripts/measure_groups.sh OUT_DIR [SCRATCH]
set -euo pipefail
out=${1:?out dir}
scratch=${2:-/tmp/tsreplay-groups}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/target/release/tsreplay"
mkdir -p "$out" "$scratch"
cat > "$scratch/rule.yml" <<'RULE'
name: Group Explosion
search: '| tstats count min(_time) as firstTime from datamodel=Endpoint.Processes by Processes.process_guid Processes.dest'
RULE
for size in 1GiB 4GiB; do
  [ -f "$scratch/sysmon-$size.xml" ] ||
    "$bin" gen --format sysmon-xml --size "$size" --seed 1 -o "$scratch/sysmon-$size.xml"
done
# shellcheck source=scripts/peak.sh
. "$root/scripts/peak.sh"
peak_anon() { # prints "peak_kib exit_status"
  "$@" > /dev/null 2> "$scratch/stderr" &
  local pid=$! peak code=0
  peak=$(peak_rss_anon "$pid")
  wait "$pid" || code=$?
  echo "$peak $code"
}
echo "input,max_groups,exit,peak_rss_anon_kib,rows" > "$out/groups.csv"
for size in 1GiB 4GiB; do
  for limit in 100000 1000000 default; do
    args=(run -j 2 -q --format csv --rule "$scratch/rule.yml" -o "$scratch/out.csv")
    [ "$limit" = default ] || args+=(--max-groups "$limit")
    rm -f "$scratch/out.csv"
    read -r peak code < <(peak_anon "$bin" "${args[@]}" "$scratch/sysmon-$size.xml")
    rows=$([ -f "$scratch/out.csv" ] && echo $(( $(wc -l < "$scratch/out.csv") - 1 )) || echo 0)
    echo "$size,$limit,$code,$peak,$rows" >> "$out/groups.csv"
  done
done
cat "$out/groups.csv"
