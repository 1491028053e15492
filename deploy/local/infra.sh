#!/usr/bin/env bash
# Native local infrastructure on 127.0.0.1: ./infra.sh up|down|status [component...]
# Components (in start order): mariadb mariadb-replica mariadb-shard redis kafka readstore nginx.
# Idempotent: up finds running components up; down stops only what these scripts started.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ALL=(mariadb mariadb-replica mariadb-shard redis kafka readstore nginx)
action="${1:-status}"; shift || true
comps=("$@"); [ ${#comps[@]} -gt 0 ] || comps=("${ALL[@]}")

case "$action" in
  up)
    for c in "${comps[@]}"; do
      t0=$SECONDS
      "$ROOT/deploy/local/$c.sh" start || die "$c failed to start"
      log "$c ready ($((SECONDS - t0))s)"
    done ;;
  down)
    for ((i = ${#comps[@]} - 1; i >= 0; i--)); do "$ROOT/deploy/local/${comps[i]}.sh" stop; done ;;
  status)
    rc=0
    for c in "${comps[@]}"; do
      if "$ROOT/deploy/local/$c.sh" status; then echo "$c: up"; else echo "$c: down"; rc=1; fi
    done
    exit $rc ;;
  *) die "usage: infra.sh up|down|status [component...]" ;;
esac
