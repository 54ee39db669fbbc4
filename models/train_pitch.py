"""Trains TacticEYE's pitch keypoint model on 2 CPU cores and exports it to ONNX.

The 32 keypoints are the pitch-line vertices of the roboflow/sports layout (corners, penalty and goal
areas, halfway line, centre circle, penalty spots), labelled in `pitch-keypoints`. The network is the
detector's backbone and pyramid (FootAndBall's public MIT checkpoint initialises it) with a head at
stride 4: one heatmap per keypoint and a shared sub-cell offset. Frames are fed at 640 x 360.

Usage: train_pitch.py --data ../shared/data --init FOOTANDBALL.pth --out models/tacticeye-pitch.onnx
"""

import glob
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageEnhance

from train_detector import (MEAN, STD, arguments, backbone, conv_bn, focal, load_footandball, save_metadata, setup,
                            train)

STRIDE = 4
WIDTH, HEIGHT = 640, 360
KEYPOINTS = 32
# A horizontal flip swaps the two ends of the pitch (the data's `flip_idx`).
FLIP = [24, 25, 26, 27, 28, 29, 22, 23, 21, 17, 18, 19, 20, 13, 14, 15, 16, 9, 10, 11, 12, 8, 6, 7, 0, 1, 2, 3, 4,
        5, 31, 30]


class Net(nn.Module):
    """The detector's stages and pyramid down to stride 4, with keypoint heatmaps and an offset."""

    def __init__(self):
        super().__init__()
        self.stages, self.laterals = backbone()
        # Keypoints are told apart by where they are on the whole pitch: a wide view from the deepest stage.
        self.context = nn.Sequential(conv_bn(128, 128), conv_bn(128, 128))
        self.head = nn.Sequential(nn.Conv2d(32, 64, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(64, KEYPOINTS + 2, 1))
        nn.init.constant_(self.head[2].bias[:KEYPOINTS], -4.6)

    def forward(self, x):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        p = self.laterals[3](self.context(feats[4]))
        for i in (2, 1, 0):
            lat = self.laterals[i](feats[i + 1])
            p = lat + F.interpolate(p, size=lat.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(p)


def load_split(folder):
    frames = []
    for img in sorted(glob.glob(os.path.join(folder, "images", "*.jpg"))):
        label = os.path.join(folder, "labels", os.path.splitext(os.path.basename(img))[0] + ".txt")
        points = np.zeros((KEYPOINTS, 3), np.float32)
        if os.path.exists(label):
            for line in open(label):
                p = line.split()
                if len(p) >= 5 + 3 * KEYPOINTS:
                    points = np.array(p[5:5 + 3 * KEYPOINTS], np.float32).reshape(KEYPOINTS, 3)
                    break
        frames.append({"path": img, "image": Image.open(img).convert("RGB"), "points": points})
    return frames


def sample(frame, rng):
    """A WIDTH x HEIGHT view: a random zoom (1 to 1.6x) and shift, flips, colour jitter. Keypoints in the
    view's pixels, visible ones only."""
    img = frame["image"]
    W, H = img.size
    zoom = math.exp(rng.uniform(0, math.log(1.6)))
    vw, vh = W / zoom, H / zoom
    x0, y0 = rng.uniform(0, W - vw), rng.uniform(0, H - vh)
    view = img.resize((WIDTH, HEIGHT), Image.BILINEAR, box=(x0, y0, x0 + vw, y0 + vh))
    flip = rng.random() < 0.5
    if flip:
        view = view.transpose(Image.FLIP_LEFT_RIGHT)
    for enhance in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        view = enhance(view).enhance(rng.uniform(0.7, 1.3))
    points = []
    for k, (x, y, v) in enumerate(frame["points"]):
        if v <= 0:
            continue
        px, py = (x * W - x0) * WIDTH / vw, (y * H - y0) * HEIGHT / vh
        if flip:
            px, k = WIDTH - px, FLIP[k]
        if 0 <= px < WIDTH and 0 <= py < HEIGHT:
            points.append((k, px, py))
    return np.asarray(view), points


def targets(points):
    gw, gh = WIDTH // STRIDE, HEIGHT // STRIDE
    heat = np.zeros((KEYPOINTS, gh, gw), np.float32)
    offset = np.zeros((2, gh, gw), np.float32)
    mask = np.zeros((gh, gw), np.float32)
    ys, xs = np.mgrid[0:gh, 0:gw]
    for k, x, y in points:
        cx, cy = x / STRIDE, y / STRIDE
        ix, iy = min(int(cx), gw - 1), min(int(cy), gh - 1)
        np.maximum(heat[k], np.exp(-((xs - ix) ** 2 + (ys - iy) ** 2) / (2 * 1.5 ** 2)), out=heat[k])
        heat[k, iy, ix] = 1.0
        offset[:, iy, ix] = (cx - ix, cy - iy)
        mask[iy, ix] = 1.0
    return heat, offset, mask


def to_tensor(images):
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


class Batches(torch.utils.data.Dataset):
    """Batch `i` is drawn from its own seeded generator: the same batches whichever process makes them."""

    def __init__(self, frames, size, seed, iterations):
        self.frames, self.size, self.seed, self.iterations = frames, size, seed, iterations

    def __len__(self):
        return self.iterations

    def __getitem__(self, i):
        rng = random.Random(self.seed * 1_000_003 + i)
        images, parts = [], [[], [], []]
        for _ in range(self.size):
            img, points = sample(rng.choice(self.frames), rng)
            images.append(img)
            for part, t in zip(parts, targets(points)):
                part.append(t)
        return to_tensor(images), [torch.from_numpy(np.stack(p)) for p in parts]


def losses(out, batch):
    heat, offset, mask = batch
    m = mask.unsqueeze(1)
    l_off = (F.l1_loss(out[:, KEYPOINTS:], offset, reduction="none") * m).sum() / m.sum().clamp(min=1)
    return focal(out[:, :KEYPOINTS], heat) + l_off


class Exported(nn.Module):
    """What ships: normalisation and sigmoid in the graph; output `[N, 34, H/4, W/4]`."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

    def forward(self, images):
        out = self.net((images - self.mean) / self.std)
        return torch.cat([torch.sigmoid(out[:, :KEYPOINTS]), out[:, KEYPOINTS:]], dim=1)


@torch.no_grad()
def predict(model, frame):
    """Each keypoint's best cell: (score, x, y) in the frame's pixels."""
    img = frame["image"]
    W, H = img.size
    x = torch.from_numpy(np.asarray(img.resize((WIDTH, HEIGHT), Image.BILINEAR), np.float32) / 255.0)
    out = model(x.permute(2, 0, 1)[None])[0].numpy()
    found = []
    for k in range(KEYPOINTS):
        iy, ix = np.unravel_index(np.argmax(out[k]), out[k].shape)
        px = (ix + out[KEYPOINTS, iy, ix]) * STRIDE * W / WIDTH
        py = (iy + out[KEYPOINTS + 1, iy, ix]) * STRIDE * H / HEIGHT
        found.append((float(out[k, iy, ix]), px, py))
    return found


def evaluate(model, frames):
    """Per threshold: share of labelled keypoints found (recall), share of found that are labelled there
    within 10 px of a 1280-px frame (precision), and the median pixel error of those found."""
    rows = {}
    preds = [predict(model, f) for f in frames]
    for t in [round(x, 2) for x in np.arange(0.1, 0.91, 0.1)]:
        found = hits = labelled = 0
        errors = []
        for f, pred in zip(frames, preds):
            W, H = f["image"].size
            for (score, px, py), (x, y, v) in zip(pred, f["points"]):
                labelled += v > 0
                if score < t:
                    continue
                found += 1
                if v > 0:
                    e = math.hypot(px - x * W, py - y * H) * 1280 / W
                    errors.append(e)
                    hits += e <= 10
        rows[t] = {"recall": hits / max(labelled, 1), "precision": hits / max(found, 1),
                   "median_px": float(np.median(errors)) if errors else None}
    return rows


def main():
    args = arguments("models/tacticeye-pitch.onnx", ".cache/pitch", 1500, 8)
    say = setup(args)

    frames = load_split(os.path.join(args.data, "pitch-keypoints", "train"))
    valid = load_split(os.path.join(args.data, "pitch-keypoints", "valid"))
    say(f"frames: {len(frames)} train / {len(valid)} valid")
    net = Net()
    start = time.time()
    if args.export_only:
        net.load_state_dict(torch.load(args.export_only, map_location="cpu", weights_only=True))
    else:
        say(f"initialised {load_footandball(net, args.init)} tensors from FootAndBall")
        train(net, Batches(frames, args.batch, args.seed, args.iterations), losses, args, say,
              os.path.join(args.work, "pitch.pt"))
    net.eval()
    model = Exported(net).eval()
    table = evaluate(model, valid)
    threshold = max(table, key=lambda t: table[t]["recall"] + table[t]["precision"])
    say("valid " + json.dumps({"threshold": threshold, **table[threshold], "seconds": round(time.time() - start)}))
    json.dump(table, open(os.path.join(args.work, "metrics.json"), "w"), indent=1)
    dummy = torch.zeros(1, 3, HEIGHT, WIDTH)
    torch.onnx.export(model, (dummy,), args.out, input_names=["images"], output_names=["keypoints"], opset_version=17,
                      dynamic_axes={"images": {0: "batch"}, "keypoints": {0: "batch"}}, dynamo=False)
    save_metadata(args.out, {"tacticeye_format": "pitch-keypoints-1", "stride": str(STRIDE), "input_width": str(WIDTH),
                             "input_height": str(HEIGHT), "keypoints": str(KEYPOINTS), "threshold": str(threshold),
                             "seed": str(args.seed)}, say)


if __name__ == "__main__":
    main()
