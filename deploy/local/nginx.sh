#!/usr/bin/env bash
# The nginx gateway on 127.0.0.1: ./nginx.sh install|start|stop|status|reload
# Renders deploy/gateway/nginx.conf.template into $STATE/nginx/nginx.conf and runs it as
# a private instance. Env COMMAND_UPSTREAMS, QUERY_UPSTREAMS, PROJECTOR_UPSTREAMS (blocks
# of `server host:port;` lines) override the default service addresses below; CONSOLE_DIR
# the console's folder (console/ in this repository).
COMPONENT=nginx
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PATH="$PATH:/usr/sbin"
PORT="${GATEWAY_PORT:-$(cfg local.gateway_port 8080)}"
DIR="$(comp_dir nginx)"
CONF="$DIR/nginx.conf"
TEMPLATE="$ROOT/deploy/gateway/nginx.conf.template"
NL=$'\n        '

install() {
  command -v nginx >/dev/null && command -v envsubst >/dev/null && return 0
  apt_install nginx gettext-base
  # The package's postinst may have started the system nginx on port 80: stop exactly that one.
  local pid; pid="$(cat /run/nginx.pid 2>/dev/null)" || return 0
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping the system nginx the package started (pid $pid)"
    kill -QUIT "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
}

ready() {
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/gateway/health"
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'GET /gateway/health HTTP/1.0\r\n\r\n' >&3 \
      && head -n 1 <&3 | grep -q ' 200 ')
  fi
}

# render: template -> $CONF, checked by nginx -t before it replaces the previous one.
render() {
  mkdir -p "$DIR/tmp"
  GATEWAY_LISTEN="127.0.0.1:$PORT" STATE_DIR="$DIR" \
    COMMAND_UPSTREAMS="${COMMAND_UPSTREAMS:-server 127.0.0.1:8001;}" \
    QUERY_UPSTREAMS="${QUERY_UPSTREAMS:-server 127.0.0.1:8002;${NL}server 127.0.0.1:8003;}" \
    PROJECTOR_UPSTREAMS="${PROJECTOR_UPSTREAMS:-server 127.0.0.1:8004;}" \
    CONSOLE_DIR="${CONSOLE_DIR:-$ROOT/console}" \
    envsubst "\${GATEWAY_LISTEN} \${COMMAND_UPSTREAMS} \${QUERY_UPSTREAMS} \${PROJECTOR_UPSTREAMS} \${STATE_DIR} \${CONSOLE_DIR}" \
    < "$TEMPLATE" > "$CONF.new"
  nginx -t -q -p "$DIR" -c "$CONF.new" -e "$DIR/nginx.log" || die "rendered config is invalid; see $CONF.new"
  mv "$CONF.new" "$CONF"
}

# Workers run as whoever started the gateway: started as root, nginx would hand them to
# `nobody`, who cannot read the console's files in a checkout that is not world-readable
# (a clone in a mktemp folder is 0700).
as_user() { [ "$(id -u)" -eq 0 ] && echo " user root;"; return 0; }

start() {
  install
  if is_running nginx; then wait_ready nginx 30 ready; log "already up on 127.0.0.1:$PORT"; return 0; fi
  port_open "$PORT" && die "port $PORT answers but was not started by these scripts; stop it or set GATEWAY_PORT"
  render
  start_daemon nginx nginx -p "$DIR" -c "$CONF" -e "$DIR/nginx.log" -g "daemon off;$(as_user)"
  wait_ready nginx 30 ready
}

# reload: re-render and tell our master to re-read it (what nginx -s reload sends).
reload() {
  is_running nginx || die "not running; use start"
  render
  kill -HUP "$(cat "$(pid_file nginx)")"
  log "reloaded $CONF"
}

stop() { is_running nginx && log "stopping"; stop_daemon nginx; }
status() { is_running nginx && ready >/dev/null 2>&1; }

"${1:-status}"
