#!/usr/bin/env bash
# Redis from Debian's packages on 127.0.0.1: ./redis.sh install|start|stop|status
COMPONENT=redis
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PORT="${REDIS_PORT:-$(cfg redis.url redis://127.0.0.1:6379/0 | sed -E 's#.*:([0-9]+)(/.*)?$#\1#')}"
DIR="$(comp_dir redis)"

install() { command -v redis-server >/dev/null || apt_install redis-server redis-tools; }
ready() { [ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = "PONG" ]; }

start() {
  install
  if is_running redis && ready; then log "already up on 127.0.0.1:$PORT"; return 0; fi
  ready && die "port $PORT answers but was not started by these scripts; stop it or set REDIS_PORT"
  mkdir -p "$DIR/data"
  start_daemon redis redis-server --bind 127.0.0.1 --port "$PORT" --dir "$DIR/data" \
    --appendonly yes --appendfsync everysec --save "" --daemonize no --protected-mode yes
  wait_ready redis 30 ready
}

stop() { is_running redis && log "stopping"; stop_daemon redis; }
status() { is_running redis && ready; }

"${1:-status}"
