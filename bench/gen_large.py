#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# gen_large.py - writes a synthetic, valid DICOM Part 10 file (explicit VR little endian,
# Multi-frame Grayscale Word Secondary Capture) whose size is dominated by one OW PixelData
# element: 512x512 16-bit frames, as many as fit in the requested size.  No real patient data.
#
#   python3 bench/gen_large.py OUT.dcm SIZE_MB
#   python3 bench/gen_large.py --items COUNT OUT.dcm
#
# The --items form writes instead a small-element file: one undefined-length sequence of COUNT
# undefined-length items with four short elements each (6 elements per item counting the
# item and its delimiter), to measure per-element parsing rather than bulk bytes.
# The pixel bytes repeat a 1 MiB pseudo-random block (fixed seed), so the file is the same
# on every run and machine.  Written to OUT.dcm.tmp first, then renamed.
import os
import random
import struct
import sys

ROWS = 512
COLS = 512
FRAME_BYTES = ROWS * COLS * 2
SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word SC Image Storage
EXPLICIT_LE = "1.2.840.10008.1.2.1"
UID_ROOT = "2.25.2982739872349871234987"  # a fixed UUID-derived root, synthetic
# VRs with a reserved 2 bytes and a 32-bit length (PS3.5 7.1.2)
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT",
            b"UV"}


def pad(vr, value):
    """Pads a value to even length the way PS3.5 6.2 asks (NUL for UI, space for text)."""
    if len(value) % 2:
        value += b"\0" if vr in (b"UI", b"OB") else b" "
    return value


def element(group, elem, vr, value):
    """Encodes one explicit VR little endian element with a defined length."""
    value = pad(vr, value)
    head = struct.pack("<HH", group, elem) + vr
    if vr in LONG_VRS:
        return head + struct.pack("<HI", 0, len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def text(group, elem, vr, s):
    return element(group, elem, vr, s.encode("ascii"))


def us(group, elem, v):
    return element(group, elem, b"US", struct.pack("<H", v))


def meta(instance_uid):
    body = element(0x0002, 0x0001, b"OB", b"\x00\x01")
    body += text(0x0002, 0x0002, b"UI", SOP_CLASS)
    body += text(0x0002, 0x0003, b"UI", instance_uid)
    body += text(0x0002, 0x0010, b"UI", EXPLICIT_LE)
    body += text(0x0002, 0x0012, b"UI", UID_ROOT + ".1")
    body += text(0x0002, 0x0013, b"SH", "DCMVAULT_BENCH")
    return element(0x0002, 0x0000, b"UL", struct.pack("<I", len(body))) + body


def dataset(instance_uid, frames):
    ds = text(0x0008, 0x0016, b"UI", SOP_CLASS)
    ds += text(0x0008, 0x0018, b"UI", instance_uid)
    ds += text(0x0008, 0x0020, b"DA", "20260101")
    ds += text(0x0008, 0x0030, b"TM", "120000")
    ds += text(0x0008, 0x0050, b"SH", "")
    ds += text(0x0008, 0x0060, b"CS", "OT")
    ds += text(0x0008, 0x0064, b"CS", "WSD")
    ds += text(0x0008, 0x0090, b"PN", "")
    ds += text(0x0010, 0x0010, b"PN", "BENCH^LARGE")
    ds += text(0x0010, 0x0020, b"LO", "BENCH0001")
    ds += text(0x0010, 0x0030, b"DA", "")
    ds += text(0x0010, 0x0040, b"CS", "O")
    ds += text(0x0020, 0x000D, b"UI", UID_ROOT + ".2")
    ds += text(0x0020, 0x000E, b"UI", UID_ROOT + ".3")
    ds += text(0x0020, 0x0010, b"SH", "1")
    ds += text(0x0020, 0x0011, b"IS", "1")
    ds += text(0x0020, 0x0013, b"IS", "1")
    ds += text(0x0020, 0x0020, b"CS", "")
    ds += us(0x0028, 0x0002, 1)
    ds += text(0x0028, 0x0004, b"CS", "MONOCHROME2")
    ds += text(0x0028, 0x0008, b"IS", str(frames))
    ds += us(0x0028, 0x0010, ROWS)
    ds += us(0x0028, 0x0011, COLS)
    ds += us(0x0028, 0x0100, 16)
    ds += us(0x0028, 0x0101, 16)
    ds += us(0x0028, 0x0102, 15)
    ds += us(0x0028, 0x0103, 0)
    ds += text(0x0028, 0x0301, b"CS", "NO")
    ds += text(0x0028, 0x1052, b"DS", "0")
    ds += text(0x0028, 0x1053, b"DS", "1")
    ds += text(0x0028, 0x1054, b"LO", "US")
    ds += text(0x2050, 0x0020, b"CS", "IDENTITY")
    return ds


def items_dataset(count):
    """A ContentSequence-like sequence (undefined lengths) of count small coded items."""
    item = text(0x0008, 0x0100, b"SH", "C0001")
    item += text(0x0008, 0x0102, b"SH", "DCM")
    item += text(0x0008, 0x0104, b"LO", "bench item")
    item += text(0x0040, 0xA30A, b"DS", "1.25\\2.5")
    item_start = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    item_end = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    one = item_start + item + item_end
    head = struct.pack("<HH", 0x0040, 0xA730) + b"SQ" + struct.pack("<HI", 0, 0xFFFFFFFF)
    tail = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    return head, one, count, tail


def write_items(out, count):
    uid = UID_ROOT + ".5"
    head, one, n, tail = items_dataset(count)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"\0" * 128 + b"DICM")
        f.write(meta(uid))
        f.write(text(0x0008, 0x0016, b"UI", SOP_CLASS))
        f.write(text(0x0008, 0x0018, b"UI", uid))
        f.write(text(0x0010, 0x0010, b"PN", "BENCH^ITEMS"))
        f.write(head)
        batch = one * 1000
        while n >= 1000:
            f.write(batch)
            n -= 1000
        f.write(one * n)
        f.write(tail)
    os.replace(tmp, out)


def write_pixels(out, size_mb):
    frames = max(1, size_mb * 1000 * 1000 // FRAME_BYTES)
    pixel_len = frames * FRAME_BYTES
    if pixel_len > 0xFFFFFFFE:
        sys.exit("gen_large.py: PixelData would pass the 32-bit length limit (max ~4294 MB)")
    uid = UID_ROOT + ".4"
    rng = random.Random(20260101)
    block = bytes(rng.getrandbits(8) for _ in range(1 << 20))
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"\0" * 128 + b"DICM")
        f.write(meta(uid))
        f.write(dataset(uid, frames))
        f.write(struct.pack("<HH", 0x7FE0, 0x0010) + b"OW" + struct.pack("<HI", 0, pixel_len))
        left = pixel_len
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    os.replace(tmp, out)


def main():
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "--items":
        write_items(args[2], int(args[1]))
    elif len(args) == 2 and not args[0].startswith("-"):
        write_pixels(args[0], int(args[1]))
    else:
        sys.exit("usage: gen_large.py OUT.dcm SIZE_MB | gen_large.py --items COUNT OUT.dcm")


if __name__ == "__main__":
    main()
