#!/usr/bin/env bash
# The browser of the console's tests (tests/browser): Debian's chromium, headless, with
# fonts, installed when missing (Playwright drives it; it never downloads a browser).
# ./browser-tools.sh install|status
COMPONENT=browser-tools
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install() {
  command -v chromium >/dev/null || apt_install chromium fonts-dejavu-core
  command -v chromium >/dev/null || die "chromium not found after install"
}
status() { command -v chromium >/dev/null; }

"${1:-install}"
