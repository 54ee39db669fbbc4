"""Reads a Parquet export with DuckDB, as an analyst would, and prints what it found as JSON."""

import json
import os
import sys

import duckdb

folder = sys.argv[1]
q = lambda sql: duckdb.sql(sql.replace("{f}", folder)).fetchall()
found = {
    "positions": q("select count(*) from '{f}/positions.parquet'")[0][0],
    "on_pitch": q("select count(pitch_x) from '{f}/positions.parquet'")[0][0],
    "track_sum": int(q("select sum(track_id) from '{f}/positions.parquet'")[0][0] or 0),
    "with_ball": q("select count(*) from '{f}/positions.parquet' where has_ball")[0][0],
    "first": [float(v) for v in q("select x1, y1, confidence from '{f}/positions.parquet' order by frame, track_id limit 1")[0]],
    "types": {c: t for c, t, *_ in q("describe select * from '{f}/positions.parquet'")},
    "events": dict(q("select kind, count(*) from '{f}/events.parquet' group by kind")),
}
if os.path.exists(f"{folder}/players.parquet"):
    found["players"] = q("select count(*) from '{f}/players.parquet'")[0][0]
    found["distance"] = float(q("select sum(distance_m) from '{f}/players.parquet'")[0][0])
print(json.dumps(found))
