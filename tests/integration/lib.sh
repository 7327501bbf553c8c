# SPDX-License-Identifier: Apache-2.0
# lib.sh - shared helpers for integration tests.  Source it; it sets:
#   ROOT      the repository root
#   DV        the dcmvault binary under test (the ASan+UBSan build)
#   TESTDATA  ../shared/testdata/dicom beside the repository ("" when absent)
#   TMP       a private temporary folder, removed on exit
# and gives ok/fail/skip printing TAP lines.  A script ends with `done_testing`.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DV=${DV:-$ROOT/build/asan/dcmvault}
TESTDATA=$ROOT/../shared/testdata/dicom
[ -d "$TESTDATA" ] || TESTDATA=""
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
_n=0
_failed=0

ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
fail() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
skip() { _n=$((_n + 1)); echo "ok $_n - $1 # SKIP ${2:-}"; }
# check NAME CMD...: ok when CMD exits 0
check() { local name=$1; shift; if "$@"; then ok "$name"; else fail "$name"; fi; }
need_testdata() {
  if [ -z "$TESTDATA" ]; then
    skip "$1" "../shared/testdata/dicom is absent"
    done_testing
  fi
}
# corpus_files: the corpus files (malformed/ aside), one per line, relative to TESTDATA
corpus_files() {
  (cd "$TESTDATA" && find . -type f ! -path './malformed/*' ! -name MANIFEST.tsv \
    ! -name 'README*' ! -name '*.txt' ! -name '*.json' | sed 's|^\./||' | sort)
}
done_testing() { echo "1..$_n"; [ "$_failed" -eq 0 ] && exit 0; exit 1; }
