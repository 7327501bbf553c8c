#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""float_pixels.py - compares the Float Pixel Data of a DICOM file and of its marked copy.

usage: float_pixels.py ORIG COPY

Reads Float Pixel Data (7FE0,0008, OF) of both files (explicit VR little endian, the last such
element in the file) and prints one line "psnr P maxrel M changed N": the PSNR of the copy
with the original's range of finite values as peak, the largest change as a fraction of that
range, and how many values changed.  NaN and infinite values must be left as they were
(exit 1 otherwise).  No third-party modules.
"""
import math
import struct
import sys


def floats(path):
    d = open(path, 'rb').read()
    i = d.rfind(b'\xe0\x7f\x08\x00OF')
    if i < 0:
        sys.exit('%s: no Float Pixel Data' % path)
    n = struct.unpack('<I', d[i + 8:i + 12])[0]
    return struct.unpack('<%df' % (n // 4), d[i + 12:i + 12 + n // 4 * 4])


def main():
    a, b = floats(sys.argv[1]), floats(sys.argv[2])
    if len(a) != len(b):
        sys.exit('the copy holds %d values, the original %d' % (len(b), len(a)))
    fin = [x for x in a if math.isfinite(x)]
    lo, hi = min(fin), max(fin)
    se, mx, changed = 0.0, 0.0, 0
    for x, y in zip(a, b):
        if not math.isfinite(x):
            if math.isfinite(y) or (math.isnan(x) != math.isnan(y)):
                sys.exit('a non-finite value was changed')
            continue
        se += (x - y) ** 2
        mx = max(mx, abs(x - y))
        changed += x != y
    psnr = 10 * math.log10((hi - lo) ** 2 / (se / len(a))) if se else float('inf')
    print('psnr %.2f maxrel %.6f changed %d' % (psnr, mx / (hi - lo), changed))


main()
