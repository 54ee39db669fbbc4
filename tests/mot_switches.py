"""py-motmetrics' count of identity switches for an analysed synthetic match: the field's own judge of
`tacticeye evaluate`'s figure. Usage: mot_switches.py TRUTH.json MATCH_DIR; prints one JSON object."""
import glob
import json
import sys

import motmetrics as mm
import numpy as np


def distances(truth, found):
    """1 - IoU of [x1, y1, x2, y2] boxes, NaN below IoU 0.5 (motmetrics' iou_matrix, which NumPy 2 broke)."""
    if len(truth) == 0 or len(found) == 0:
        return np.empty((len(truth), len(found)))
    a, b = np.array(truth)[:, None, :], np.array(found)[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area = lambda box: (box[..., 2] - box[..., 0]) * (box[..., 3] - box[..., 1])
    iou = inter / (area(a) + area(b) - inter)
    return np.where(iou >= 0.5, 1 - iou, np.nan)


truth = json.load(open(sys.argv[1]))
acc = mm.MOTAccumulator(auto_id=False)
for path in sorted(glob.glob(f"{sys.argv[2]}/outputs/*.json")):
    for frame in json.load(open(path))["frames"]:
        people = truth["frames"][frame["frame"]]["people"]
        objects = frame["objects"]
        acc.update(
            [p["id"] for p in people],
            [o["track_id"] for o in objects],
            distances([p["box"] for p in people], [o["box"] for o in objects]),
            frameid=frame["frame"],
        )
summary = mm.metrics.create().compute(acc, metrics=["num_switches", "idf1", "mota"], name="match")
print(json.dumps({k: float(summary[k].iloc[0]) for k in summary.columns}))
