#!/usr/bin/env bash
# The load generator of `just bench`: wrk from Debian's packages (installed when missing).
# ./bench-tools.sh install|status
COMPONENT=bench-tools
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install() { command -v wrk >/dev/null || apt_install wrk; command -v wrk >/dev/null || die "wrk not found after install"; }
status() { command -v wrk >/dev/null; }

"${1:-install}"
