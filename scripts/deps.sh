#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages that dcmvault needs to build, test and benchmark.
# Idempotent: when every package is present it returns without touching apt.
set -euo pipefail

PKGS=(
  # build
  build-essential pkg-config clang libclang-rt-14-dev python3
  clang-format clang-tidy cppcheck
  # libraries
  libsodium-dev libsqlite3-dev zlib1g-dev libjpeg62-turbo-dev libopenjp2-7-dev
  libcharls-dev libpng-dev libcmocka-dev libinih-dev libssl-dev libfreetype-dev
  fonts-dejavu-core fonts-wqy-microhei
  # real peers used by the tests
  dcmtk dicom3tools libopenjp2-tools
  time # /usr/bin/time -v: peak RSS in bench/bench_parse.sh
  pngcheck libjpeg-turbo-progs  # render tests: independent PNG checker, djpeg
  rsyslog rsyslog-gnutls libxml2-utils  # audit tests: TLS syslog collector, xmllint --schema
  liboath-dev oathtool cracklib-runtime  # access: TOTP (liboath), its real peer, word list source
  libtesseract-dev libleptonica-dev tesseract-ocr-eng tesseract-ocr-chi-sim  # deid: burned-in text OCR
  imagemagick python3-numpy python3-pil  # deid/mark tests: attacks and generated images
  poppler-utils  # print tests: pdfinfo, pdftotext, pdfimages read the films back
  orthanc  # bench/bench_deid.sh: Orthanc 1.10's /anonymize, the de-identification peer
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
