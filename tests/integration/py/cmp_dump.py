#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Compares `dcmvault dump +L` with `dcmdump -Un +L` output of the same file.

Checks (issue 2): the list of tags, nested included, item and delimiter lines aside, is the
same and in the same order; the bracketed value of every top-level element with a string VR
is the same.  Prints the first difference and exits 1 when they differ.
"""
import re
import sys

LINE = re.compile(rb'^( *)\(([0-9a-fA-F]{4}),([0-9a-fA-F]{4})\) (\S\S) (.*)$')
STRING_VRS = {b'AE', b'AS', b'CS', b'DA', b'DS', b'DT', b'IS', b'LO', b'LT', b'PN', b'SH',
              b'ST', b'TM', b'UC', b'UI', b'UR', b'UT'}


def parse(path):
    tags, values = [], {}
    with open(path, 'rb') as f:
        for raw in f:
            m = LINE.match(raw.rstrip(b'\n'))
            if not m:
                continue
            indent, g, e, vr, rest = m.groups()
            tag = (g + b',' + e).lower()
            if tag.startswith(b'fffe,'):
                continue
            level = len(indent) // 2
            tags.append((level, tag))
            if level == 0 and vr in STRING_VRS:
                # value is up to the last " #" column marker
                val = rest.rsplit(b' #', 1)[0].rstrip()
                values[tag] = (vr, val)
    return tags, values


def main():
    ours, theirs = parse(sys.argv[1]), parse(sys.argv[2])
    a, b = ours[0], theirs[0]
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            print('tag list differs at position %d: dcmvault %r, dcmdump %r' % (i, x, y))
            return 1
    if len(a) != len(b):
        print('tag count differs: dcmvault %d, dcmdump %d' % (len(a), len(b)))
        return 1
    for tag, (vr, val) in theirs[1].items():
        mine = ours[1].get(tag)
        if mine is None:
            continue
        if mine[1] != val:
            print('value of (%s) %s differs' % (tag.decode(), vr.decode()))
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
