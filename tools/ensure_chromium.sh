#!/bin/sh
# Headless Chromium for tests/integration/test_html_report.py (the HTML report, opened with the network off):
# Debian's `chromium` package, installed with apt-get when it is missing (as root, or through sudo without a
# password). CHROMIUM=/path/to/chrome uses another browser and installs nothing.
#   tools/ensure_chromium.sh            make setup: install if missing; a warning if it cannot be installed
#   tools/ensure_chromium.sh --required make test: the same, but exit 1 if there is still no browser
required=${1:-}
found() {
    if [ -n "${CHROMIUM:-}" ]; then [ -x "$CHROMIUM" ]; return; fi
    command -v chromium >/dev/null 2>&1
}
fail() {
    if [ "$required" = "--required" ]; then echo "setup: $1" >&2; exit 1; fi
    echo "setup: warning: $1 (make test needs it)" >&2; exit 0
}
found && exit 0
[ -n "${CHROMIUM:-}" ] && fail "CHROMIUM=$CHROMIUM is not an executable file"
command -v apt-get >/dev/null 2>&1 || fail "chromium is not installed and there is no apt-get: install Chromium and set CHROMIUM=/path/to/it"
if [ "$(id -u)" -eq 0 ]; then sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"
else fail "chromium is not installed and apt-get needs root: run \`sudo apt-get install chromium\`"
fi
echo "setup: installing chromium (Debian package, for the HTML report test) with apt-get"
install() { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null; }
install || { $sudo apt-get update -q >/dev/null && install; } || fail "apt-get could not install chromium"
found || fail "apt-get installed chromium but it is not on PATH"
