#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dcmvault convert: every native corpus file goes to each transfer syntax and back; DCMTK's
# dcmdump reads every output, and the round-tripped dataset equals the original element for
# element as dcmdump sees them.  Compressed files are converted to explicit VR LE (decoded)
# and dcmdump reads the result.
source "$(dirname "$0")/lib.sh"
need_testdata "convert round trips"
NORM=$ROOT/tests/integration/py/norm_dcmdump.py

ts_name() {
  case "$1" in
    *"Little Endian Implicit"*) echo implicit-le ;;
    *"Little Endian Explicit"*) echo explicit-le ;;
    *"Big Endian Explicit"*) echo big-endian ;;
    *"Deflated Explicit VR Little Endian") echo deflated ;;
    *) echo "" ;;
  esac
}

while IFS= read -r rel; do
  f=$TESTDATA/$rel
  dcmdump -q -Un +L "$f" >"$TMP/orig.txt" 2>/dev/null || { skip "convert $rel" "dcmdump cannot parse it"; continue; }
  used=$("$DV" dump -q "$f" 2>/dev/null | grep '^# Used TransferSyntax' | tail -1)
  back_ts=$(ts_name "$used")
  if [ -z "$back_ts" ]; then
    if ! "$DV" convert "$f" "$TMP/native.dcm" 2>"$TMP/err"; then
      if grep -q 'unsupported\|pixel codec' "$TMP/err"; then
        skip "convert $rel to explicit-le" "$(head -c 200 "$TMP/err")"
      else
        fail "convert $rel to explicit-le: $(head -c 300 "$TMP/err")"
      fi
      continue
    fi
    check "convert $rel to explicit-le: dcmdump reads it" dcmdump -q "$TMP/native.dcm" >/dev/null
    continue
  fi
  for ts in implicit-le explicit-le big-endian deflated; do
    if ! "$DV" convert -t "$ts" "$f" "$TMP/x.dcm" 2>"$TMP/err"; then
      fail "convert $rel to $ts: $(head -c 300 "$TMP/err")"; continue
    fi
    if ! dcmdump -q "$TMP/x.dcm" >/dev/null 2>&1; then
      fail "convert $rel to $ts: dcmdump cannot read the output"; continue
    fi
    if ! "$DV" convert -t "$back_ts" "$TMP/x.dcm" "$TMP/back.dcm" 2>"$TMP/err"; then
      fail "convert $rel $ts back to $back_ts: $(head -c 300 "$TMP/err")"; continue
    fi
    dcmdump -q -Un +L "$TMP/back.dcm" >"$TMP/back.txt" 2>/dev/null
    loose=""
    # implicit VR carries no VR: private elements come back as UN, and a string element whose
    # VR in the file disagrees with the dictionary comes back with the dictionary's VR
    if [ "$ts" = implicit-le ] || [ "$back_ts" = implicit-le ]; then loose=--loose; fi
    python3 "$NORM" $loose "$TMP/orig.txt" >"$TMP/orig.norm"
    python3 "$NORM" $loose "$TMP/back.txt" >"$TMP/back.norm"
    if cmp -s "$TMP/orig.norm" "$TMP/back.norm"; then
      ok "convert $rel via $ts and back"
    else
      fail "convert $rel via $ts and back: $(diff "$TMP/orig.norm" "$TMP/back.norm" | head -4 | tr '\n' ' ' | cut -c1-300)"
    fi
  done
done < <(corpus_files)
done_testing
