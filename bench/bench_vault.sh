#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_vault.sh - the vault's import throughput against `cp` + fsync of the same files (target
# >= 0.5x), and find latency on a vault of many small instances.
#
#   import: the corpus (malformed/ and DICOMDIRs aside) into a fresh vault per run (vaults are
#           created before timing, so init's Argon2id password hash is not counted), against
#           `cp` of the same files into a fresh folder followed by `sync` of each copy (fsync
#           per file, as the store does).
#   find:   BENCH_VAULT_FILES (default 5000) generated instances, 5 per study, all imported
#           (optimised build), then a few queries; each time is a whole `dcmvault find`
#           process (open the vault, load the key, query, decrypt, print).
# Environment: BENCH_REPS (default 3), BENCH_VAULT_FILES.
source "$(dirname "$0")/lib.sh"
echo "== vault: import throughput and find latency"
if [ ! -x "$DVBIN" ]; then
  echo "bench_vault: $DVBIN is missing (make build/dcmvault)"
  exit 1
fi
if [ -z "$TESTDATA" ]; then
  echo "bench_vault: corpus absent: nothing measured"
  exit 0
fi
W=$WORK/vault
rm -rf "$W"
mkdir -p "$W"

(cd "$TESTDATA" && find . -type f ! -path './malformed/*' ! -name 'DICOMDIR*' ! -name MANIFEST.tsv \
  ! -name 'README*' ! -name '*.txt' ! -name '*.json' | sed "s|^\./|$TESTDATA/|" | sort) >"$W/list"
mapfile -t files <"$W/list"
bytes=$(cat "${files[@]}" | wc -c)
echo "  corpus: ${#files[@]} files, $(mb "$bytes") MB"

for ((i = 0; i <= REPS; i++)); do
  "$DVBIN" init "$W/v$i" >/dev/null 2>&1 || { echo "bench_vault: init failed"; exit 1; }
done
echo 0 >"$W/counter"
# one fresh vault per run (scripts, so /usr/bin/time can run them)
cat >"$W/import_once.sh" <<EOF
n=\$(cat "$W/counter")
echo \$((n + 1)) >"$W/counter"
mapfile -t files <"$W/list"
exec "$DVBIN" import --vault "$W/v\$n" "\${files[@]}"
EOF
cat >"$W/cp_once.sh" <<EOF
rm -rf "$W/cp" && mkdir -p "$W/cp" || exit 1
mapfile -t files <"$W/list"
# one cp; equal base names from different folders are kept as numbered backups
cp --backup=numbered -t "$W/cp" "\${files[@]}" || exit 1
sync "$W/cp"/* "$W/cp"
EOF
table_head
bench_cmd "cp + fsync" "$bytes" bash "$W/cp_once.sh"
table_row "cp + fsync (per file)"
cp_mbs=$B_MBS
bench_cmd "dcmvault import" "$bytes" bash "$W/import_once.sh"
table_row "dcmvault import"
imp_mbs=$B_MBS
[ "$B_RC" -ne 0 ] && echo "  import failed: $(first_err)"
echo "  import / (cp + fsync): $(ratio "$imp_mbs" "$cp_mbs")x (target >= 0.5x)"

# ---- find latency on many small instances --------------------------------------------------
NF=${BENCH_VAULT_FILES:-5000}
SRC=$TESTDATA/orthanc-tests/HierarchicalAnonymization/2019-03-28/CR000000.dcm
P=1.2.276.0.7230010.3.1
S=665618.6496.1546453790
if [ ! -f "$SRC" ]; then
  echo "  find: $SRC absent, skipped"
  exit 0
fi
python3 tests/integration/py/gen_instances.py "$SRC" "$W/gen" "$NF" "$P.4.$S.314808" \
  "$P.2.$S.314806" "$P.3.$S.314807" 5 || exit 1
"$DVBIN" init "$W/vf" >/dev/null 2>&1
t0=$(now)
"$DVBIN" import --vault "$W/vf" "$W/gen" >/dev/null 2>&1
t1=$(now)
echo "  find: $NF instances in $((NF / 5)) studies imported in" \
  "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f s (%.0f files/s)", b - a, '"$NF"' / (b - a) }')"
pid=$(dcmdump +P 0010,0020 "$SRC" 2>/dev/null | sed -n 's/.*\[\(.*\)\].*/\1/p')
name=$(dcmdump +P 0010,0010 "$SRC" 2>/dev/null | sed -n 's/.*\[\([^^]*\).*\].*/\1/p')
study=$P.2.$S.$((100000 + NF / 10))
printf '  %-44s %12s %8s\n' query "median ms" rows
find_q() {
  local label=$1 i secs=() rows
  shift
  rows=$("$DVBIN" find --vault "$W/vf" --json "$@" 2>/dev/null | grep -c '^  {')
  for ((i = 0; i < REPS; i++)); do
    measure "$DVBIN" find --vault "$W/vf" --json "$@"
    secs+=("$M_SECS")
  done
  printf '  %-44s %12s %8s\n' "$label" \
    "$(awk -v s="$(median "${secs[@]}")" 'BEGIN { printf "%.1f", s * 1000 }')" "$rows"
}
find_q "--study UID (one study)" --study "$study"
find_q "--study UID --level instance" --study "$study" --level instance
find_q "--patient-id (one patient, all studies)" --patient-id "$pid" --limit 100
find_q "--study-date 19000101-20991231 --limit 100" --study-date 19000101-20991231 --limit 100
find_q "--patient-name '${name:0:3}*' (wildcard) --limit 100" --patient-name "${name:0:3}*" --limit 100
find_q "--modality CR --level series --limit 100" --modality CR --level series --limit 100
exit 0
