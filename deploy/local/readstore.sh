#!/usr/bin/env bash
# The MongoDB-wire read store on 127.0.0.1: ./readstore.sh install|start|stop|status
# Port: env MONGO_PORT, else local.readstore_port (27017). Engine: env READSTORE_ENGINE,
#  secantus (default): SecantusDB from PyPI in its own venv under $STATE/readstore, one process
#    on WiredTiger storage. GPL: only ever run as this separate server, never imported.
#  ferretdb: FerretDB 1.x built with Go, on our own PostgreSQL 15 cluster (daemon readstore-pg,
#    127.0.0.1:local.readstore_postgres_port, data under $STATE/readstore-pg).
# Why SecantusDB is the default: FerretDB 1.24.2 makes updates read-then-write without
# locking, so concurrent $inc loses updates and a version-guarded update_one can go
# backwards. It also reports a unique-index clash on update as InternalError instead
# of DuplicateKeyError. SecantusDB passes all of these.
COMPONENT=readstore
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ENGINE="${READSTORE_ENGINE:-secantus}"
PORT="${MONGO_PORT:-$(cfg local.readstore_port 27017)}"
DIR="$(comp_dir readstore)"
SECANTUS_VERSION=0.7.0b3
FERRETDB_VERSION=v1.24.2
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
case "$ENGINE" in secantus | ferretdb) ;; *) die "READSTORE_ENGINE must be secantus or ferretdb, not '$ENGINE'" ;; esac

# --- SecantusDB -----------------------------------------------------------------------
SEC_VENV="$DIR/secantus/venv"

install_secantus() {
  local marker="$SEC_VENV/.installed"
  [ "$(cat "$marker" 2>/dev/null)" = "SecantusDB==$SECANTUS_VERSION" ] && return 0
  log "installing SecantusDB $SECANTUS_VERSION from PyPI into $SEC_VENV"
  rm -rf "$SEC_VENV"
  python3 -m venv "$SEC_VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$SEC_VENV/bin/pip" install -q --disable-pip-version-check "SecantusDB==$SECANTUS_VERSION" \
    || die "pip install SecantusDB==$SECANTUS_VERSION failed"
  echo "SecantusDB==$SECANTUS_VERSION" > "$marker"
}

# The oplog only serves change streams, which this project does not use (live updates
# come from Redis); a small cap keeps writes at ~0.5 ms instead of ~8 ms with the default
# 100,000 entries.
start_secantus() {
  mkdir -p "$DIR/secantus/data"
  # An explicit (empty) config file switches off the search of ./, ~/.secantus and /etc/secantus.
  [ -f "$DIR/secantus/secantusd.toml" ] || echo "# Settings come from deploy/local/readstore.sh flags." > "$DIR/secantus/secantusd.toml"
  start_daemon readstore "$SEC_VENV/bin/secantusd-py" --config "$DIR/secantus/secantusd.toml" \
    --host 127.0.0.1 --port "$PORT" --storage-path "$DIR/secantus/data" --log-level INFO \
    --oplog-max-entries 1000 --oplog-retention-seconds 300
}

# --- FerretDB on PostgreSQL ---------------------------------------------------------------
FDB_BIN="$DIR/ferretdb/bin/ferretdb"

install_ferretdb() {
  [ -x "$PG_BIN/postgres" ] || apt_install postgresql-15
  [ -x "$FDB_BIN" ] && [ "$(cat "$FDB_BIN.version" 2>/dev/null)" = "$FERRETDB_VERSION" ] && return 0
  local go b blog
  go="$(command -v go || echo /usr/local/go/bin/go)"
  [ -x "$go" ] || die "Go is needed to build FerretDB; put go on PATH"
  b="$DIR/ferretdb/build"; blog="$DIR/ferretdb/build.log"
  log "building FerretDB $FERRETDB_VERSION with $("$go" env GOVERSION) (a minute or two; log: $blog)"
  rm -rf "$b"; mkdir -p "$b/src" "$DIR/ferretdb/bin"
  # Plain `go install pkg@version` fails: the proxy refuses the module's version list.
  # So a throwaway module takes it as a tool, and we vendor it and add the
  # build/version/version.txt that its init() needs (the published module lacks it).
  if ! (
    cd "$b/src"
    export GOPATH="$b/gopath" GOCACHE="$b/gocache" GOFLAGS=-modcacherw GOTOOLCHAIN=local
    "$go" mod init readstore-ferretdb-build
    "$go" get -tool "github.com/FerretDB/FerretDB/cmd/ferretdb@$FERRETDB_VERSION"
    "$go" mod vendor
    echo "$FERRETDB_VERSION" > vendor/github.com/FerretDB/FerretDB/build/version/version.txt
    echo "local" > vendor/github.com/FerretDB/FerretDB/build/version/package.txt
    "$go" build -mod=vendor -o "$FDB_BIN.new" github.com/FerretDB/FerretDB/cmd/ferretdb
    "$FDB_BIN.new" --version
  ) >"$blog" 2>&1; then
    tail -n 20 "$blog" >&2; die "building FerretDB failed; see $blog"
  fi
  mv "$FDB_BIN.new" "$FDB_BIN"; echo "$FERRETDB_VERSION" > "$FDB_BIN.version"
  rm -rf "$b"
}

PG_PORT="${READSTORE_PG_PORT:-}"
pg_setup() {
  PG_PORT="${PG_PORT:-$(cfg local.readstore_postgres_port 5433)}"
  PGDIR="$(comp_dir readstore-pg)"
  # postgres refuses to run as root: as root, run it as the `postgres` account (or nobody).
  if [ "$(id -u)" -ne 0 ]; then PG_OS_USER="$(id -un)"
  elif id postgres >/dev/null 2>&1; then PG_OS_USER=postgres
  else PG_OS_USER=nobody; fi
}
# as_pg CMD...: CMD as PG_OS_USER (setpriv execs, so the daemon's pid is postgres itself).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then setpriv --reuid="$PG_OS_USER" --regid="$(id -g "$PG_OS_USER")" --init-groups -- "$@"
  else "$@"; fi
}
as_pg_argv() {
  if [ "$(id -u)" -eq 0 ]; then echo setpriv --reuid="$PG_OS_USER" --regid="$(id -g "$PG_OS_USER")" --init-groups --; fi
}
pg_ready() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres; }
psql_pg() { "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

start_pg() {
  pg_setup
  if alive readstore-pg && pg_ready; then return 0; fi
  alive readstore-pg && die "readstore-pg runs but does not answer on 127.0.0.1:$PG_PORT; see $(log_file readstore-pg)"
  port_open "$PG_PORT" && die "port $PG_PORT answers but was not started by these scripts; stop it or set READSTORE_PG_PORT"
  mkdir -p "$PGDIR/run"
  [ "$(id -u)" -eq 0 ] && chown "$PG_OS_USER:" "$PGDIR" "$PGDIR/run"
  if [ ! -f "$PGDIR/data/PG_VERSION" ]; then
    log "initialising PostgreSQL cluster in $PGDIR/data (as $PG_OS_USER)"
    rm -rf "$PGDIR/data"
    as_pg "$PG_BIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
      >>"$(log_file readstore-pg)" 2>&1 || die "initdb failed; see $(log_file readstore-pg)"
  fi
  local drop; read -r -a drop <<<"$(as_pg_argv)"
  start_daemon readstore-pg "${drop[@]}" "$PG_BIN/postgres" -D "$PGDIR/data" -p "$PG_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$PGDIR/run"
  wait_ready readstore-pg 60 pg_ready || die "PostgreSQL did not start"
  [ "$(psql_pg -tAc "SELECT 1 FROM pg_database WHERE datname = 'ferretdb'")" = 1 ] \
    || psql_pg -c "CREATE DATABASE ferretdb" || die "could not create database ferretdb"
}
start_ferretdb() {
  start_pg
  mkdir -p "$DIR/ferretdb/state"
  start_daemon readstore "$FDB_BIN" --listen-addr="127.0.0.1:$PORT" --handler=postgresql \
    --postgresql-url="postgres://postgres@127.0.0.1:$PG_PORT/ferretdb" \
    --state-dir="$DIR/ferretdb/state" --telemetry=disable --debug-addr=- --log-level=info
}

# --- common ----------------------------------------------------------------------------
# ready: a real client round trip (ping, then insert/find/delete on a scratch collection).
client_py() {
  local p
  for p in "$ROOT/.venv/bin/python" "$SEC_VENV/bin/python" python3; do
    command -v "$p" >/dev/null 2>&1 && "$p" -c 'import pymongo' 2>/dev/null && { echo "$p"; return 0; }
  done
  return 1
}
ready() {
  [ -n "${CLIENT_PY:-}" ] || CLIENT_PY="$(client_py)" || { log "no python with pymongo for the readiness check"; return 1; }
  "$CLIENT_PY" - "$PORT" <<'PYEOF'
import sys, uuid
from pymongo import MongoClient
c = MongoClient(f"mongodb://127.0.0.1:{sys.argv[1]}/", directConnection=True,
                serverSelectionTimeoutMS=2000, connectTimeoutMS=2000, socketTimeoutMS=5000)
try:
    c.admin.command("ping")
    coll = c["readstore_health"]["probe"]
    key = uuid.uuid4().hex
    coll.insert_one({"_id": key, "ok": 1})
    assert coll.find_one({"_id": key})["ok"] == 1
    assert coll.delete_one({"_id": key}).deleted_count == 1
finally:
    c.close()
PYEOF
}

# alive NAME: is_running, and not a zombie that pid 1 has yet to reap (just after a crash).
alive() { is_running "$1" && [ "$(ps -o stat= -p "$(cat "$(pid_file "$1")")" | cut -c1)" != Z ]; }

install() { "install_$ENGINE"; }

start() {
  install
  if alive readstore; then
    local running; running="$(cat "$DIR/engine" 2>/dev/null || echo '?')"
    [ "$running" = "$ENGINE" ] || die "the $running read store is running; stop it before starting $ENGINE"
    wait_ready readstore 60 ready || die "our read store (pid $(cat "$(pid_file readstore)")) does not answer on 127.0.0.1:$PORT"
    log "already up ($ENGINE) on 127.0.0.1:$PORT"; return 0
  fi
  port_open "$PORT" && die "port $PORT answers but was not started by these scripts; stop it or set MONGO_PORT"
  echo "$ENGINE" > "$DIR/engine"
  "start_$ENGINE"
  wait_ready readstore 60 ready
}

stop() {
  local pg=false; [ -d "$STATE/readstore-pg" ] && pg=true
  { is_running readstore || { $pg && is_running readstore-pg; }; } && log "stopping"
  stop_daemon readstore # the wire server first, then its backing store
  if $pg; then stop_daemon readstore-pg; fi
}

status() { is_running readstore && ready; }

"${1:-status}"
