#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test_audit_syslog.sh - forwarding to a real rsyslog (Debian rsyslog + rsyslog-gnutls) over TLS
# with RFC 5425 framing, on 127.0.0.1: events arrive parsed as RFC 5424 (rsyslog fills its
# structured-data property); stop rsyslog, generate events, start it again: every event arrives,
# none twice; the log's own forwarder thread delivers too.  rsyslog runs in the foreground as a
# child of this script, with its own config, work folder and pid file, and is killed on exit.
source "$(dirname "$0")/lib.sh"

if ! command -v rsyslogd >/dev/null || [ ! -f /usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so ]; then
  skip "syslog over TLS" "rsyslog or rsyslog-gnutls is not installed (scripts/deps.sh)"
  done_testing
fi
RS=$TMP/rsyslog
mkdir -p "$RS/work"
RSPID=""
stop_rsyslog() {
  if [ -n "$RSPID" ]; then
    kill "$RSPID" 2>/dev/null
    wait "$RSPID" 2>/dev/null
    RSPID=""
  fi
}
trap 'stop_rsyslog; rm -rf "$TMP"' EXIT

# ---- a CA and a server certificate for 127.0.0.1 ------------------------------------------------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dcmvault test CA" \
  -keyout "$RS/ca.key" -out "$RS/ca.pem" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$RS/server.key" \
  -out "$RS/server.csr" >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$RS/ext"
openssl x509 -req -in "$RS/server.csr" -CA "$RS/ca.pem" -CAkey "$RS/ca.key" -CAcreateserial \
  -days 2 -extfile "$RS/ext" -out "$RS/server.pem" >/dev/null 2>&1
check "a CA and a server certificate for 127.0.0.1" test -s "$RS/server.pem"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cat >"$RS/rsyslog.conf" <<EOF
global(workDirectory="$RS/work"
       DefaultNetstreamDriver="gtls"
       DefaultNetstreamDriverCAFile="$RS/ca.pem"
       DefaultNetstreamDriverCertFile="$RS/server.pem"
       DefaultNetstreamDriverKeyFile="$RS/server.key")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" port="$PORT" address="127.0.0.1")
template(name="audit" type="string" string="%app-name% %msgid% %structured-data%\n")
action(type="omfile" file="$RS/out.log" template="audit")
EOF

start_rsyslog() {
  rsyslogd -n -f "$RS/rsyslog.conf" -i "$RS/rsyslog.pid" >>"$RS/rsyslog.stdout" 2>&1 &
  RSPID=$!
  for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2).close()" \
      2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# wait_lines N: until out.log holds at least N lines (10 s at most)
wait_lines() {
  for _ in $(seq 1 100); do
    [ "$(cat "$RS/out.log" 2>/dev/null | wc -l)" -ge "$1" ] && return 0
    sleep 0.1
  done
  return 1
}

K=$TMP/keys
L=$TMP/log
mkdir -p "$K"
"$DV" audit keygen --name syslog.test/audit --out-secret "$K/sk" --out-pubkey "$K/pk"
STUDY=$(printf '%064x' 4242)
append() {
  "$DV" audit append --log "$L" --secret "$K/sk" --action "$1" --actor "alice" \
    --role radiologist --purpose TREAT --client 10.0.0.5 --object study:"$STUDY" --count "$2" "${@:3}" >/dev/null
}
fwd() { "$DV" audit forward --log "$L" --to "tls://127.0.0.1:$PORT" --ca "$RS/ca.pem"; }

check "rsyslog starts with the gtls driver on 127.0.0.1:$PORT" start_rsyslog
append view 20
fwd >"$TMP/fwd1" 2>&1
check "forward sends 20 entries: $(cat "$TMP/fwd1")" grep -q "forwarded 20 entries; next 20" "$TMP/fwd1"
check "rsyslog wrote 20 messages" wait_lines 20
check "rsyslog parsed them as RFC 5424 with our structured data" \
  grep -q '^dcmvault view \[dcmvault@32473 seq="0" origin="syslog.test/audit" action="view" eventID="110103" outcome="0" actor="alice"' "$RS/out.log"
check "the structured data names the study by pseudonym only" grep -q "obj=\"study:$STUDY\"" "$RS/out.log"

stop_rsyslog
append export 30
if fwd >"$TMP/fwd2" 2>&1; then
  fail "forward fails while the collector is down"
else
  ok "forward fails while the collector is down: $(head -c 120 "$TMP/fwd2")"
fi
check "the spool state still says 20" grep -qx "next 20" "$L"/forward-127.0.0.1-"$PORT".state

check "rsyslog starts again" start_rsyslog
fwd >"$TMP/fwd3" 2>&1
check "forward sends the 30 spooled entries: $(cat "$TMP/fwd3")" grep -q "forwarded 30 entries; next 50" "$TMP/fwd3"
check "rsyslog holds 50 messages" wait_lines 50
fwd >"$TMP/fwd4" 2>&1
check "a second forward sends nothing" grep -q "forwarded 0 entries; next 50" "$TMP/fwd4"

# the log's own forwarder thread: appends with --to, delivered by the time the log closes
append login 5 --to "tls://127.0.0.1:$PORT" --ca "$RS/ca.pem"
check "the log's forwarder thread delivered 5 more" wait_lines 55
stop_rsyslog
python3 - "$RS/out.log" >"$TMP/count.out" 2>&1 <<'EOF'
import re, sys
seqs = [int(m.group(1)) for m in re.finditer(r'seq="(\d+)"', open(sys.argv[1]).read())]
assert sorted(seqs) == list(range(55)), (len(seqs), sorted(set(range(55)) - set(seqs)))
print("exactly once")
EOF
check "every sequence number 0..54 arrived exactly once: $(cat "$TMP/count.out" | tail -n 1)" \
  grep -q "exactly once" "$TMP/count.out"

# the log's own forwarder thread across an outage: a short-lived process appends while the
# collector is down and closes (the entries stay in the log, the spool, and the state does not
# move); the next process's thread sends the spool first, then its own entries, each once
append view 3 --to "tls://127.0.0.1:$PORT" --ca "$RS/ca.pem"
check "appending works while the forwarder thread cannot reach the collector" test $? -eq 0
check "the thread left the spool state at 55" grep -qx "next 55" "$L"/forward-127.0.0.1-"$PORT".state
check "rsyslog starts once more" start_rsyslog
append view 2 --to "tls://127.0.0.1:$PORT" --ca "$RS/ca.pem"
check "the next process's thread delivered the 3 spooled and its 2 new entries" wait_lines 60
check "the spool state says 60 after that process closed" \
  grep -qx "next 60" "$L"/forward-127.0.0.1-"$PORT".state
stop_rsyslog
python3 - "$RS/out.log" >"$TMP/count2.out" 2>&1 <<'EOF'
import re, sys
seqs = [int(m.group(1)) for m in re.finditer(r'seq="(\d+)"', open(sys.argv[1]).read())]
assert sorted(seqs) == list(range(60)), (len(seqs), sorted(set(range(60)) - set(seqs)))
print("exactly once")
EOF
check "every sequence number 0..59 arrived exactly once: $(tail -n 1 "$TMP/count2.out")" \
  grep -q "exactly once" "$TMP/count2.out"

# ---- a vault configured to forward ([audit] syslog = tls://...) ---------------------------------
# `dcmvault audit forward --vault DIR` sends the vault's log to the collector its config names;
# vault operations never wait on the network, and the log itself is the spool.
if [ -n "$TESTDATA" ]; then
  mv "$RS/out.log" "$RS/out.standalone.log"
  V=$TMP/vault
  "$DV" init "$V" >"$TMP/vinit.out" 2>&1
  # vault commands need a session: an administrator and a technologist (vault_access.sh)
  source "$ROOT/tests/integration/vault_access.sh"
  check "log in (administrator, technologist)" access_setup "$V" "$TMP/vinit.out"
  printf '\n[audit]\nsyslog = tls://127.0.0.1:%s\nca = %s\n' "$PORT" "$RS/ca.pem" >>"$V/dcmvault.conf"
  "$DV" import --vault "$V" "$TESTDATA/pydicom/CT_small.dcm" >/dev/null 2>&1
  check "the vault works with forwarding configured and the collector down" test $? -eq 0
  vfwd() { "$DV" audit forward --vault "$V"; }
  vfwd >"$TMP/vf1" 2>&1
  check "forward --vault fails while the collector is down" test $? -ne 0
  check "rsyslog starts for the vault" start_rsyslog
  vfwd >"$TMP/vf2" 2>&1
  check "forward --vault sends the spooled events: $(cat "$TMP/vf2")" grep -q 'forwarded [1-9]' "$TMP/vf2"
  "$DV" find --vault "$V" --modality CT >/dev/null 2>&1
  vfwd >"$TMP/vf3" 2>&1
  total=$("$DV" audit show --log "$V/audit" | wc -l)
  check "the second forward sends only the new events: $(cat "$TMP/vf3")" \
    grep -q "next $total\$" "$TMP/vf3"
  check "rsyslog holds every vault event" wait_lines "$total"
  python3 - "$RS/out.log" >"$TMP/vcount.out" 2>&1 <<'PY'
import re, sys
text = open(sys.argv[1]).read()
seqs = [int(m.group(1)) for m in re.finditer(r'seq="(\d+)" origin="dcmvault/', text)]
print(len(seqs), len(set(seqs)), max(seqs) if seqs else -1)
PY
  read -r got uniq last <"$TMP/vcount.out"
  check "each of the vault's $total events arrived exactly once ($got)" \
    test "$got" = "$uniq" -a "$got" -eq "$((last + 1))" -a "$got" -eq "$total"
  check "the collector got the vault's import and query events" \
    bash -c "grep -q '^dcmvault import' '$RS/out.log' && grep -q '^dcmvault query' '$RS/out.log'"
  stop_rsyslog
else
  skip "vault forwarding" "../shared/testdata/dicom is absent"
fi

done_testing
