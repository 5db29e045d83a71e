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
  # Quiet: pip's own output goes to a log file (shown only when the install fails).
  .venv/bin/pip install -q -e "$spec" >.venv/pip-install.log 2>&1 || { tail -40 .venv/pip-install.log; exit 1; }
  touch "$stamp"
fi

# axe-core (npm), the accessibility checker the browser test runs inside each page (tests/test_web_browser.py):
# fetched here, never at test time. `npm pack` downloads the one package tarball; only axe.min.js is kept.
AXE_VERSION="4.10.3"
AXE=".venv/share/axe-core/axe.min.js"
if { [ "$extra" = test ] || [ "$extra" = bench ]; } && [ ! -f "$AXE" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if ! command -v npm >/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
  fi
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "axe-core@${AXE_VERSION}" >/dev/null)
  tar -xzf "$tmp/axe-core-${AXE_VERSION}.tgz" -C "$tmp" package/axe.min.js package/LICENSE
  mkdir -p "$(dirname "$AXE")"
  cp "$tmp/package/axe.min.js" "$tmp/package/LICENSE" "$(dirname "$AXE")/"
  rm -rf "$tmp"
fi
