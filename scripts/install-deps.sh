#!/usr/bin/env bash
# Installs what sohoa needs on a fresh Debian machine, skipping what is already there.
# Usage: scripts/install-deps.sh [test|bench|docs]   (extras for the venv; default: none)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_RUNTIME=(tesseract-ocr tesseract-ocr-vie tesseract-ocr-script-viet libgs-common fonts-dejavu-core fonts-liberation2)  # fonts: the signature box and "BẢN SAO" (sign/)
APT_TEST=(libpdfbox2-java libactivation-java libjaxb-api-java default-jre-headless
          poppler-utils redis-server postgresql fonts-dejavu-core fonts-liberation2 fonts-noto-core
          chromium chromium-driver softhsm2)  # the web test drives a real headless browser
APT_BENCH=(ghostscript qpdf)  # OCRmyPDF, the bench anchor

extra="${1:-}"
want=("${APT_RUNTIME[@]}")
case "$extra" in
  test) want+=("${APT_TEST[@]}") ;;
  bench) want+=("${APT_TEST[@]}" "${APT_BENCH[@]}") ;;
  docs) want=() ;;  # building the site needs no Debian package, only the pip extra
esac

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "apt-get install: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
stamp=".venv/.installed-${extra:-base}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  spec="."; [ -n "$extra" ] && spec=".[${extra}]"
  .venv/bin/pip install -q -e "$spec"
  touch "$stamp"
fi
