#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""photo.py - a simulated phone photo of a picture on a screen, for the watermark tests.

usage: photo.py IN OUT [--keystone K] [--rotate DEG] [--scale S] [--blur SIGMA]
                [--gamma G] [--noise SIGMA] [--quality Q] [--seed N]

The picture is seen in perspective (its top edge K times narrower than its bottom edge),
turned by DEG degrees, at S times its size, on a dark surround; then defocus (Gaussian blur),
a gamma change, sensor noise and JPEG compression.  Uses Debian's python3-numpy and
python3-pil only.
"""
import argparse

import numpy as np
from PIL import Image, ImageFilter


def homography(src, dst):
    """3x3 matrix (h22 = 1) taking the four src points to the four dst points."""
    a, b = [], []
    for (u, v), (x, y) in zip(src, dst):
        a.append([u, v, 1, 0, 0, 0, -u * x, -v * x])
        b.append(x)
        a.append([0, 0, 0, u, v, 1, -u * y, -v * y])
        b.append(y)
    h = np.linalg.solve(np.array(a, float), np.array(b, float))
    return np.append(h, 1.0).reshape(3, 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("inp")
    ap.add_argument("out")
    ap.add_argument("--keystone", type=float, default=1.0)
    ap.add_argument("--rotate", type=float, default=0.0)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--blur", type=float, default=0.0)
    ap.add_argument("--gamma", type=float, default=1.0)
    ap.add_argument("--noise", type=float, default=0.0)
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--seed", type=int, default=1)
    o = ap.parse_args()

    im = Image.open(o.inp).convert("L")
    w, h = im.size
    bw, bh = w * o.scale, h * o.scale  # the bottom edge's width, the picture's height
    tw = bw / o.keystone
    margin = 0.08 * max(bw, bh)
    ow, oh = int(bw + 2 * margin), int(bh + 2 * margin)
    cx, cy = ow / 2, oh / 2
    quad = [(cx - tw / 2, cy - bh / 2), (cx + tw / 2, cy - bh / 2),
            (cx + bw / 2, cy + bh / 2), (cx - bw / 2, cy + bh / 2)]
    t = np.radians(o.rotate)
    quad = [(cx + np.cos(t) * (x - cx) - np.sin(t) * (y - cy),
             cy + np.sin(t) * (x - cx) + np.cos(t) * (y - cy)) for x, y in quad]
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    # photo -> picture (what PIL wants), supersampled twice for a camera's area sampling
    big = im.transform((2 * ow, 2 * oh), Image.PERSPECTIVE,
                       tuple(c for c in homography(
                           [(2 * x, 2 * y) for x, y in quad], corners).flatten()[:8]),
                       Image.BILINEAR, fillcolor=14)
    shot = big.resize((ow, oh), Image.BOX)
    if o.blur > 0:
        shot = shot.filter(ImageFilter.GaussianBlur(o.blur))
    a = np.asarray(shot, dtype=np.float64) / 255.0
    a = 255.0 * np.power(a, o.gamma)
    rng = np.random.default_rng(o.seed)
    a = a + rng.normal(0.0, o.noise, a.shape)
    Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8)).save(
        o.out, quality=o.quality)


if __name__ == "__main__":
    main()
