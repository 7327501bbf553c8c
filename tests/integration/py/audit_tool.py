#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""audit_tool.py - an independent checker for the dcmvault audit log (standard library only).

Nothing here calls dcmvault: proofs are verified with RFC 9162 algorithms written from the RFC,
hashes with hashlib, and the folder is read from its documented layout (docs/audit.md).

  inclusion PROOF CHECKPOINT          verify an inclusion proof against a checkpoint (body parsed here)
  consistency PROOF OLD_CP NEW_CP     verify a consistency proof between two checkpoints
  root DIR                            recompute size and root from the entry bundles (RFC 6962 MTH)
  note-split NOTE BODY_OUT SIG_OUT    write the signed text and the raw 64-byte Ed25519 signature
  pem VKEY_FILE PEM_OUT               the verifier key as a PEM SubjectPublicKeyInfo for openssl
  pseudonym KEY_HEX TYPE VALUE        HMAC-SHA256(key, TYPE 0x00 VALUE) in hex (a caller's pseudonym)
  tamper DIR MODE [ARGS]              change the log: byte N OFF | delete N | swap N M | insert N | cut K
  fhir-check FILE                     check a FHIR R4 Bundle of AuditEvent resources
Exit status 0 when the check passes, 1 when it fails (with a message), 2 on bad usage.
"""
import base64
import hashlib
import hmac
import json
import os
import sys


def die(msg):
    print("audit_tool: " + msg, file=sys.stderr)
    sys.exit(1)


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    """RFC 6962 2.1 Merkle Tree Hash of a list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(index, size, leaf, path, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, path):
    """RFC 9162 2.1.4.2."""
    if first > second:
        return False
    if first == second:
        return not path and first_hash == second_hash
    if first == 0:
        return not path
    path = list(path)
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    if not path:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash


def read_checkpoint(path):
    """(origin, size, root) from the body of a signed checkpoint note."""
    data = open(path, "rb").read()
    body = data[: data.rindex(b"\n\n") + 1]
    lines = body.decode().split("\n")
    return lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)


def read_proof(path):
    lines = open(path).read().split("\n")
    if lines[-1] != "":
        die("proof does not end with a newline")
    fields, hashes = {}, []
    for line in lines[1:-1]:
        key, _, value = line.partition(" ")
        if key == "hash":
            hashes.append(base64.b64decode(value, validate=True))
        else:
            fields[key] = value
    return lines[0], fields, hashes


def cmd_inclusion(proof, cp):
    kind, f, hashes = read_proof(proof)
    _, size, root = read_checkpoint(cp)
    if kind != "dcmvault-inclusion-proof" or int(f["size"]) != size:
        die("not an inclusion proof for this checkpoint's size")
    leaf = base64.b64decode(f["leaf"], validate=True)
    if "entry" in f and leaf_hash(base64.b64decode(f["entry"], validate=True)) != leaf:
        die("the entry does not hash to the leaf")
    if not verify_inclusion(int(f["index"]), size, leaf, hashes, root):
        die("inclusion proof does not verify")
    print("inclusion OK: entry %s in tree of %d, %d hashes" % (f["index"], size, len(hashes)))


def cmd_consistency(proof, old, new):
    kind, f, hashes = read_proof(proof)
    _, s1, r1 = read_checkpoint(old)
    _, s2, r2 = read_checkpoint(new)
    if kind != "dcmvault-consistency-proof" or int(f["old"]) != s1 or int(f["size"]) != s2:
        die("not a consistency proof for these checkpoints")
    if not verify_consistency(s1, s2, r1, r2, hashes):
        die("consistency proof does not verify")
    print("consistency OK: %d -> %d, %d hashes" % (s1, s2, len(hashes)))


def tile_name(n):
    parts = []
    while True:
        parts.append(n % 1000)
        n //= 1000
        if n == 0:
            break
    parts.reverse()
    return "/".join(("x%03d" % p) for p in parts[:-1]) + ("/" if len(parts) > 1 else "") + "%03d" % parts[-1]


def bundle_path(d, k):
    return os.path.join(d, "tile", "entries", tile_name(k))


def read_entries(d):
    """Every entry of every bundle, in order (bundles: uint16 BE length + entry)."""
    entries, k = [], 0
    while os.path.exists(bundle_path(d, k)):
        data = open(bundle_path(d, k), "rb").read()
        pos = 0
        while pos + 2 <= len(data):
            n = int.from_bytes(data[pos : pos + 2], "big")
            if n == 0 or pos + 2 + n > len(data):
                break
            entries.append(data[pos + 2 : pos + 2 + n])
            pos += 2 + n
        k += 1
    return entries


def write_entries(d, entries):
    k = 0
    while os.path.exists(bundle_path(d, k)):
        os.unlink(bundle_path(d, k))
        k += 1
    for k in range(0, len(entries), 256):
        os.makedirs(os.path.dirname(bundle_path(d, k // 256)), exist_ok=True)
        with open(bundle_path(d, k // 256), "wb") as f:
            for e in entries[k : k + 256]:
                f.write(len(e).to_bytes(2, "big") + e)


def cmd_root(d):
    entries = read_entries(d)
    print(len(entries), base64.b64encode(mth([leaf_hash(e) for e in entries])).decode())


def cmd_note_split(note, body_out, sig_out):
    data = open(note, "rb").read()
    cut = data.rindex(b"\n\n") + 1
    sig_line = data[cut + 1 :].split(b"\n")[0].decode()
    if not sig_line.startswith("\u2014 "):
        die("no signature line")
    raw = base64.b64decode(sig_line.split(" ")[2], validate=True)
    if len(raw) != 68:
        die("not an Ed25519 note signature")
    open(body_out, "wb").write(data[:cut])
    open(sig_out, "wb").write(raw[4:])


def cmd_pem(vkey_file, pem_out):
    name, keyhash, b64 = open(vkey_file).read().strip().split("+", 2)
    raw = base64.b64decode(b64, validate=True)
    if raw[0] != 1 or len(raw) != 33:
        die("not an Ed25519 vkey")
    want = hashlib.sha256(name.encode() + b"\n\x01" + raw[1:]).digest()[:4].hex()
    if want != keyhash:
        die("the vkey's key hash is wrong")
    der = bytes.fromhex("302a300506032b6570032100") + raw[1:]
    pem = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PUBLIC KEY-----\n"
    open(pem_out, "w").write(pem)


def cmd_pseudonym(key_hex, typ, value):
    print(hmac.new(bytes.fromhex(key_hex), typ.encode() + b"\x00" + value.encode(), hashlib.sha256).hexdigest())


def cmd_tamper(d, mode, args):
    entries = read_entries(d)
    a = [int(x) for x in args]
    if mode == "byte":
        e = bytearray(entries[a[0]])
        e[a[1]] ^= 0x01
        entries[a[0]] = bytes(e)
    elif mode == "delete":
        del entries[a[0]]
    elif mode == "swap":
        entries[a[0]], entries[a[1]] = entries[a[1]], entries[a[0]]
    elif mode == "insert":
        entries.insert(a[0], entries[a[0]])
    elif mode == "cut":
        entries = entries[: len(entries) - a[0]]
    else:
        die("unknown tamper mode")
    write_entries(d, entries)


def cmd_fhir_check(path):
    b = json.load(open(path))
    if b.get("resourceType") != "Bundle" or b.get("type") != "collection":
        die("not a collection Bundle")
    for ent in b["entry"]:
        r = ent["resource"]
        if r.get("resourceType") != "AuditEvent":
            die("entry is not an AuditEvent")
        for key in ("type", "recorded", "agent", "source"):
            if key not in r:
                die("AuditEvent without " + key)
        if r["type"]["system"] != "http://dicom.nema.org/resources/ontology/DCM":
            die("type is not a DICOM code")
        if r.get("action") not in ("C", "R", "U", "D", "E"):
            die("bad action")
        if r.get("outcome") not in ("0", "4", "8", "12"):
            die("bad outcome")
        for ag in r["agent"]:
            if not isinstance(ag.get("requestor"), bool):
                die("agent.requestor is required")
        if "observer" not in r["source"]:
            die("source.observer is required")
        if not r["recorded"].endswith("Z") or "T" not in r["recorded"]:
            die("recorded is not an instant")
    print("fhir OK: %d AuditEvent resources" % len(b["entry"]))


def main(argv):
    cmds = {
        "inclusion": (cmd_inclusion, 2),
        "consistency": (cmd_consistency, 3),
        "root": (cmd_root, 1),
        "note-split": (cmd_note_split, 3),
        "pem": (cmd_pem, 2),
        "pseudonym": (cmd_pseudonym, 3),
        "fhir-check": (cmd_fhir_check, 1),
    }
    if len(argv) >= 3 and argv[1] == "tamper":
        cmd_tamper(argv[2], argv[3], argv[4:])
        return 0
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 != cmds[argv[1]][1]:
        print(__doc__, file=sys.stderr)
        return 2
    cmds[argv[1]][0](*argv[2:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
