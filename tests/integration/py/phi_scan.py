#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""phi_scan.py - search every byte under vault folders for the corpus's identifying values.

usage: phi_scan.py LISTFILE DCMVAULT VAULTDIR...

LISTFILE names the corpus files, one per line.  For each file the values of PatientName,
PatientID, PatientBirthDate, AccessionNumber, InstitutionName and ReferringPhysicianName are
taken from DCMTK's dcmdump (raw bytes: the file's own character set; and with +U8, UTF-8, when
DCMTK can convert it) and from `dcmvault dump --json` (UTF-8, for character sets DCMTK's iconv
cannot convert, e.g. ISO 2022 IR 87).  Each value is searched whole, per '\\' value and per '='
component group, as is, upper case and lower case (ASCII case for raw bytes, Unicode case for
UTF-8).

Length rule (chance matches): the vault holds ~20 MB of ciphertext; a random 4-byte string is
expected in it about H/2^32 times per needle, i.e. several false hits over ~1,500 needles.  So
needles of 6 bytes or more are searched in every file, in every form; values of 4-5 bytes are
searched only as written (no case variants: "NONE" and "Here" would otherwise match the words
"none"/"here" of the config's comments), when not all digits ("0010" matches SQLite's binary
structure), and in every file except the sealed objects (objects/); shorter ones are skipped.
The counts are printed.

Prints "hits: N" and each hit (file, tag, which form); exits 1 when any hit, 0 otherwise.
"""
import json
import os
import re
import subprocess
import sys

TAGS = {
    "0010,0010": "PatientName",
    "0010,0020": "PatientID",
    "0010,0030": "PatientBirthDate",
    "0008,0050": "AccessionNumber",
    "0008,0080": "InstitutionName",
    "0008,0090": "ReferringPhysicianName",
}
LINE = re.compile(rb"^\s*\(([0-9a-fA-F]{4},[0-9a-fA-F]{4})\) [A-Z]{2} \[(.*)\]", re.M)


def dcmdump_values(path, utf8):
    args = ["dcmdump", "+L", "-q"]
    if utf8:
        args.append("+U8")
    for t in TAGS:
        args += ["+P", t]
    args.append(path)
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    if utf8 and r.returncode != 0:
        return []
    return [(m.group(1).decode().lower(), m.group(2)) for m in LINE.finditer(r.stdout)]


def json_values(dv, path):
    r = subprocess.run([dv, "dump", "--json", "-q", path], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    out = []
    if r.returncode != 0:
        return out
    try:
        doc = json.loads(r.stdout.decode("utf-8"))
    except ValueError:
        return out

    def walk(ds):
        for tag, el in ds.items():
            key = "%s,%s" % (tag[:4].lower(), tag[4:].lower())
            for v in el.get("Value", []) if isinstance(el, dict) else []:
                if isinstance(v, dict) and key in TAGS:
                    for comp in ("Alphabetic", "Ideographic", "Phonetic"):
                        if comp in v:
                            out.append((key, v[comp].encode("utf-8")))
                elif isinstance(v, dict):
                    walk(v)
                elif isinstance(v, str) and key in TAGS:
                    out.append((key, v.encode("utf-8")))

    for ds in doc if isinstance(doc, list) else [doc]:
        walk(ds)
    return out


def forms(raw, is_utf8):
    """(needle, exact) pairs: exact is 1 for the value as written."""
    parts = {raw}
    for sep in (b"\\", b"="):
        for p in list(parts):
            parts.update(p.split(sep))
    out = set()
    for p in parts:
        p = p.strip(b" \x00")
        if not p:
            continue
        out.add((p, 1))
        out.update({(p.upper(), 0), (p.lower(), 0)})
        if is_utf8:
            try:
                s = p.decode("utf-8")
                out.update({(s.upper().encode("utf-8"), 0), (s.lower().encode("utf-8"), 0)})
            except UnicodeDecodeError:
                pass
    return out


def main():
    listfile, dv, dirs = sys.argv[1], sys.argv[2], sys.argv[3:]
    needles = {}
    exacts = set()
    for path in open(listfile, encoding="utf-8").read().split("\n"):
        if not path:
            continue
        for tag, val in dcmdump_values(path, False):
            for f, exact in forms(val, False):
                needles.setdefault(f, (path, TAGS.get(tag, tag), "raw"))
                if exact:
                    exacts.add(f)
        for tag, val in dcmdump_values(path, True) + json_values(dv, path):
            for f, exact in forms(val, True):
                needles.setdefault(f, (path, TAGS.get(tag, tag), "utf-8"))
                if exact:
                    exacts.add(f)
    longn = [n for n in needles if len(n) >= 6]
    midn = [n for n in needles if 4 <= len(n) < 6 and n in exacts and not n.isdigit()]
    short = len(needles) - len(longn) - len(midn)
    print("# needles: %d of >= 6 bytes (all files), %d of 4-5 bytes (all but objects/), "
          "%d shorter, case variants or all-digit skipped" % (len(longn), len(midn), short))
    hits = 0
    nfiles = nbytes = 0
    for d in dirs:
        for root, _, files in os.walk(d):
            for name in files:
                nfiles += 1
                nbytes += os.path.getsize(os.path.join(root, name))
    # GNU grep -F (Aho-Corasick style) over the raw bytes of every file
    env = dict(os.environ, LC_ALL="C")
    for group, extra in ((longn, []), (midn, ["--exclude-dir=objects"])):
        group = [n for n in group if b"\n" not in n]
        if not group:
            continue
        pat = os.path.join(os.environ.get("TMPDIR", "/tmp"), "phi_needles.%d" % os.getpid())
        with open(pat, "wb") as f:
            f.write(b"\n".join(group) + b"\n")
        r = subprocess.run(["grep", "-r", "-a", "-o", "-F", "-f", pat] + extra + dirs,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        os.unlink(pat)
        for line in r.stdout.split(b"\n"):
            if not line:
                continue
            fname, _, match = line.partition(b":")
            src = needles.get(match, ("?", "?", "?"))
            hits += 1
            print("# HIT in %s: %s of %s (%s form)" % (fname.decode(errors="replace"),
                                                      src[1], src[0], src[2]))
    print("# scanned %d files, %d bytes" % (nfiles, nbytes))
    print("hits: %d" % hits)
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
