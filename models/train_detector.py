"""Trains TacticEYE's football detector on 2 CPU cores and exports it to ONNX.

The network is FootAndBall's backbone (its public MIT checkpoint initialises it) run at half resolution
with strided convolutions instead of full-resolution convolutions and max-pools, and CenterNet-style heads:
people at stride 4 of the input (8 px of a 1080p frame: a person map, the person's role (player,
goalkeeper, referee), box size and sub-cell offset), and the ball at stride 2 (4 px of a 1080p frame, as
FootAndBall finds it at full resolution: a ball map and sub-cell offset). Frames are fed scaled to a height
of 540 px.

Usage: train_detector.py --data ../shared/data --init FOOTANDBALL.pth --out models/tacticeye-detector.onnx
"""

import argparse
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

STRIDE = 4
BALL_STRIDE = 2
CROP = 320
INPUT_HEIGHT = 540
ROLES = ["player", "goalkeeper", "referee"]
# players-detection: 0 ball, 1 goalkeeper, 2 player, 3 referee -> role index, or "ball".
BROADCAST = {0: "ball", 1: 1, 2: 0, 3: 2}
# players-panoramic: 0 person (no role), 1 sports ball.
PANORAMIC = {0: -1, 1: "ball"}
PANORAMIC_VALID_CLIPS = ("1st_5", "2nd_4")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
OUTPUTS = ["person", "player", "goalkeeper", "referee", "w", "h", "dx", "dy"]
BALL_OUTPUTS = ["ball", "dx", "dy"]


def conv_bn(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def backbone():
    """FootAndBall's stages, each entered by a stride-2 conv, the deeper ones wider: [16], [32, 32], [64, 64],
    [96, 96], [128, 128] (FootAndBall: [16], [32, 32], [32, 32], [64, 64], [64, 64]); and the pyramid's 1x1
    laterals to 32 channels. Both models start from it."""
    stages = nn.ModuleList([
        nn.Sequential(conv_bn(3, 16, 2)),
        nn.Sequential(conv_bn(16, 32, 2), conv_bn(32, 32)),
        nn.Sequential(conv_bn(32, 64, 2), conv_bn(64, 64)),
        nn.Sequential(conv_bn(64, 96, 2), conv_bn(96, 96)),
        nn.Sequential(conv_bn(96, 128, 2), conv_bn(128, 128)),
    ])
    return stages, nn.ModuleList([nn.Conv2d(c, 32, 1) for c in (32, 64, 96, 128)])


class Net(nn.Module):
    """The backbone and pyramid down to stride 4, the people head there and the ball branch at stride 2."""

    def __init__(self):
        super().__init__()
        self.stages, self.laterals = backbone()
        self.head = nn.Sequential(nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(32, len(OUTPUTS), 3, 1, 1))
        nn.init.constant_(self.head[2].bias[0], -2.2)
        # The ball branch: the first stage's stride-2 features plus the stride-4 pyramid, upsampled.
        self.ball_lateral = nn.Conv2d(16, 8, 1)
        self.ball_top = nn.Conv2d(32, 8, 1)
        self.ball_head = nn.Sequential(nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, 1, 1), nn.ReLU(inplace=True),
                                       nn.Conv2d(8, len(BALL_OUTPUTS), 3, 1, 1))
        nn.init.constant_(self.ball_head[3].bias[0], -4.6)

    def forward(self, x):
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        p = self.laterals[3](feats[4])
        for i in (2, 1, 0):
            lat = self.laterals[i](feats[i + 1])
            p = lat + F.interpolate(p, size=lat.shape[-2:], mode="bilinear", align_corners=False)
        fine = self.ball_lateral(feats[0])
        b = fine + F.interpolate(self.ball_top(p), size=fine.shape[-2:], mode="bilinear", align_corners=False)
        return self.head(p), self.ball_head(b)


def load_footandball(net, path):
    """Copies FootAndBall's backbone, laterals and first head conv; `weights_only` runs no pickled code."""
    sd = torch.load(path, map_location="cpu", weights_only=True)
    ours = net.state_dict()
    mapping = {}
    convs = [(s, k) for s, stage in enumerate(net.stages) for k in range(len(stage))]
    theirs = [(s, k) for s, n in enumerate([1, 2, 2, 2, 2]) for k in range(n)]
    for (s, k), (ts, tk) in zip(convs, theirs):
        # FootAndBall's Sequential per stage is conv, bn, relu repeated, then maxpool.
        for ours_part, theirs_part in (("0", 3 * tk), ("1", 3 * tk + 1)):
            for leaf in ("weight", "bias", "running_mean", "running_var"):
                a = f"stages.{s}.{k}.{ours_part}.{leaf}"
                b = f"base_network.layers.{ts}.{theirs_part}.{leaf}"
                if a in ours and b in sd:
                    mapping[a] = b
    for leaf in ("weight", "bias"):
        mapping[f"head.0.{leaf}"] = f"ball_classifier.0.{leaf}"
        for i in range(4):
            mapping[f"laterals.{i}.{leaf}"] = f"base_network.lateral_layers.{i}.{leaf}"
    loaded = 0
    for a, b in mapping.items():
        if b in sd and sd[b].shape == ours[a].shape:
            ours[a] = sd[b].clone()
            loaded += 1
    net.load_state_dict(ours)
    return loaded


def read_labels(path, classes):
    objs = []
    if os.path.exists(path):
        for line in open(path):
            p = line.split()
            if len(p) < 5 or int(p[0]) not in classes:
                continue
            objs.append((classes[int(p[0])], *map(float, p[1:5])))
    return objs


def load_split(folder, classes, keep=lambda name: True):
    frames = []
    for img in sorted(glob.glob(os.path.join(folder, "images", "*.jpg"))):
        name = os.path.basename(img)
        if not keep(name):
            continue
        label = os.path.join(folder, "labels", os.path.splitext(name)[0] + ".txt")
        frames.append({"path": img, "image": Image.open(img).convert("RGB"), "objects": read_labels(label, classes)})
    return frames


def panoramic_clip(name):
    parts = name.split("_")
    return parts[4] + "_" + parts[5]


def sample(frame, rng, scale_range):
    """A CROP x CROP training crop: scale jitter, a crop around the ball half the time, flips, colour jitter."""
    img = frame["image"]
    W, H = img.size
    s = scale_range[0] * math.exp(rng.uniform(*scale_range[1]))
    side = CROP / s
    balls = [o for o in frame["objects"] if o[0] == "ball"]
    if balls and rng.random() < 0.5:
        b = rng.choice(balls)
        cx, cy = b[1] * W + rng.uniform(-side / 3, side / 3), b[2] * H + rng.uniform(-side / 3, side / 3)
    else:
        cx, cy = rng.uniform(0, W), rng.uniform(0, H)
    x0 = min(max(cx - side / 2, 0), max(W - side, 0))
    y0 = min(max(cy - side / 2, 0), max(H - side, 0))
    crop = img.resize((CROP, CROP), Image.BILINEAR, box=(x0, y0, x0 + side, y0 + side))
    flip = rng.random() < 0.5
    if flip:
        crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
    for enhance in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        crop = enhance(crop).enhance(rng.uniform(0.75, 1.25))
    objects = []
    for kind, cx, cy, w, h in frame["objects"]:
        x, y = (cx * W - x0) * s, (cy * H - y0) * s
        if flip:
            x = CROP - x
        if 0 <= x < CROP and 0 <= y < CROP:
            objects.append((kind, x, y, w * W * s, h * H * s))
    return np.asarray(crop), objects


def targets(objects, size):
    """CenterNet targets: people on the stride-4 grid (gaussian map, and size, offset and role around centres),
    the ball on the stride-2 grid (gaussian map and offset)."""
    g = size // STRIDE
    heat = np.zeros((g, g), np.float32)
    reg = np.zeros((4, g, g), np.float32)
    reg_mask = np.zeros((g, g), np.float32)
    role = np.full((g, g), -1, np.int64)
    role_dist = np.full((g, g), np.inf, np.float32)
    ys, xs = np.mgrid[0:g, 0:g]
    gb = size // BALL_STRIDE
    ball = np.zeros((3, gb, gb), np.float32)  # heat, dx, dy
    ball_mask = np.zeros((gb, gb), np.float32)
    bys, bxs = np.mgrid[0:gb, 0:gb]
    for kind, x, y, w, h in objects:
        if kind == "ball":
            cx, cy = x / BALL_STRIDE, y / BALL_STRIDE
            ix, iy = min(int(cx), gb - 1), min(int(cy), gb - 1)
            sigma = max(0.7, min(w, h) / BALL_STRIDE / 4)
            np.maximum(ball[0], np.exp(-((bxs - ix) ** 2 + (bys - iy) ** 2) / (2 * sigma * sigma)), out=ball[0])
            ball[:, iy, ix] = (1.0, cx - ix, cy - iy)
            ball_mask[iy, ix] = 1.0
            continue
        cx, cy = x / STRIDE, y / STRIDE
        ix, iy = min(int(cx), g - 1), min(int(cy), g - 1)
        sx, sy = max(0.5, w / STRIDE / 6), max(0.5, h / STRIDE / 6)
        np.maximum(heat, np.exp(-((xs - ix) ** 2) / (2 * sx * sx) - ((ys - iy) ** 2) / (2 * sy * sy)), out=heat)
        heat[iy, ix] = 1.0
        # Size, offset and role at the centre's 3x3 cells, each cell for the nearest person: a peak one cell
        # off the centre still gives this person's box.
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                jx, jy = ix + dx, iy + dy
                d = (jx + 0.5 - cx) ** 2 + (jy + 0.5 - cy) ** 2
                if 0 <= jx < g and 0 <= jy < g and d < role_dist[jy, jx]:
                    role_dist[jy, jx] = d
                    reg[:, jy, jx] = (math.log(max(w, 1) / STRIDE), math.log(max(h, 1) / STRIDE), cx - jx, cy - jy)
                    reg_mask[jy, jx] = 1.0
                    role[jy, jx] = kind
    return heat, reg, reg_mask, role, ball, ball_mask


def focal(pred_logits, gt):
    p = torch.sigmoid(pred_logits).clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float()
    neg = 1 - pos
    pos_loss = (torch.log(p) * (1 - p) ** 2 * pos).sum()
    neg_loss = (torch.log(1 - p) * p ** 2 * (1 - gt) ** 4 * neg).sum()
    return -(pos_loss + neg_loss) / pos.sum().clamp(min=1)


def losses(out, batch):
    maps, ball_maps = out
    heat, reg, reg_mask, role, ball, ball_mask = batch
    l_person = focal(maps[:, 0], heat)
    l_ball = focal(ball_maps[:, 0], ball[:, 0])
    m = reg_mask.unsqueeze(1)
    n = reg_mask.sum().clamp(min=1)
    l_size = (F.smooth_l1_loss(maps[:, 4:6], reg[:, 0:2], reduction="none") * m).sum() / n
    l_off = (F.l1_loss(maps[:, 6:8], reg[:, 2:4], reduction="none") * m).sum() / n
    # The ball's offset is learnt too: it is what places the ball within a few pixels.
    bm = ball_mask.unsqueeze(1)
    l_ball_off = (F.l1_loss(ball_maps[:, 1:3], ball[:, 1:3], reduction="none") * bm).sum() / bm.sum().clamp(min=1)
    l_role = F.cross_entropy(maps[:, 1:4], role, ignore_index=-1) if (role >= 0).any() else maps.sum() * 0
    return l_person + l_ball + l_size + l_off + l_ball_off + l_role


def to_tensor(images):
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    return (x - mean) / std


class Batches(torch.utils.data.Dataset):
    """Batch `i` is drawn from its own seeded generator: the same batches whichever process makes them."""

    def __init__(self, broadcast, panoramic, size, seed, iterations):
        self.broadcast, self.panoramic, self.size, self.seed, self.iterations = broadcast, panoramic, size, seed, iterations

    def __len__(self):
        return self.iterations

    def __getitem__(self, i):
        rng = random.Random(self.seed * 1_000_003 + i)
        images, parts = [], [[] for _ in range(6)]
        for _ in range(self.size):
            # Mostly the broadcast scale (players about 27 px tall at the input); a third of the crops
            # zoomed in up to 2.5x, for fixed cameras whose near players are large.
            zoom = (0.35, 0.9) if rng.random() < 0.3 else (-0.35, 0.35)
            if rng.random() < 0.75:
                img, objs = sample(rng.choice(self.broadcast), rng, (0.5, zoom))
            else:
                img, objs = sample(rng.choice(self.panoramic), rng, (0.5, (-0.2, 0.6)))
            images.append(img)
            for part, t in zip(parts, targets(objs, CROP)):
                part.append(t)
        return to_tensor(images), [torch.from_numpy(np.stack(p)) for p in parts]


class Exported(nn.Module):
    """What ships: normalisation, sigmoid and 3x3 peak picking in the graph, so the runtime only reads cells."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

    def forward(self, images):
        maps, ball_maps = self.net((images - self.mean) / self.std)
        person = torch.sigmoid(maps[:, 0:1])
        ball = torch.sigmoid(ball_maps[:, 0:1])
        roles = torch.softmax(maps[:, 1:4], dim=1)
        size = torch.exp(maps[:, 4:6]) * STRIDE
        return (torch.cat([peaks(person), roles, size, maps[:, 6:8]], dim=1),
                torch.cat([peaks(ball), ball_maps[:, 1:3]], dim=1))


def peaks(heat):
    return heat * (F.max_pool2d(heat, 3, 1, 1) == heat).float()


def input_size(w, h):
    s = INPUT_HEIGHT / h
    return s, max(32, round(w * s / 32) * 32), math.ceil(INPUT_HEIGHT / 32) * 32


@torch.no_grad()
def predict(model, frame):
    """Decoded detections of one whole frame, as the Rust runtime decodes them."""
    img = frame["image"]
    W, H = img.size
    s, iw, ih = input_size(W, H)
    rw, rh = round(W * s), round(H * s)
    canvas = np.zeros((ih, iw, 3), np.float32)
    canvas[:rh, :rw] = np.asarray(img.resize((rw, rh), Image.BILINEAR), np.float32) / 255.0
    out, ball = (o[0].numpy() for o in model(torch.from_numpy(canvas).permute(2, 0, 1)[None]))
    people, balls = [], []
    for y, x in zip(*np.nonzero(out[0] > 0.05)):
        cx, cy = (x + out[6, y, x]) * STRIDE / s, (y + out[7, y, x]) * STRIDE / s
        w, h = out[4, y, x] / s, out[5, y, x] / s
        people.append((float(out[0, y, x]), int(np.argmax(out[1:4, y, x])), (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)))
    for y, x in zip(*np.nonzero(ball[0] > 0.01)):
        balls.append((float(ball[0, y, x]), ((x + ball[1, y, x]) * BALL_STRIDE / s, (y + ball[2, y, x]) * BALL_STRIDE / s)))
    return people, sorted(balls, reverse=True)


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter + 1e-9)


def nms(people, thr=0.5):
    kept = []
    for p in sorted(people, reverse=True):
        if all(iou(p[2], k[2]) < thr for k in kept):
            kept.append(p)
    return kept


def evaluate(model, frames, iou_thr):
    """People recall/precision per threshold, role accuracy, and ball top-1 hits per threshold."""
    grid = [round(t, 2) for t in np.arange(0.1, 0.905, 0.01)]
    stats = {t: [0, 0, 0, 0, 0] for t in grid}  # tp, predicted, truth, role hits, ball truth frames
    balls = []  # (top score, hit) per frame with a labelled ball, and (score, False) where none is labelled
    for f in frames:
        W, H = f["image"].size
        people, ball_preds = predict(model, f)
        people = nms(people)
        truth = [(o[0], (o[1] - o[3] / 2) * W, (o[2] - o[4] / 2) * H, (o[1] + o[3] / 2) * W, (o[2] + o[4] / 2) * H)
                 for o in f["objects"] if o[0] != "ball"]
        for t in grid:
            preds = [p for p in people if p[0] >= t]
            used, tp, roles = set(), 0, 0
            for p in preds:
                best, bi = iou_thr, None
                for i, g in enumerate(truth):
                    v = iou(p[2], g[1:])
                    if i not in used and v >= best:
                        best, bi = v, i
                if bi is not None:
                    used.add(bi)
                    tp += 1
                    roles += truth[bi][0] == -1 or truth[bi][0] == p[1]
            st = stats[t]
            st[0] += tp
            st[1] += len(preds)
            st[2] += len(truth)
            st[3] += roles
        gt_balls = [(o[1] * W, o[2] * H) for o in f["objects"] if o[0] == "ball"]
        if ball_preds:
            sc, (bx, by) = ball_preds[0]
            hit = any(math.hypot(bx - gx, by - gy) <= 10 for gx, gy in gt_balls)
            balls.append((sc, hit, bool(gt_balls)))
        elif gt_balls:
            balls.append((0.0, False, True))
    people_table = {t: {"recall": st[0] / max(st[2], 1), "precision": st[0] / max(st[1], 1), "role_accuracy": st[3] / max(st[0], 1)}
                    for t, st in stats.items()}
    n_ball_frames = sum(1 for b in balls if b[2])
    ball_table = {}
    for t in [round(x, 2) for x in np.arange(0.05, 0.96, 0.05)]:
        pred = [b for b in balls if b[0] >= t]
        hits = sum(b[1] for b in pred)
        ball_table[t] = {"hit_rate": hits / max(n_ball_frames, 1), "precision": hits / max(len(pred), 1)}
    return people_table, ball_table


def choose(people_table, ball_table):
    person_t = max(people_table, key=lambda t: min(people_table[t]["recall"], people_table[t]["precision"]))
    ok = [t for t, v in ball_table.items() if v["precision"] >= 0.9]
    ball_t = min(ok) if ok else max(ball_table, key=lambda t: ball_table[t]["precision"])
    return person_t, ball_t


def setup(args):
    """Seeds, one compute thread, deterministic kernels and the work folder; returns the logger (stdout and
    `train.log` there)."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.work, exist_ok=True)
    log = open(os.path.join(args.work, "train.log"), "a")

    def say(msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        log.write(line + "\n")
        log.flush()

    return say


def arguments(out, work, iterations, batch, extra=None):
    """The options of the training tools, with each tool's defaults; `extra` adds a tool's own."""
    ap = argparse.ArgumentParser()
    if extra:
        extra(ap)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--init", default="../shared/models/footandball/model_20201019_1416_final.pth")
    ap.add_argument("--out", default=out)
    ap.add_argument("--work", default=work)
    ap.add_argument("--iterations", type=int, default=iterations)
    ap.add_argument("--batch", type=int, default=batch)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=7)
    # One core computes, the other makes batches (data loading is about a third of a step).
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--loaders", type=int, default=1)
    ap.add_argument("--export-only", metavar="CHECKPOINT", help="evaluate and export a saved state dict, no training")
    return ap.parse_args()


def train(net, batches, loss_of, args, say, checkpoint):
    """AdamW with a one-cycle rate up to `args.lr`, over `batches` made by another process while this one
    computes; the weights saved to `checkpoint` every 500 iterations and at the end."""
    start = time.time()
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.iterations, pct_start=0.05)
    loader = torch.utils.data.DataLoader(batches, batch_size=None, num_workers=args.loaders,
                                         prefetch_factor=4 if args.loaders else None)
    net.train()
    for it, (images, batch) in enumerate(loader, 1):
        loss = loss_of(net(images), batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if it % 25 == 0 or it == 1:
            say(f"iteration {it}/{args.iterations} loss {loss.item():.4f} ({time.time() - start:.0f} s)")
        if it % 500 == 0:
            torch.save(net.state_dict(), checkpoint)
    torch.save(net.state_dict(), checkpoint)


def main():
    args = arguments("models/tacticeye-detector.onnx", ".cache/model", 3200, 16)
    say = setup(args)

    det = os.path.join(args.data, "players-detection")
    pan = os.path.join(args.data, "players-panoramic", "train")
    broadcast = load_split(os.path.join(det, "train"), BROADCAST)
    broadcast_valid = load_split(os.path.join(det, "valid"), BROADCAST)
    panoramic = load_split(pan, PANORAMIC, lambda n: panoramic_clip(n) not in PANORAMIC_VALID_CLIPS)
    panoramic_valid = load_split(pan, PANORAMIC, lambda n: panoramic_clip(n) in PANORAMIC_VALID_CLIPS)
    say(f"frames: broadcast {len(broadcast)} train / {len(broadcast_valid)} valid, "
        f"panoramic {len(panoramic)} train / {len(panoramic_valid)} valid (clips {', '.join(PANORAMIC_VALID_CLIPS)})")

    net = Net()
    start = time.time()
    if args.export_only:
        net.load_state_dict(torch.load(args.export_only, map_location="cpu", weights_only=True))
        export(net, args, broadcast_valid, panoramic_valid, start, say)
        return
    say(f"initialised {load_footandball(net, args.init)} tensors from FootAndBall")
    train(net, Batches(broadcast, panoramic, args.batch, args.seed, args.iterations), losses, args, say,
          os.path.join(args.work, "detector.pt"))
    export(net, args, broadcast_valid, panoramic_valid, start, say)


def export(net, args, broadcast_valid, panoramic_valid, start, say):
    """Chooses thresholds on the valid splits, records the metrics, writes the ONNX model."""
    net.eval()
    model = Exported(net).eval()
    people_table, ball_table = evaluate(model, broadcast_valid, 0.5)
    person_t, ball_t = choose(people_table, ball_table)
    pan_people, pan_balls = evaluate(model, panoramic_valid, 0.3)
    metrics = {
        "training_seconds": round(time.time() - start),
        "iterations": args.iterations,
        "person_threshold": person_t,
        "ball_threshold": ball_t,
        "broadcast_valid": {"people_iou_0.5": people_table[person_t], "ball": ball_table[ball_t]},
        "panoramic_valid": {"people_iou_0.3": pan_people[person_t], "ball": pan_balls[ball_t]},
    }
    say("metrics " + json.dumps(metrics))
    json.dump({"metrics": metrics, "people": people_table, "ball": ball_table}, open(os.path.join(args.work, "metrics.json"), "w"), indent=1)

    dummy = torch.zeros(1, 3, 544, 960)
    torch.onnx.export(model, (dummy,), args.out, input_names=["images"], output_names=["maps", "ball"], opset_version=17,
                      dynamic_axes={"images": {0: "batch", 2: "height", 3: "width"}, "maps": {0: "batch", 2: "h", 3: "w"},
                                    "ball": {0: "batch", 2: "bh", 3: "bw"}},
                      dynamo=False)
    save_metadata(args.out, {
        "tacticeye_format": "centernet-2",
        "stride": str(STRIDE),
        "ball_stride": str(BALL_STRIDE),
        "input_height": str(INPUT_HEIGHT),
        "channels": ",".join(OUTPUTS),
        "ball_channels": ",".join(BALL_OUTPUTS),
        "person_threshold": str(person_t),
        "ball_threshold": str(ball_t),
        "seed": str(args.seed),
    }, say)


def save_metadata(path, meta, say):
    """Writes `meta` into the ONNX file's metadata, which tells the Rust runtime how to read the model."""
    import onnx
    m = onnx.load(path)
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.save(m, path)
    say(f"wrote {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
