"""Validates a CDF export folder with common-data-format-validator; any warning is a rejection.

Then loads the tracking and events with pandas, as an analyst would (kloppy reads no CDF), and prints
what it found as JSON for the test to compare.
"""

import json
import sys
import warnings

import pandas as pd
from cdf import EventSchemaValidator, MetaSchemaValidator, TrackingSchemaValidator, VERSION

folder = sys.argv[1]
warnings.simplefilter("error")
for validator, name, limit in [
    (MetaSchemaValidator(), "meta.json", 1),
    (TrackingSchemaValidator(), "tracking.jsonl", None),
    (EventSchemaValidator(), "event.jsonl", None),
]:
    validator.validate_schema(f"{folder}/{name}", mode="strict", limit=limit)
    print(f"{name}: valid CDF {VERSION}", file=sys.stderr)

tracking = pd.read_json(f"{folder}/tracking.jsonl", lines=True)
home = tracking["teams"].map(lambda t: len(t["home"]["players"]))
try:
    events = pd.json_normalize(pd.read_json(f"{folder}/event.jsonl", lines=True)["event"])
except (ValueError, KeyError):  # no events at all
    events = pd.DataFrame(columns=["type"])
print(json.dumps({
    "frames": len(tracking),
    "home_players_per_frame": float(home.mean()),
    "events": events["type"].value_counts().to_dict(),
    "max_abs_x": float(tracking["teams"].map(lambda t: max([abs(p["x"]) for s in ("home", "away") for p in t[s]["players"]] or [0])).max()),
}))
