#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""gen_instances.py - N distinct instances from one small Part 10 file, for crash and bench tests.

usage: gen_instances.py SRC OUTDIR N SOP_UID STUDY_UID SERIES_UID [PER_STUDY]

Writes OUTDIR/f00000.dcm ... : copies of SRC whose SOP Instance UID (everywhere it occurs, so the
meta group's copy too) is made unique, and whose Study and Series Instance UIDs change every
PER_STUDY files (default 100).  UIDs keep their length (their last component is replaced by a
number of the same length), so no element length changes and the files stay valid.
"""
import os
import sys


def variant(uid, n):
    head, last = uid.rsplit(".", 1)
    tail = str(10 ** (len(last) - 1) + n)
    if len(last) < 5 or len(tail) != len(last):
        sys.exit("the UID's last component is too short for this many files: " + uid)
    return (head + "." + tail).encode()


def main():
    src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sop, study, series = sys.argv[4], sys.argv[5], sys.argv[6]
    per = int(sys.argv[7]) if len(sys.argv) > 7 else 100
    data = open(src, "rb").read()
    for u in (sop, study, series):
        if u.encode() not in data:
            sys.exit("UID not found in the file: " + u)
    os.makedirs(out, exist_ok=True)
    for i in range(n):
        d = data.replace(sop.encode(), variant(sop, i))
        d = d.replace(study.encode(), variant(study, i // per))
        d = d.replace(series.encode(), variant(series, i // per))
        with open(os.path.join(out, "f%05d.dcm" % i), "wb") as f:
            f.write(d)


if __name__ == "__main__":
    main()
