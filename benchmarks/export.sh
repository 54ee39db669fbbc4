#!/usr/bin/env bash
# Export sizes, times and peak memory (RSS) in every format: a synthetic match of $MINUTES minutes (default
# 10) analysed at 640x360 with the truth detector and `--calibration auto`, then the same match tiled
# $TILES times (default 9: 90 minutes, 135,000 frames) by copying its committed segments with their frames,
# times and events moved on, to show what streams and what does not. Run through `make bench-export`.
set -euo pipefail
BIN=${BIN:-target/release/tacticeye}
PYTHON=${TACTICEYE_PYTHON:-python3}
MINUTES=${MINUTES:-10}
TILES=${TILES:-9}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
data="$work/data"

# The clip takes minutes to render: it is kept in .cache/ for the next run.
clip=".cache/bench/export-$MINUTES.mp4"
[ -f "$clip" ] && [ -f "${clip%.mp4}.truth.json" ] || { mkdir -p .cache/bench && "$BIN" synth "$clip" --seconds $((MINUTES * 60)) --seed 5 --width 640 --height 360 >/dev/null; }
/usr/bin/time -f '%e %M' -o "$work/analyze" "$BIN" --data-dir "$data" analyze "$clip" --match-id short \
  --detector truth --calibration auto >/dev/null
read -r secs rss <"$work/analyze"
echo "analysed $MINUTES minutes in $secs s (peak RSS $((rss / 1024)) MB)"

# Copies match `short` to `long`, $TILES times over, each copy later by the length of the match.
"$PYTHON" - "$data/matches" "$TILES" <<'EOF'
import json, os, shutil, sys
root, tiles = sys.argv[1], int(sys.argv[2])
src, dst = os.path.join(root, "short"), os.path.join(root, "long")
state = json.load(open(os.path.join(src, "checkpoint.json")))
segments, frames, fps = state["next_segment"], state["next_frame"], state["fps"]
os.makedirs(os.path.join(dst, "outputs"))
for name in ("manifest.json", "listing", "segments"):
    if os.path.exists(os.path.join(src, name)):
        (shutil.copytree if os.path.isdir(os.path.join(src, name)) else shutil.copy)(os.path.join(src, name), os.path.join(dst, name))
for i in range(segments):
    out = json.load(open(os.path.join(src, "outputs", f"{i:06}.json")))
    for k in range(tiles):
        df, dt = k * frames, k * frames / fps
        o = json.loads(json.dumps(out))
        o["index"] = i + k * segments
        o["first_frame"] += df
        for f in o["frames"]:
            f["frame"] += df
            f["time"] = round(f["time"] + dt, 6)
        for e in o["events"]:
            e["frame"] += df
            e["time"] = round(e["time"] + dt, 6)
            if e.get("start_frame") is not None:
                e["start_frame"] += df
        json.dump(o, open(os.path.join(dst, "outputs", f"{o['index']:06}.json"), "w"))
state["match_id"], state["next_segment"], state["next_frame"] = "long", segments * tiles, frames * tiles
json.dump(state, open(os.path.join(dst, "checkpoint.json"), "w"))
EOF

printf '%-7s %-8s %10s %9s %10s  %s\n' match format seconds "peak MB" "size MB" files
for id in short long; do
  for format in json csv cdf parquet; do
    out="$work/$id.$format"
    /usr/bin/time -f '%e %M' -o "$work/t" "$BIN" --data-dir "$data" export "$id" --format "$format" --out "$out" >/dev/null
    read -r secs rss <"$work/t"
    size=$(du -sb "$out" | cut -f1)
    files=-
    [ -d "$out" ] && files=$(cd "$out" && stat -c '%n %s' -- * | awk '{printf "%s%s %.1f MB", (NR > 1 ? ", " : ""), $1, $2 / 1048576}')
    printf '%-7s %-8s %10s %9d %10.1f  %s\n' "$id" "$format" "$secs" $((rss / 1024)) "$(awk -v s="$size" 'BEGIN {print s / 1048576}')" "$files"
  done
done
rows=$("${TACTICEYE_CDF_PYTHON:-.cache/cdf-venv/bin/python}" -c "import duckdb,sys; print(duckdb.sql(\"select count(*) from '$work/long.parquet/positions.parquet'\").fetchall()[0][0])" 2>/dev/null || echo "?")
echo "the tiled match's positions.parquet holds $rows rows"
