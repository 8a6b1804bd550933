#!/usr/bin/env bash
# Idempotent machine setup: Debian packages the dialer and its tests need, then a
# virtualenv in .venv with the pinned Python dependencies and the project itself.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  sip-tester   # SIPp: callee, carrier and load generator in tests and benchmarks
  baresip      # an agent's softphone in tests
  kamailio     # registrar and proxy with digest auth in tests
  espeak-ng    # the embedded offline TTS engine
  flite        # more voices for the answering-machine corpus (bench/amd_corpus)
  festival festvox-kallpc16k festvox-us-slt-hts  # and more again
  sox          # audio checks in tests
  chromium     # the agent console's browser in tests (Playwright drives it; never `playwright install`)
  python3-venv
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-lock
if [ ! -f "$stamp" ] || ! cmp -s requirements.lock "$stamp"; then
  echo "setup: installing pinned Python dependencies"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.lock
  cp requirements.lock "$stamp"
fi
.venv/bin/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . >/dev/null
