#!/usr/bin/env bash
# The application processes on 127.0.0.1, run from the uv workspace:
#   ./services.sh up|down|status
# command-service (with the in-process outbox relay), projector (Kafka consumer + admin),
# two query-service replicas, and the nginx gateway in front of them.
# Logs: .state/<service>/<service>.log (`just logs`).
COMPONENT=services
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
UV="${UV:-uv}"
CMD_PORT="$(cfg command_service.port 8001)"
PROJ_PORT="$(cfg projector.port 8004)"
QUERY_PORTS=("$(cfg query_service.port 8002)" "${QUERY_PORT_2:-8003}")

health() { curl -fsS "http://127.0.0.1:$1/health" >/dev/null 2>&1; }

# run_service NAME PORT SCRIPT: `SCRIPT serve --port PORT` from the workspace, once.
run_service() {
  local name="$1" port="$2" script="$3"
  if is_running "$name" && health "$port"; then log "$name already up on :$port"; return 0; fi
  port_open "$port" && die "port $port is taken by a process these scripts did not start"
  start_daemon "$name" "$UV" run --no-sync "$script" serve --port "$port"
}

ALL=(command-service projector query-service-1 query-service-2)
port_of() {
  case "$1" in
    command-service) echo "$CMD_PORT" ;;
    projector) echo "$PROJ_PORT" ;;
    query-service-1) echo "${QUERY_PORTS[0]}" ;;
    query-service-2) echo "${QUERY_PORTS[1]}" ;;
  esac
}

up() {
  # where the query service's system health and stats find every instance
  export CQRS__SYSTEM__SERVICES__COMMAND="http://127.0.0.1:$CMD_PORT"
  export CQRS__SYSTEM__SERVICES__PROJECTOR="http://127.0.0.1:$PROJ_PORT"
  export CQRS__SYSTEM__SERVICES__QUERY="http://127.0.0.1:${QUERY_PORTS[0]},http://127.0.0.1:${QUERY_PORTS[1]}"
  run_service command-service "$CMD_PORT" command-service
  run_service projector "$PROJ_PORT" projector
  run_service query-service-1 "${QUERY_PORTS[0]}" query-service
  run_service query-service-2 "${QUERY_PORTS[1]}" query-service
  local s; for s in "${ALL[@]}"; do wait_ready "$s" 90 health "$(port_of "$s")"; done
  COMMAND_UPSTREAMS="server 127.0.0.1:$CMD_PORT;" \
  QUERY_UPSTREAMS="server 127.0.0.1:${QUERY_PORTS[0]}; server 127.0.0.1:${QUERY_PORTS[1]};" \
  PROJECTOR_UPSTREAMS="server 127.0.0.1:$PROJ_PORT;" \
    bash -c '"$0"/deploy/local/nginx.sh status && "$0"/deploy/local/nginx.sh reload || "$0"/deploy/local/nginx.sh start' "$ROOT"
  local gw; gw="$(cfg local.gateway_port 8080)"
  cat <<MSG
The system is up (all on 127.0.0.1):
  gateway          http://127.0.0.1:$gw      health: /gateway/health, whole system: /api/v1/cqrs/health
  command-service  http://127.0.0.1:$CMD_PORT      OpenAPI: /schema
  query-service    http://127.0.0.1:${QUERY_PORTS[0]}, :${QUERY_PORTS[1]}  WebSocket: ws://127.0.0.1:$gw/ws
  projector admin  http://127.0.0.1:$PROJ_PORT      /api/v1/cqrs/projections
  logs             just logs
MSG
}

down() {
  "$ROOT/deploy/local/nginx.sh" stop
  local s; for s in "${ALL[@]}"; do is_running "$s" && log "stopping $s"; stop_daemon "$s"; done
}

status() {
  local s rc=0
  for s in "${ALL[@]}"; do
    if is_running "$s" && health "$(port_of "$s")"; then echo "$s: up"; else echo "$s: down"; rc=1; fi
  done
  return $rc
}

"${1:-status}"
