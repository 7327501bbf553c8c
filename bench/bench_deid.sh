#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench_deid.sh - de-identification throughput of `dcmvault deid` against Orthanc's
# POST /instances/{id}/anonymize on the same files in the same run (issue 6; target: dcmvault
# >= 20x Orthanc's files/s without OCR).
#
#   files:    the corpus (malformed/, DICOMDIRs, MANIFEST/README aside) that both tools accept:
#             dcmvault deid writes an output and Orthanc stores the file (not a duplicate
#             SOP Instance UID) and anonymizes it; the script says how many were left out.
#   dcmvault: build/dcmvault deid FILES -o OUT --key-file K --pixels off --jobs 2 --quiet, one
#             process for all files, a fresh OUT per run (median of BENCH_REPS after a warm-up);
#             then --pixels ocr once on BENCH_OCR_FILES (default 4) single-frame image files
#             of 100-600 KB (the first by path in MANIFEST.tsv; OCR takes seconds a file).
#   Orthanc:  the Debian package (1.10.x) started here as `Orthanc CONFIG.json` in a temporary
#             folder: HTTP on a free port, RemoteAccessAllowed false (it has no bind address
#             option: only loopback clients are answered), DicomServerEnabled false, its own
#             storage and index, no authentication, no plugins; stopped on exit.  The files
#             are uploaded first (POST /instances, not timed); then every instance is
#             anonymized with the body {} (the Basic Profile of Orthanc's default DICOM
#             version, private tags removed, pixels untouched: the closest to --pixels off),
#             the anonymized file read back and discarded.  Clients: curl with many URLs a
#             process (one kept-alive connection), as 2 processes run one after the other
#             (`xargs -P1`, "sequential") and at the same time (`xargs -P2`, "2 clients").
# Prints seconds, files/s and MB/s (MB = 10^6 input bytes), CPU seconds (user + system: of the
# last dcmvault run; of Orthanc's server per run plus its curl clients) and the ratios.  dcmvault
# writes each output and fsyncs it and its folder (durable outputs), Orthanc only returns it:
# on a busy disk dcmvault's wall time is mostly those fsyncs; CPU time shows the work.  A few
# outputs of each tool are read back with dcmdump (sanity, not timed).  Exits 0 unless the
# benchmark cannot run; a missing Orthanc skips its part.
# Environment: BENCH_REPS (at least 5 here), BENCH_OCR_FILES.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"

TARGET_RATIO=20
OCR_FILES=${BENCH_OCR_FILES:-4}
ORTHANC=${ORTHANC_BIN:-$(command -v Orthanc || echo /usr/sbin/Orthanc)}
W=$WORK/deid

echo "bench_deid: dcmvault deid vs Orthanc /anonymize, $(nproc) cores," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ! -x "$DVBIN" ]; then
  echo "bench_deid: $DVBIN is missing (make build/dcmvault)"
  exit 1
fi
if [ -z "$TESTDATA" ]; then
  echo "bench_deid: corpus absent (../shared/testdata/dicom): nothing measured"
  exit 0
fi
rm -rf "$W"
mkdir -p "$W"
(umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$W/key" && echo >>"$W/key")

OPID=""
TMPD=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  if [ -n "$OPID" ]; then
    kill "$OPID" 2>/dev/null
    wait "$OPID" 2>/dev/null
  fi
  [ -n "$TMPD" ] && rm -rf "$TMPD"
  rm -rf "$W"/out.* "$W/anon"
}
trap cleanup EXIT

# ---- the files ---------------------------------------------------------------------------
(cd "$TESTDATA" && find . -type f ! -path './malformed/*' ! -name 'DICOMDIR*' \
  ! -name MANIFEST.tsv ! -name 'README*' ! -name '*.txt' ! -name '*.json' |
  sed "s|^\./|$TESTDATA/|" | sort) >"$W/all"
mapfile -t all <"$W/all"

# dv_accepts: the files of $W/all that dcmvault deid writes (one batch; file by file after a
# failure, since a failed file is listed on stderr by path and the others are still written)
dv_accepts() {
  local f
  if "$DVBIN" deid "${all[@]}" -o "$W/out.check" --key-file "$W/key" --pixels off --jobs 2 \
    --quiet >/dev/null 2>"$W/dv_check.err"; then
    cat "$W/all"
    return
  fi
  for f in "${all[@]}"; do
    rm -rf "$W/out.one"
    "$DVBIN" deid "$f" -o "$W/out.one" --key-file "$W/key" --pixels off --jobs 1 --quiet \
      >/dev/null 2>&1 && echo "$f"
  done
}
dv_accepts >"$W/dv_ok"
dv_refused=$((${#all[@]} - $(wc -l <"$W/dv_ok")))

# ---- Orthanc -----------------------------------------------------------------------------
# free_port: a TCP port on 127.0.0.1 that nothing listens on now
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# orthanc_start: starts Orthanc in $TMPD and waits (<= 30 s) until /system answers
orthanc_start() {
  local i
  TMPD=$(mktemp -d "${TMPDIR:-/tmp}/bench_deid.XXXXXX") || return 1
  PORT=$(free_port) || return 1
  URL=http://127.0.0.1:$PORT
  mkdir -p "$TMPD/storage" "$TMPD/index" "$TMPD/tmp"
  cat >"$TMPD/orthanc.json" <<EOF
{
  "Name": "bench_deid",
  "StorageDirectory": "$TMPD/storage",
  "IndexDirectory": "$TMPD/index",
  "TemporaryDirectory": "$TMPD/tmp",
  "StorageCompression": false,
  "SyncStorageArea": false,
  "HttpServerEnabled": true,
  "HttpPort": $PORT,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "HttpCompressionEnabled": false,
  "KeepAlive": true,
  "TcpNoDelay": true,
  "DicomServerEnabled": false,
  "OrthancExplorerEnabled": false,
  "WebDavEnabled": false,
  "SaveJobs": false,
  "Plugins": [],
  "LuaScripts": []
}
EOF
  "$ORTHANC" "$TMPD/orthanc.json" >"$TMPD/orthanc.log" 2>&1 &
  OPID=$!
  for ((i = 0; i < 300; i++)); do
    if curl -sf "$URL/system" >"$TMPD/system.json" 2>/dev/null; then
      return 0
    fi
    kill -0 "$OPID" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# orthanc_load: uploads each dcmvault-accepted file (not timed), anonymizes it once (not timed:
# files Orthanc refuses are left out) and writes "path<TAB>id" lines to $W/both
orthanc_load() {
  local f id i=0 seen=" "
  mkdir -p "$W/anon"
  : >"$W/both"
  O_REFUSED=0 O_DUP=0
  while IFS= read -r f; do
    id=$(curl -sf -H 'Expect:' -X POST --data-binary "@$f" "$URL/instances" 2>/dev/null |
      sed -n 's/^ *"ID" *: *"\([^"]*\)".*/\1/p')
    if [ -z "$id" ]; then
      O_REFUSED=$((O_REFUSED + 1))
      continue
    fi
    case $seen in
      *" $id "*)
        O_DUP=$((O_DUP + 1))
        continue
        ;;
    esac
    seen="$seen$id "
    i=$((i + 1))
    if curl -sf -X POST -d '{}' -o "$W/anon/$i.dcm" "$URL/instances/$id/anonymize" 2>/dev/null; then
      printf '%s\t%s\n' "$f" "$id" >>"$W/both"
    else
      O_REFUSED=$((O_REFUSED + 1))
    fi
  done <"$W/dv_ok"
}

have_orthanc=0
if [ ! -x "$ORTHANC" ] || ! command -v curl >/dev/null; then
  echo "  Orthanc: not installed (bash scripts/deps.sh installs the Debian package orthanc):" \
    "its part is skipped"
elif ! orthanc_start; then
  echo "  Orthanc: did not start (log: $(tail -n 1 "$TMPD/orthanc.log" 2>/dev/null | cut -c1-120));" \
    "its part is skipped"
else
  have_orthanc=1
  over=$(sed -n 's/^ *"Version" *: *"\([^"]*\)".*/\1/p' "$TMPD/system.json" | head -n 1)
  orthanc_load
fi

if [ "$have_orthanc" -eq 1 ]; then
  cut -f1 "$W/both" >"$W/used"
  cut -f2 "$W/both" | sed "s|^|$URL/instances/|; s|\$|/anonymize|" >"$W/urls"
else
  cp "$W/dv_ok" "$W/used"
fi
mapfile -t files <"$W/used"
N=${#files[@]}
if [ "$N" -eq 0 ]; then
  echo "bench_deid: no file is accepted by both tools; nothing measured"
  exit 1
fi
bytes=$(stat -c %s "${files[@]}" | awk '{ s += $1 } END { print s + 0 }')
note="$dv_refused refused by dcmvault"
if [ "$have_orthanc" -eq 1 ]; then
  note="$note, $O_REFUSED by Orthanc $over, $O_DUP duplicate SOP Instance UIDs"
fi
# the runs take well under a second: at least 5 of them for the median (the machine is shared)
REPS=$((REPS > 5 ? REPS : 5))
echo "  files: $N of ${#all[@]} corpus files used ($note), $(mb "$bytes") MB; median of $REPS" \
  "runs after a warm-up"

# rate SECS: "files/s MB/s" for the N files of $bytes bytes
rate() {
  awk -v s="$1" -v n="$N" -v b="$bytes" \
    'BEGIN { if (s > 0) printf "%.1f %.1f", n / s, b / s / 1e6; else print "- -" }'
}
row() {
  local r
  if [ "$B_RC" -ne 0 ]; then
    printf '  %-38s %10s %10s %10s %8s\n' "$1" failed - - -
    return
  fi
  read -r -a r <<<"$(rate "$B_SECS")"
  printf '  %-38s %10.3f %10s %10s %8s\n' "$1" "$B_SECS" "${r[0]}" "${r[1]}" "${2:-n/a}"
}
# last_cpu: user + system seconds of the last measured run (its child processes included)
last_cpu() {
  awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.3f", s }' "$WORK/last.time" \
    2>/dev/null
}
# orthanc_ticks: CPU clock ticks (user + system) the Orthanc server has used so far
orthanc_ticks() { awk '{ print $14 + $15 }' "/proc/$OPID/stat" 2>/dev/null || echo 0; }
printf '  %-38s %10s %10s %10s %8s\n' tool seconds files/s MB/s "CPU s"

# ---- dcmvault ----------------------------------------------------------------------------
# dv_once.sh JOBS: one run into a fresh OUT, made before timing (out.JOBS.N for run N)
for j in 1 2; do
  for ((i = 0; i <= REPS; i++)); do mkdir -p "$W/out.$j.$i"; done
  echo 0 >"$W/counter.$j"
done
cat >"$W/dv_once.sh" <<EOF
n=\$(cat "$W/counter.\$1")
echo \$((n + 1)) >"$W/counter.\$1"
mapfile -t files <"$W/used"
exec "$DVBIN" deid "\${files[@]}" -o "$W/out.\$1.\$n" --key-file "$W/key" --pixels off \\
  --jobs "\$1" --quiet
EOF
bench_cmd dcmvault "$bytes" bash "$W/dv_once.sh" 2
row "dcmvault deid --pixels off -j2" "$(last_cpu)"
[ "$B_RC" -ne 0 ] && echo "  dcmvault deid failed (exit $B_RC): $(first_err)"
dv_secs=$B_SECS
[ "$B_RC" -eq 0 ] || dv_secs=""
# context: one thread, as Orthanc's "sequential" row has one client
bench_cmd dcmvault "$bytes" bash "$W/dv_once.sh" 1
row "dcmvault deid --pixels off -j1" "$(last_cpu)"
dv1_secs=$B_SECS
[ "$B_RC" -eq 0 ] || dv1_secs=""

# ---- Orthanc -----------------------------------------------------------------------------
or1_secs="" or2_secs=""
if [ "$have_orthanc" -eq 1 ]; then
  half=$(((N + 1) / 2))
  cat >"$W/or_run.sh" <<EOF
# \$1: parallel clients; each curl posts to its URLs over one connection, output discarded
xargs -P "\$1" -n "$half" curl -sS -X POST -d '{}' <"$W/urls"
EOF
  # CPU: the server's ticks over all runs / runs, plus the clients' CPU in the last run
  hz=$(getconf CLK_TCK)
  or_cpu() {
    awk -v a="$1" -v b="$(orthanc_ticks)" -v hz="$hz" -v n="$((REPS + 1))" -v c="$(last_cpu)" \
      'BEGIN { printf "%.3f", (b - a) / hz / n + c }'
  }
  t0=$(orthanc_ticks)
  bench_cmd orthanc "$bytes" bash "$W/or_run.sh" 1
  row "Orthanc $over anonymize, sequential" "$(or_cpu "$t0")"
  [ "$B_RC" -eq 0 ] && or1_secs=$B_SECS
  t0=$(orthanc_ticks)
  bench_cmd orthanc "$bytes" bash "$W/or_run.sh" 2
  row "Orthanc $over anonymize, 2 clients" "$(or_cpu "$t0")"
  [ "$B_RC" -eq 0 ] && or2_secs=$B_SECS
  # the ratio of files/s is the inverse ratio of the times
  echo "  ratio dcmvault -j2 / Orthanc files/s: $(ratio "$or1_secs" "$dv_secs")x sequential," \
    "$(ratio "$or2_secs" "$dv_secs")x 2 clients (target >= ${TARGET_RATIO}x)"
  echo "  ratio dcmvault -j1 / Orthanc sequential files/s: $(ratio "$or1_secs" "$dv1_secs")x (context)"
else
  echo "  ratio dcmvault/Orthanc: - (Orthanc skipped)"
fi

# ---- dcmvault with OCR on a few image files ----------------------------------------------
awk -F'\t' 'NR > 1 && $1 !~ /^malformed\// && $9 ~ /BA=(8|16)/ && $9 !~ /NF=/ &&
  $10 >= 100000 && $10 <= 600000 { print $1 }' "$TESTDATA/MANIFEST.tsv" | sort |
  while IFS= read -r p; do grep -qxF "$TESTDATA/$p" "$W/used" && echo "$TESTDATA/$p"; done |
  head -n "$OCR_FILES" >"$W/ocr"
mapfile -t ocr <"$W/ocr"
if [ "${#ocr[@]}" -gt 0 ]; then
  obytes=$(stat -c %s "${ocr[@]}" | awk '{ s += $1 } END { print s + 0 }')
  mkdir -p "$W/out.ocr"
  measure "$DVBIN" deid "${ocr[@]}" -o "$W/out.ocr" --key-file "$W/key" --pixels ocr --jobs 2 --quiet
  if [ "$M_RC" -eq 0 ]; then
    echo "  dcmvault deid --pixels ocr -j2 (one run): ${#ocr[@]} image files, $(mb "$obytes") MB," \
      "$(awk -v s="$M_SECS" -v n="${#ocr[@]}" -v b="$obytes" \
        'BEGIN { printf "%.3f s, %.2f files/s, %.2f MB/s", s, n / s, b / s / 1e6 }')"
  else
    echo "  dcmvault deid --pixels ocr failed (exit $M_RC): $(first_err)"
  fi
  echo "  ocr files: $(sed "s|^$TESTDATA/||" "$W/ocr" | tr '\n' ' ')"
fi

# ---- sanity: outputs parse with dcmdump (not timed) ---------------------------------------
if command -v dcmdump >/dev/null; then
  mapfile -t dvo < <(find "$W/out.2.0" -name '*.dcm' | sort | awk 'NR == 1 || NR % 50 == 0' | head -n 4)
  ok=0
  for f in "${dvo[@]}"; do dcmdump -q "$f" >/dev/null 2>&1 && ok=$((ok + 1)); done
  line="  sanity: dcmdump reads $ok/${#dvo[@]} dcmvault outputs"
  if [ "$have_orthanc" -eq 1 ]; then
    mapfile -t oro < <(find "$W/anon" -name '*.dcm' | sort | awk 'NR == 1 || NR % 50 == 0' | head -n 4)
    ok=0
    for f in "${oro[@]}"; do dcmdump -q "$f" >/dev/null 2>&1 && ok=$((ok + 1)); done
    line="$line, $ok/${#oro[@]} Orthanc outputs"
  fi
  echo "$line"
fi
echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
