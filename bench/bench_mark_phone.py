# SPDX-License-Identifier: Apache-2.0
# bench_mark_phone.py - simulated phone photo of a screen for bench/bench_mark.sh:
# perspective (corner offsets 1-5% times STRENGTH), 80% size, blur, moire, camera gamma,
# sensor noise, JPEG 85.  Usage: bench_mark_phone.py IN OUT STRENGTH
import sys

import numpy as np
from PIL import Image, ImageFilter

im = Image.open(sys.argv[1]).convert("L")
k = float(sys.argv[3])
w, h = im.size
src = [(0, 0), (w, 0), (w, h), (0, h)]
dst = [(.04 * k * w, .03 * k * h), ((1 - .05 * k) * w, .01 * k * h),
       ((1 - .03 * k) * w, (1 - .02 * k) * h), (.02 * k * w, (1 - .05 * k) * h)]


def coeffs(pa, pb):
    m = []
    for (x, y), (u, v) in zip(pa, pb):
        m.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        m.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return np.linalg.solve(np.array(m, dtype=float), np.array(pb, dtype=float).reshape(8))


out = im.transform((w, h), Image.PERSPECTIVE, coeffs(dst, src), Image.BICUBIC, fillcolor=30)
out = out.resize((int(w * .8), int(h * .8)), Image.BILINEAR).filter(ImageFilter.GaussianBlur(0.8))
a = np.asarray(out, dtype=float) / 255.0
yy, xx = np.mgrid[0:a.shape[0], 0:a.shape[1]]
a = a + 0.012 * np.sin(2 * np.pi * (xx * 0.11 + yy * 0.023))
a = np.clip(a, 0, 1) ** 0.85
a = a + np.random.default_rng(5).normal(0, 2.0 / 255, a.shape)
Image.fromarray(np.uint8(np.clip(a * 255 + .5, 0, 255))).save(sys.argv[2], quality=85)
