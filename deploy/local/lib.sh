# Shared helpers for the native local services. Sourced by deploy/local/*.sh; not run.
# Layout: every component keeps data, log and pid under $STATE/<component>/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CONFIG_FILE="${CQRS_CONFIG:-$ROOT/configs/config.yaml}"
PY="${CQRS_TOOLS_PYTHON:-$ROOT/.state/tools/bin/python}"
[ -x "$PY" ] || PY=python3

# cfg KEY.PATH DEFAULT: a value from configs/config.yaml (lists give their first item).
cfg() {
  "$PY" - "$CONFIG_FILE" "$1" "$2" <<'PYEOF'
import sys, yaml
path, key, default = sys.argv[1], sys.argv[2], sys.argv[3]
node = yaml.safe_load(open(path)) or {}
for part in key.split("."):
    node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        print(default); sys.exit(0)
print(node[0] if isinstance(node, list) else node)
PYEOF
}

STATE="${CQRS_STATE_DIR:-$ROOT/$(cfg local.state_dir .state)}"

log() { printf '[%s] %s\n' "${COMPONENT:-infra}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Per-component folders: comp_dir NAME -> $STATE/NAME (created).
comp_dir() { mkdir -p "$STATE/$1" && printf '%s' "$STATE/$1"; }
pid_file() { printf '%s/%s.pid' "$(comp_dir "$1")" "$1"; }
log_file() { printf '%s/%s.log' "$(comp_dir "$1")" "$1"; }

# is_running NAME: true when the pid file names a live process.
is_running() {
  local pf; pf="$(pid_file "$1")"
  [ -f "$pf" ] && kill -0 "$(cat "$pf")" 2>/dev/null
}

# start_daemon NAME CMD...: start CMD in the background (own session), log to the
# component log, record its pid. The command must stay in the foreground itself.
start_daemon() {
  local name="$1"; shift
  local lf; lf="$(log_file "$name")"
  setsid "$@" >>"$lf" 2>&1 < /dev/null &
  echo $! > "$(pid_file "$name")"
}

# stop_daemon NAME [SECONDS]: TERM, wait, then KILL; removes the pid file.
stop_daemon() {
  local name="$1" wait_s="${2:-30}" pf pid i
  pf="$(pid_file "$name")"
  [ -f "$pf" ] || return 0
  pid="$(cat "$pf")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < wait_s * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pf"
}

# wait_ready NAME SECONDS CHECK...: poll CHECK until it succeeds; on timeout name
# the component, show the tail of its log and fail.
wait_ready() {
  local name="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "ERROR: $name did not become ready within ${timeout}s; last lines of $(log_file "$name"):"
      tail -n 40 "$(log_file "$name")" >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

# apt_install PKG...: install Debian packages that are missing (apt-get update once).
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]} from Debian's packages"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if [ ! -f "$STATE/.apt-updated" ]; then $sudo apt-get update -qq && mkdir -p "$STATE" && touch "$STATE/.apt-updated"; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 \
    -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
