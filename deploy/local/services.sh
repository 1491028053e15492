#!/usr/bin/env bash
# The application processes on 127.0.0.1, run from the uv workspace:
#   ./services.sh up|down|status
# command-service (Granian, port command_service.port, with the in-process outbox relay)
# and the nginx gateway in front (deploy/gateway/nginx.conf.template).
# Logs: .state/<service>/<service>.log (`just logs`).
COMPONENT=services
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
UV="${UV:-uv}"
CMD_PORT="$(cfg command_service.port 8001)"

health() { curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1; }

start_command_service() {
  if is_running command-service && health "$CMD_PORT"; then log "command-service already up"; return 0; fi
  port_open "$CMD_PORT" && die "port $CMD_PORT is taken by a process these scripts did not start"
  start_daemon command-service "$UV" run --no-sync --package command-service \
    command-service serve --port "$CMD_PORT"
  wait_ready command-service 60 health "$CMD_PORT"
}

up() {
  start_command_service
  COMMAND_UPSTREAMS="server 127.0.0.1:$CMD_PORT;" "$ROOT/deploy/local/nginx.sh" start
  local gw; gw="$(cfg local.gateway_port 8080)"
  cat <<MSG
The system is up:
  gateway          http://127.0.0.1:$gw   (health: /gateway/health)
  command-service  http://127.0.0.1:$CMD_PORT  (OpenAPI: /schema)
  logs             just logs
MSG
}

down() {
  "$ROOT/deploy/local/nginx.sh" stop
  is_running command-service && log "stopping command-service"
  stop_daemon command-service
}

status() { is_running command-service && health "$CMD_PORT"; }

"${1:-status}"
