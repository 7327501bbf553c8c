#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Normalises `dcmdump -Un +L` output of a file's dataset for element-by-element comparison.

Keeps, per element, its nesting level, tag, VR, value and length; drops the meta header (the
transfer syntax changes on purpose), item and delimiter lines, group length elements (not
written by dcmvault: retired), and the defined/undefined-length wording and length of
sequences (dcmvault writes sequences with undefined length).  Prints one line per element.  With --loose (a trip through implicit VR, which carries no
VR), private elements are compared by tag and length only and string VRs as one class.
"""
import re
import sys

LINE = re.compile(rb'^( *)\(([0-9a-f]{4}),([0-9a-f]{4})\) (\S\S) (.*?) *# *(\S+), *(\d+) (.*)$')


STRING_VRS = {b'AE', b'AS', b'CS', b'DA', b'DS', b'DT', b'IS', b'LO', b'LT', b'PN', b'SH',
              b'ST', b'TM', b'UC', b'UI', b'UR', b'UT'}


def as_bytes(vr, val):
    """OB or OW value text as a list of bytes in little-endian order."""
    if vr == b'OB':
        return val
    out = []
    for w in val.split(b'\\'):
        if len(w) == 4:
            out += [w[2:], w[:2]]
    return b'\\'.join(out)


def main():
    in_data = False
    out = sys.stdout.buffer
    loose = '--loose' in sys.argv
    path = [a for a in sys.argv[1:] if a != '--loose'][0]
    with open(path, 'rb') as f:
        for raw in f:
            line = raw.rstrip(b'\n')
            if line.startswith(b'# Dicom-Data-Set'):
                in_data = True
                continue
            m = LINE.match(line)
            if not in_data or not m:
                continue
            indent, g, e, vr, val, length, vm, kw = m.groups()
            if g == b'fffe' or e == b'0000':
                continue
            if vr == b'SQ':
                val, length = b'(sequence)', b'-'
            if loose and int(g, 16) & 1:
                vr, val, vm = b'--', b'(private, VR lost in implicit VR)', b'-'
            elif loose and vr in STRING_VRS:
                vr = b'str'
            elif loose and vr in (b'US', b'SS'):
                vr = b'US/SS'  # "US or SS" elements outside the pixel module's reach
            elif loose and vr in (b'OB', b'OW') and not val.startswith(b'('):
                vr, val = b'OB/OW', as_bytes(vr, val)
            out.write(b'%d (%s,%s) %s %s # %s %s\n' % (len(indent) // 2, g, e, vr, val, length, vm))


if __name__ == '__main__':
    main()
