#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The static checks CI enforces (tools/lint.sh): one TAP line per stage.
source "$(dirname "$0")/lib.sh"
for stage in format tidy cppcheck structure; do
  if out=$(bash "$ROOT/tools/lint.sh" "$stage" 2>&1); then
    ok "lint $stage"
  else
    fail "lint $stage"
    printf '%s\n' "$out" | grep -v '^lint: ' | head -40 | sed 's/^/# /'
  fi
done
done_testing
