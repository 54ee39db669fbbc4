#!/usr/bin/env bash
# Live lag: a synthetic match published in real time, as live HLS over Python's http.server and as RTMP
# from ffmpeg in listen mode, followed by `tacticeye analyze URL` with 2 s segments and the truth
# detector. Prints the summary's lag at commit: the time from receiving a segment's last frame to
# committing its analysis (its first frame is 2 s older still). Run through `make bench`.
set -euo pipefail
BIN=${BIN:-target/release/tacticeye}
PYTHON=${TACTICEYE_PYTHON:-python3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
follow() { # URL CLIP DATA
  "$BIN" --data-dir "$3" analyze "$1" --match-id m --segment-seconds 2 --detector truth --truth "${2%.mp4}.truth.json" \
    --io-timeout 3 --reconnect-seconds 3 2>/dev/null | grep '^live lag'
}

for size in 480x270 1920x1080; do
  clip="$work/match-$size.mp4"
  "$BIN" synth "$clip" --seconds 30 --seed 9 --width "${size%x*}" --height "${size#*x}" >/dev/null

  www="$work/www-$size" && mkdir -p "$www"
  http=$(port)
  "$PYTHON" -m http.server "$http" --bind 127.0.0.1 --directory "$www" >/dev/null 2>&1 &
  ffmpeg -nostdin -loglevel error -readrate 1 -i "$clip" -c copy -f hls -hls_time 2 -hls_list_size 6 \
    -hls_flags delete_segments "$www/live.m3u8" &
  until [ -f "$www/live.m3u8" ]; do sleep 0.05; done
  printf '%-9s HLS   ' "$size"
  follow "http://127.0.0.1:$http/live.m3u8" "$clip" "$work/hls-$size"

  rtmp="rtmp://127.0.0.1:$(port)/live/m"
  ffmpeg -nostdin -loglevel error -re -i "$clip" -c copy -f flv -listen 1 "$rtmp" &
  sleep 0.5
  printf '%-9s RTMP  ' "$size"
  follow "$rtmp" "$clip" "$work/rtmp-$size"
  kill $(jobs -p) 2>/dev/null || true
done
