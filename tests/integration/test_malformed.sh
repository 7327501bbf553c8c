#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every file in malformed/ gets the outcome written here, exit code and message, under ASan:
# a clean error that names the offset, tag and rule, or (for files that are merely odd) a
# successful read with the warning that names what is wrong.  Nothing crashes or hangs.
source "$(dirname "$0")/lib.sh"
need_testdata "malformed inputs"
M=$TESTDATA/malformed

# expect CMD FILE RC MESSAGE: runs `$DV CMD FILE` and checks exit code and a stderr substring
expect() {
  local cmd=$1 rel=$2 rc=$3 msg=$4 out got
  if [ ! -f "$M/$rel" ]; then skip "$cmd $rel" "file absent"; return; fi
  if [ "$cmd" = pixels ]; then
    out=$(timeout 60 "$DV" pixels "$M/$rel" -o "$TMP/p.raw" 2>&1 >/dev/null); got=$?
  else
    out=$(timeout 60 "$DV" dump "$M/$rel" 2>&1 >/dev/null); got=$?
  fi
  if [ "$got" -ne "$rc" ]; then
    fail "$cmd $rel: exit $got, expected $rc: $(printf '%s' "$out" | head -c 300)"
  elif [ -n "$msg" ] && ! printf '%s' "$out" | grep -qF -- "$msg"; then
    fail "$cmd $rel: message lacks '$msg': $(printf '%s' "$out" | head -c 300)"
  elif printf '%s' "$out" | grep -q 'Sanitizer'; then
    fail "$cmd $rel: sanitizer report"
  else
    ok "$cmd $rel: exit $rc${msg:+, '$msg'}"
  fi
  rm -f "$TMP/p.raw"
}

expect dump orthanc-tests/2026-05-06-Deeply-Nested-Sequence.dcm 1 \
  "limit exceeded: sequences nested deeper than 32 at offset 1134, tag (7777,0001)"
expect dump pydicom-data/emri_small_jpeg_2k_lossless_too_short.dcm 1 \
  "truncated input: input ends inside encapsulated pixel data at offset 40316, tag (7FE0,0010)"
expect dump pydicom/SC_rgb_jpeg.dcm 1 \
  "malformed input: explicit VR expected, found bytes 0x18 0x00 at offset 356, tag (0008,0008)"
expect dump pydicom/no_meta.dcm 1 \
  "truncated input: value length 173228800 passes the 38863 bytes left at offset 0, tag (0820,0500)"
expect dump pydicom/rtplan_truncated.dcm 1 \
  "truncated input: value length 976 passes the 711 bytes left at offset 1410, tag (300A,00B0)"
expect dump pydicom/meta_missing_tsyntax.dcm 0 \
  "warning: no transfer syntax, guessed Little Endian Implicit at offset 202, tag (0002,0010)"
expect dump pynetdicom/CTImageStorage_bad_meta.dcm 0 \
  "warning: file meta group lacks a required element at offset 132, tag (0002,0002)"
expect dump orthanc-tests/2026-05-26-oob-monochrome-65535.dcm 0 \
  "warning: file meta group lacks a required element at offset 132, tag (0002,0001)"
# readable without a meta group (the encoding is recognised from the first element)
expect dump pydicom/ExplVR_BigEndNoMeta.dcm 0 ""
expect dump pydicom/ExplVR_LitEndNoMeta.dcm 0 ""
expect dump pydicom/no_meta_group_length.dcm 0 ""
expect dump pydicom/badVR.dcm 0 ""
expect dump pydicom/JPEG2000-embedded-sequence-delimiter.dcm 0 ""
expect dump fo-dicom/GH177_D_CLUNIE_CT1_IVRLE_BigEndian_undefined_length.dcm 0 ""
expect dump fo-dicom/GH177_D_CLUNIE_CT1_IVRLE_BigEndian_ELE_undefinded_length.dcm 0 ""
# the pixel level
expect pixels orthanc-tests/2026-05-26-oob-monochrome-65535.dcm 1 \
  "limit exceeded: decoded frame larger than 1 GiB at tag (7FE0,0010)"
expect pixels pydicom/JPEG2000-embedded-sequence-delimiter.dcm 1 \
  "pixel codec error: JPEG 2000: cannot read the codestream header"
expect pixels pydicom/badVR.dcm 1 \
  "malformed input: pixel attribute is not a number in 1..2147483647 at tag (0028,0008)"
expect pixels pydicom/meta_missing_tsyntax.dcm 1 \
  "malformed input: required pixel attribute missing at tag (0028,0010)"
expect pixels fo-dicom/GH177_D_CLUNIE_CT1_IVRLE_BigEndian_undefined_length.dcm 0 ""

# no malformed file is left unlisted
while IFS= read -r f; do
  rel=${f#"$M"/}
  if ! grep -qF -- "$rel" "$0"; then fail "malformed/$rel has no expected outcome in this test"; fi
done < <(find "$M" -type f)
done_testing
