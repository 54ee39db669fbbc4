#!/usr/bin/env bash
# A long match through the local mode, read while it is analysed: a synthetic match of $MINUTES minutes
# (default 30) at 320x180, 2 s segments, the truth detector, served by `tacticeye serve`. Prints the time
# to the first committed segment, checkpoint sizes, peak RSS, per-segment time, and the latency of
# /summary, /events and /positions near the start and at the end of the match: alone, and under 20
# concurrent clients (wrk, loopback, bounded in time) with a /summary client beside them.
# Run through `make bench-long`.
set -euo pipefail
BIN=${BIN:-target/release/tacticeye}
PYTHON=${TACTICEYE_PYTHON:-python3}
MINUTES=${MINUTES:-30}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; wait; rm -rf "$work"' EXIT
port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api="http://127.0.0.1:$port/matches/long"
auth="Authorization: Bearer bench"
data="$work/data"
outputs="$data/matches/long/outputs"
now() { date +%s.%N; }

# The clip takes minutes to render: it is kept in .cache/ for the next run.
clip=".cache/bench/long-$MINUTES.mp4"
[ -f "$clip" ] || { mkdir -p .cache/bench && "$BIN" synth "$clip" --seconds $((MINUTES * 60)) --seed 3 --width 320 --height 180 >/dev/null; }
"$BIN" --data-dir "$data" serve --addr "127.0.0.1:$port" --token bench >/dev/null &
start=$(now)
/usr/bin/time -f '%M' -o "$work/rss" "$BIN" --data-dir "$data" analyze "$clip" --match-id long \
  --segment-seconds 2 --detector truth >/dev/null 2>&1 &
analysis=$!
until [ -f "$outputs/000000.json" ]; do sleep 0.02; done
awk -v a="$start" -v b="$(now)" -v m="$MINUTES" 'BEGIN {printf "first committed segment after %.2f s, of a %d-minute file\n", b - a, m}'

# N requests one after another: p50 and p99 of curl's own time, in ms.
latency() {
  for _ in $(seq "$2"); do curl -s -o /dev/null -w '%{time_total}\n' -H "$auth" "$api$1"; done | sort -n |
    awk '{t[NR] = $1 * 1000} END {hi = int(NR * 0.99) + 1; if (hi > NR) hi = NR; printf "p50 %6.2f ms  p99 %6.2f ms", t[int(NR * 0.5) + 1], t[hi]}'
}
last_page() { curl -s -H "$auth" "$api/events?per_page=100" | "$PYTHON" -c 'import json,sys; d=json.load(sys.stdin); print(max(0, (d["total"] - 1) // 100))'; }
frames_done() { curl -s -H "$auth" "$api/summary" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["frames_done"])'; }
reads() { # LABEL
  local page frame
  page=$(last_page)
  frame=$(($(frames_done) - 100))
  echo "-- $1: $(ls "$outputs" | wc -l) segments committed, checkpoint $(stat -c %s "$data/matches/long/checkpoint.json") bytes"
  printf '  %-32s %s\n' "/summary" "$(latency /summary 50)"
  printf '  %-32s %s\n' "/events?page=0" "$(latency '/events?page=0' 50)"
  printf '  %-32s %s\n' "/events?page=$page (last)" "$(latency "/events?page=$page" 50)"
  printf '  %-32s %s\n' "/events?type=pass&from=60&to=120" "$(latency '/events?type=pass&from=60&to=120' 50)"
  printf '  %-32s %s\n' "/positions (page 0)" "$(latency /positions 50)"
  printf '  %-32s %s\n' "/positions from frame $frame" "$(latency "/positions?from_frame=$frame" 50)"
}
loaded() { # PATH: 20 clients on PATH for 5 s, a /summary client beside them
  local beside
  latency /summary 100 >"$work/beside" &
  beside=$!
  wrk -t 2 -c 20 -d 5s --latency -H "$auth" "$api$1" >"$work/wrk"
  wait "$beside"
  printf '  20 clients on %-24s %s req/s, p50 %s p99 %s; /summary beside: %s\n' "$1" \
    "$(awk '/Requests\/sec/ {print $2}' "$work/wrk")" "$(awk '$1 == "50%" {print $2}' "$work/wrk")" \
    "$(awk '$1 == "99%" {print $2}' "$work/wrk")" "$(cat "$work/beside")"
}

until [ "$(ls "$outputs" | wc -l)" -ge 30 ]; do sleep 0.2; done
reads "start of the match"
loaded "/events?page=0"
loaded "/positions?from_frame=1000"
wait "$analysis"
reads "end of the match"
loaded "/events?page=$(last_page)"
loaded "/positions?from_frame=$(($(frames_done) - 100))"

# Per-segment time from the outputs' commit times: the first and the last 100 segments.
"$PYTHON" - "$outputs" <<'PY'
import os, sys
d = sys.argv[1]
t = [os.path.getmtime(os.path.join(d, f)) for f in sorted(os.listdir(d))]
print(f"per segment: {(t[100] - t[0]) * 10:.1f} ms over the first 100, {(t[-1] - t[-101]) * 10:.1f} ms over the last 100 ({len(t)} segments)")
PY
echo "peak RSS of the analysis: $(($(cat "$work/rss") / 1024)) MB"
echo "segments left on disk after the analysis: $(ls "$data/matches/long/segments" 2>/dev/null | wc -l)"
