#!/usr/bin/env bash
# Install the headless browser that tests/test_site.py drives (Debian's chromium and its driver),
# unless both are already there. Test tools cannot download browsers here; the system package can.
# Quiet and non-interactive; needs root or sudo.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null; then
  as_root=(sudo)
else
  echo "install_browser.sh: need root or sudo to install chromium and chromium-driver" >&2
  exit 1
fi
# `env` after sudo: sudo drops the caller's environment. fonts-liberation gives the pages real
# glyphs in screenshots (it is only a recommendation of chromium, which we do not install).
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o Dpkg::Use-Pty=0)
"${apt[@]}" update >/dev/null
"${apt[@]}" install -y --no-install-recommends chromium chromium-driver fonts-liberation >/dev/null
echo "install_browser.sh: installed $(/usr/bin/chromedriver --version)"
