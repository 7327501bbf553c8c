#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# dcmvault dump against DCMTK dcmdump on every corpus file that dcmdump parses: same tags in
# the same order (nested included, item delimiters aside), same top-level string values.
source "$(dirname "$0")/lib.sh"
need_testdata "dump matches dcmdump"

while IFS= read -r rel; do
  f=$TESTDATA/$rel
  if ! dcmdump -q -Un +L "$f" >"$TMP/theirs" 2>/dev/null; then
    skip "dump $rel" "dcmdump cannot parse it"
    continue
  fi
  if ! "$DV" dump -q +L "$f" >"$TMP/ours" 2>"$TMP/err"; then
    fail "dump $rel: $(head -c 300 "$TMP/err")"
    continue
  fi
  if diff_msg=$(python3 "$ROOT/tests/integration/py/cmp_dump.py" "$TMP/ours" "$TMP/theirs"); then
    ok "dump $rel"
  else
    fail "dump $rel: $diff_msg"
  fi
done < <(corpus_files)
done_testing
