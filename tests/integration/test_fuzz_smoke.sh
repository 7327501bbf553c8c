#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Short libFuzzer run of every fuzz target from its seed corpus (make fuzz runs them longer).
source "$(dirname "$0")/lib.sh"
secs=${FUZZ_SMOKE_SECONDS:-30}
for bin in "$ROOT"/build/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  if out=$(bash "$ROOT/fuzz/run.sh" "$secs" "$name" 2>&1); then
    ok "fuzz smoke $name (${secs}s)"
  else
    fail "fuzz smoke $name"
    printf '%s\n' "$out" | tail -30 | sed 's/^/# /'
  fi
done
done_testing
