# Sourced by the measuring scripts. peak_rss_anon PID [INTERVAL]: samples the process's
# anonymous memory (heap and stacks, not mapped file pages) from /proc every INTERVAL seconds
# (default 0.005) until it ends; prints the peak in KiB. The caller still waits for PID.
peak_rss_anon() {
  local pid=$1 interval=${2:-0.005} peak=0 v
  while kill -0 "$pid" 2> /dev/null; do
    v=$(awk '/RssAnon/{print $2}' "/proc/$pid/status" 2> /dev/null || echo 0)
    [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
    sleep "$interval"
  done
  echo "$peak"
}
