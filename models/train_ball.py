"""Trains TacticEYE's ball check on 2 CPU cores and exports it to ONNX.

The detector sees the frame at half size, where a ball is a few pixels wide; its best ball candidate is the
ball in about three frames of four. The ball check looks again at the detector's candidates, each in a small
window of the full-resolution frame, and says which one is the ball: a 48 x 48 patch over 48 px of a 1080p
frame (scaled with the frame's height) and one over twice that, for what is around the candidate (a sock has
a leg above it), through a small convolutional network, to one probability.

It learns from the shipped detector's own candidates on the training frames: the labelled balls (jittered
by a few pixels, as the detector places them) against every other candidate, and a few random windows.
A candidate's confidence is then the geometric mean of the detector's score and the check's probability:
on the valid frames either alone ranks the candidates worse than both together.

Usage: train_ball.py --data ../shared/data --detector models/tacticeye-detector.onnx --out models/tacticeye-ball.onnx
"""

import json
import math
import os
import random
import time

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from train_detector import (BROADCAST, MEAN, PANORAMIC, PANORAMIC_VALID_CLIPS, STD, arguments, conv_bn, input_size,
                            load_split, panoramic_clip, save_metadata, setup, train)

PATCH = 48
# The patch spans this many pixels of a 1080-row frame, and proportionally more or less of other heights.
SPAN_AT_1080 = 48
# The second, wider window spans this many times the first.
CONTEXT = 2
CANDIDATES = 8
CANDIDATE_THRESHOLD = 0.01
# A candidate this close to a labelled ball is that ball (the detector's score counts a hit within 10 px).
HIT_PX = 10.0
FORMAT = "ball-check-2"


class Net(nn.Module):
    """A stride-1 stem over both windows' channels (a ball is 5 to 12 px at this scale), three stride-2 stages
    to 6 x 6, then the centre cells and the mean of all cells to one logit: what is at the centre, seen in
    its surroundings."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(conv_bn(6, 8), conv_bn(8, 16, 2), conv_bn(16, 32), conv_bn(32, 32, 2),
                                      conv_bn(32, 64), conv_bn(64, 64, 2))
        self.classify = nn.Sequential(nn.Linear(64 * 4 + 64, 64), nn.ReLU(inplace=True), nn.Linear(64, 1))

    def forward(self, x):
        f = self.features(x)
        c = f.shape[-1] // 2
        centre = f[:, :, c - 1:c + 1, c - 1:c + 1].flatten(1)
        return self.classify(torch.cat([centre, f.mean(dim=(2, 3))], dim=1))[:, 0]


def patch(pixels, cx, cy, span):
    """The PATCH x PATCH window of `span` frame pixels centred at (cx, cy), sampled bilinearly with black
    outside the frame, as the Rust runtime samples it; RGB in 0..1, [3, PATCH, PATCH]."""
    H, W, _ = pixels.shape
    step = span / PATCH
    grid = (np.arange(PATCH) + 0.5) * step - 0.5
    xs, ys = cx - span / 2 + grid, cy - span / 2 + grid
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = (xs - x0).astype(np.float32), (ys - y0).astype(np.float32)

    def at(yy, xx):
        inside = ((yy >= 0) & (yy < H))[:, None] & ((xx >= 0) & (xx < W))[None, :]
        v = pixels[np.clip(yy, 0, H - 1)][:, np.clip(xx, 0, W - 1)].astype(np.float32)
        return v * inside[..., None]

    top = at(y0, x0) * (1 - fx)[None, :, None] + at(y0, x0 + 1) * fx[None, :, None]
    bottom = at(y0 + 1, x0) * (1 - fx)[None, :, None] + at(y0 + 1, x0 + 1) * fx[None, :, None]
    out = top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]
    return (out / 255.0).astype(np.float32).transpose(2, 0, 1)


def views(pixels, cx, cy, span):
    """The window and the wider one around it, one after the other: [6, PATCH, PATCH]."""
    return np.concatenate([patch(pixels, cx, cy, span), patch(pixels, cx, cy, CONTEXT * span)])


def candidates(detector, image):
    """The detector's ball candidates in frame pixels, best first, as the Rust runtime decodes them (peaks
    over CANDIDATE_THRESHOLD, suppression at IoU 0.3 of ball-sized boxes, the best CANDIDATES)."""
    W, H = image.size
    s, iw, ih = input_size(W, H)
    rw, rh = round(W * s), round(H * s)
    canvas = np.zeros((ih, iw, 3), np.float32)
    canvas[:rh, :rw] = np.asarray(image.resize((rw, rh), Image.BILINEAR), np.float32) / 255.0
    _, ball = detector.run(None, {"images": canvas.transpose(2, 0, 1)[None]})
    b = ball[0]
    found = sorted(((float(b[0, y, x]), (x + b[1, y, x]) * 2 / s, (y + b[2, y, x]) * 2 / s)
                    for y, x in zip(*np.nonzero(b[0] >= CANDIDATE_THRESHOLD))), reverse=True)
    side = 6.0 / s
    kept = []
    for c in found:
        if all(box_iou(c[1:], k[1:], side) < 0.3 for k in kept):
            kept.append(c)
    return kept[:CANDIDATES]


def box_iou(a, b, side):
    ix = max(0.0, side - abs(a[0] - b[0]))
    iy = max(0.0, side - abs(a[1] - b[1]))
    inter = ix * iy
    return inter / (2 * side * side - inter)


def mine(detector, frames):
    """Each frame's pixels, labelled balls and detector candidates."""
    out = []
    for f in frames:
        W, H = f["image"].size
        balls = [(o[1] * W, o[2] * H) for o in f["objects"] if o[0] == "ball"]
        cands = candidates(detector, f["image"])
        out.append({"pixels": np.asarray(f["image"]), "balls": balls, "candidates": cands,
                    "labelled": bool(f["objects"])})
    return out


def is_ball(x, y, balls, radius):
    return any(math.hypot(x - bx, y - by) <= radius for bx, by in balls)


class Batches(torch.utils.data.Dataset):
    """Batch `i` from its own seeded generator: half labelled balls, the rest the detector's other
    candidates and a few random windows; scale, flip and colour jitter."""

    def __init__(self, mined, size, seed, iterations):
        self.mined = [m for m in mined if m["labelled"]]
        self.with_ball = [m for m in self.mined if m["balls"]]
        self.size, self.seed, self.iterations = size, seed, iterations

    def __len__(self):
        return self.iterations

    def __getitem__(self, i):
        rng = random.Random(self.seed * 1_000_003 + i)
        patches, labels = [], []
        for k in range(self.size):
            m = rng.choice(self.with_ball if k % 2 == 0 else self.mined)
            H, W, _ = m["pixels"].shape
            span = SPAN_AT_1080 * H / 1080 * math.exp(rng.uniform(-0.2, 0.2))
            if k % 2 == 0:
                # A labelled ball, jittered, or the detector's own candidate on it, offset as it places them.
                found = [c for c in m["candidates"] if is_ball(c[1], c[2], m["balls"], HIT_PX)]
                if found and rng.random() < 0.5:
                    _, x, y = rng.choice(found)
                else:
                    bx, by = rng.choice(m["balls"])
                    jitter = 3.0 * H / 1080
                    x, y = bx + rng.uniform(-jitter, jitter), by + rng.uniform(-jitter, jitter)
                label = 1.0
            else:
                negatives = [c for c in m["candidates"] if not is_ball(c[1], c[2], m["balls"], 1.5 * HIT_PX)]
                if negatives and rng.random() < 0.85:
                    _, x, y = rng.choice(negatives)
                else:
                    x, y = rng.uniform(0, W), rng.uniform(0, H)
                label = float(is_ball(x, y, m["balls"], 0.5 * HIT_PX))
            p = views(m["pixels"], x, y, span)
            if rng.random() < 0.5:
                p = p[:, :, ::-1]
            gain, bias = rng.uniform(0.75, 1.25), rng.uniform(-0.08, 0.08)
            patches.append(np.clip(p * gain + bias, 0, 1))
            labels.append(label)
        x = (torch.from_numpy(np.stack(patches)) - torch.tensor(MEAN * 2).view(1, 6, 1, 1)) / torch.tensor(STD * 2).view(1, 6, 1, 1)
        return x, torch.tensor(labels)


def loss(logits, labels):
    return F.binary_cross_entropy_with_logits(logits, labels)


class Exported(nn.Module):
    """What ships: patches in 0..1 to the ball's probability, the mean of the patch's and its mirror's (the
    mirror is as likely a view, and the mean varies less)."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(MEAN * 2).view(1, 6, 1, 1))
        self.register_buffer("std", torch.tensor(STD * 2).view(1, 6, 1, 1))

    def forward(self, patches):
        x = (patches - self.mean) / self.std
        return (torch.sigmoid(self.net(x)) + torch.sigmoid(self.net(x.flip(-1)))) / 2


@torch.no_grad()
def evaluate(model, mined):
    """Per frame, the best candidate by confidence (the geometric mean of the detector's score and the check's
    probability): (its confidence, whether it is a ball, whether the frame has one); then the hit rate and
    precision per threshold."""
    tops = []
    for m in mined:
        H = m["pixels"].shape[0]
        span = SPAN_AT_1080 * H / 1080
        if m["candidates"]:
            ps = model(torch.from_numpy(np.stack([views(m["pixels"], x, y, span) for _, x, y in m["candidates"]])))
            confidence = [math.sqrt(c[0] * float(p)) for c, p in zip(m["candidates"], ps)]
            best = int(np.argmax(confidence))
            _, x, y = m["candidates"][best]
            tops.append((confidence[best], is_ball(x, y, m["balls"], HIT_PX), bool(m["balls"])))
        else:
            tops.append((0.0, False, bool(m["balls"])))
    frames_with_ball = max(sum(t[2] for t in tops), 1)
    table = {}
    for t in [round(v, 2) for v in np.arange(0.05, 0.955, 0.01)]:
        named = [x for x in tops if x[0] >= t]
        hits = sum(x[1] for x in named)
        table[t] = {"hit_rate": hits / frames_with_ball, "precision": hits / max(len(named), 1)}
    return table


def main():
    args = arguments("models/tacticeye-ball.onnx", ".cache/ball", 4000, 64,
                     lambda ap: ap.add_argument("--detector", default="models/tacticeye-detector.onnx"))
    say = setup(args)
    detector_path = args.detector
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    detector = ort.InferenceSession(detector_path, so)

    det = os.path.join(args.data, "players-detection")
    pan = os.path.join(args.data, "players-panoramic", "train")
    start = time.time()
    train_frames = (load_split(os.path.join(det, "train"), BROADCAST)
                    + load_split(pan, PANORAMIC, lambda n: panoramic_clip(n) not in PANORAMIC_VALID_CLIPS))
    broadcast_valid = mine(detector, load_split(os.path.join(det, "valid"), BROADCAST))
    panoramic_valid = mine(detector, load_split(pan, PANORAMIC, lambda n: panoramic_clip(n) in PANORAMIC_VALID_CLIPS))
    mined = mine(detector, train_frames)
    say(f"candidates of {detector_path} on {len(mined)} training frames ({time.time() - start:.0f} s)")

    net = Net()
    if args.export_only:
        net.load_state_dict(torch.load(args.export_only, map_location="cpu", weights_only=True))
    else:
        train(net, Batches(mined, args.batch, args.seed, args.iterations), loss, args, say,
              os.path.join(args.work, "ball.pt"))
    net.eval()
    model = Exported(net).eval()
    table = evaluate(model, broadcast_valid)
    ok = [t for t, v in table.items() if v["precision"] >= 0.9]
    threshold = min(ok) if ok else max(table, key=lambda t: table[t]["precision"])
    pan_table = evaluate(model, panoramic_valid)
    metrics = {"training_seconds": round(time.time() - start), "iterations": args.iterations, "threshold": threshold,
               "broadcast_valid": table[threshold], "panoramic_valid": pan_table[threshold]}
    say("metrics " + json.dumps(metrics))
    json.dump({"metrics": metrics, "broadcast": table, "panoramic": pan_table},
              open(os.path.join(args.work, "metrics.json"), "w"), indent=1)

    torch.onnx.export(model, (torch.zeros(1, 6, PATCH, PATCH),), args.out, input_names=["patches"],
                      output_names=["ball"], opset_version=17, dynamic_axes={"patches": {0: "n"}, "ball": {0: "n"}},
                      dynamo=False)
    save_metadata(args.out, {"tacticeye_format": FORMAT, "patch": str(PATCH), "span_at_1080": str(SPAN_AT_1080),
                             "context": str(CONTEXT),
                             "candidates": str(CANDIDATES), "candidate_threshold": str(CANDIDATE_THRESHOLD),
                             "threshold": str(threshold), "seed": str(args.seed)}, say)


if __name__ == "__main__":
    main()
