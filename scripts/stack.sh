#!/usr/bin/env bash
# Runs TaskHub's backing services as plain local processes (this machine has no Docker):
#   - RabbitMQ 3.10 (Debian package) as node taskhub@localhost, with the management plugin,
#   - PostgreSQL 15 (Debian package) as a private cluster,
# both bound to 127.0.0.1 and keeping all their state and logs under <repo>/.data/
# (or TASKHUB_DATA_DIR).
#
# Usage: scripts/stack.sh start|stop|status|env|restart-rabbitmq|kill-rabbitmq|restart-postgres
#   start   install what is missing, start (or reuse) both servers, wait until they answer,
#           then print the `export` lines of `env` on stdout (progress goes to stderr), so
#           `eval "$(scripts/stack.sh start)"` works.
#   stop    stop both servers cleanly.
#   status  report; exits 0 only when both are up.
#   env     print `export` lines for the connection settings the services and tests read.
#   Faults (tests/TaskHub.FaultTests drives these on a private stack; each ends with the server up):
#   restart-rabbitmq [DOWN_SECONDS]   clean stop, wait DOWN_SECONDS (0), start.
#   kill-rabbitmq [DOWN_SECONDS]      kill -9 of the node's Erlang VM (a crash), wait, start.
#   restart-postgres [DOWN_SECONDS] [fast|immediate]
#                                     pg_ctl stop -m fast (default) or immediate (a crash: recovery
#                                     from the WAL at start), wait DOWN_SECONDS (0), start.
#
# A second stack beside the default one (as the fault tests run theirs), e.g.
#   TASKHUB_DATA_DIR=<repo>/.data/faults TASKHUB_RABBITMQ_NODENAME=taskhub-faults@localhost \
#   TASKHUB_RABBITMQ_PORT=5675 TASKHUB_RABBITMQ_MGMT_PORT=15675 TASKHUB_POSTGRES_PORT=5435 scripts/stack.sh start
# Every command of that stack needs the same variables.
#
# Overrides: TASKHUB_DATA_DIR (<repo>/.data: everything the stack keeps), TASKHUB_RABBITMQ_PORT (5672), TASKHUB_RABBITMQ_MGMT_PORT (15672),
#   TASKHUB_RABBITMQ_DIST_PORT (AMQP port + 20000), TASKHUB_RABBITMQ_NODENAME (taskhub@localhost),
#   TASKHUB_POSTGRES_PORT (5432), TASKHUB_STACK_TIMEOUT (seconds to wait for each server, 120).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Absolute, so a relative override means the same directory to every command.
DATA_DIR="$(realpath -m -- "${TASKHUB_DATA_DIR:-$REPO_ROOT/.data}")"
TIMEOUT="${TASKHUB_STACK_TIMEOUT:-120}"

RMQ_PORT="${TASKHUB_RABBITMQ_PORT:-5672}"
RMQ_MGMT_PORT="${TASKHUB_RABBITMQ_MGMT_PORT:-15672}"
# RabbitMQ's own convention: distribution port = AMQP port + 20000.
RMQ_DIST_PORT="${TASKHUB_RABBITMQ_DIST_PORT:-$((RMQ_PORT + 20000))}"
RMQ_NODE="${TASKHUB_RABBITMQ_NODENAME:-taskhub@localhost}"
# The real scripts, not the /usr/sbin wrappers: those `su` to the rabbitmq user and reset
# HOME, which would lose our erlang cookie and our environment.
RMQ_BIN=/usr/lib/rabbitmq/bin
RMQ_DIR="$DATA_DIR/rabbitmq"
RMQ_LOG_DIR="$RMQ_DIR/log"
RMQ_CONSOLE_LOG="$RMQ_LOG_DIR/console.log"
RMQ_PID_FILE="$RMQ_DIR/rabbitmq.pid"

PG_PORT="${TASKHUB_POSTGRES_PORT:-5432}"
PG_BIN=/usr/lib/postgresql/15/bin
PG_DATA="$DATA_DIR/postgres"
# Socket and log live outside PGDATA: initdb wants an empty directory.
PG_RUN="$DATA_DIR/postgres-run"
PG_LOG="$PG_RUN/postgres.log"
PG_SOCKET_DIR="$PG_RUN"
# A unix socket path is limited to ~107 bytes; a deep checkout falls back to /tmp.
if (( ${#PG_SOCKET_DIR} > 90 )); then
  # Named after the checkout for the default data directory (as it always was), else after that directory.
  socket_key=$REPO_ROOT
  [[ "$DATA_DIR" == "$REPO_ROOT/.data" ]] || socket_key=$DATA_DIR
  PG_SOCKET_DIR="/tmp/taskhub-pg-$(id -u)-$(printf '%s' "$socket_key" | cksum | cut -d' ' -f1)"
fi

# Environment of every RabbitMQ server/CLI call: everything points into .data/rabbitmq so
# nothing from /etc/rabbitmq or /var/lib/rabbitmq (the Debian system node) is used.
RMQ_ENV=(
  "HOME=$RMQ_DIR/home"
  "RABBITMQ_NODENAME=$RMQ_NODE"
  "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
  "RABBITMQ_NODE_PORT=$RMQ_PORT"
  "RABBITMQ_DIST_PORT=$RMQ_DIST_PORT"
  "RABBITMQ_MNESIA_BASE=$RMQ_DIR/mnesia"
  "RABBITMQ_LOG_BASE=$RMQ_LOG_DIR"
  "RABBITMQ_PID_FILE=$RMQ_PID_FILE"
  "RABBITMQ_CONFIG_FILE=$RMQ_DIR/rabbitmq.conf"
  "RABBITMQ_ADVANCED_CONFIG_FILE=$RMQ_DIR/advanced.config"
  "RABBITMQ_CONF_ENV_FILE=$RMQ_DIR/rabbitmq-env.conf"
  "RABBITMQ_ENABLED_PLUGINS_FILE=$RMQ_DIR/enabled_plugins"
  # Erlang distribution only on loopback too (epmd and the node's dist listener).
  "ERL_EPMD_ADDRESS=127.0.0.1"
  "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}"
)

for port in "$RMQ_PORT" "$RMQ_MGMT_PORT" "$RMQ_DIST_PORT" "$PG_PORT"; do
  if [[ ! "$port" =~ ^[0-9]+$ ]] || (( port < 1 || port > 65535 )); then
    printf 'stack: ERROR: invalid port %s (check the TASKHUB_*_PORT variables)\n' "$port" >&2
    exit 2
  fi
done

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: ERROR: %s\n' "$*" >&2; exit 1; }
is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Shows the end of each log that exists, so a failure explains itself.
show_logs() {
  local f
  for f in "$@"; do
    [[ -f "$f" ]] || continue
    printf '\n----- last lines of %s -----\n' "$f" >&2
    # Erlang crash reports can be one enormous line: cut them.
    tail -n 40 "$f" | cut -c1-400 >&2 || true
  done
  printf '\n' >&2
}

# ---------------------------------------------------------------- ports

port_in_use() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    # Any listener on the port conflicts, also one on 0.0.0.0 or ::.
    [[ -n "$(ss -ltnH "sport = :$port" 2>/dev/null)" ]]
  else
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
  fi
}

port_holder() {
  if command -v ss >/dev/null 2>&1; then
    ss -ltnpH "sport = :$1" 2>/dev/null | sed 's/^/    /'
  fi
}

# Fails when something that is not ours already listens on one of our ports.
require_free_ports() {
  local what=$1 hint=$2 port
  shift 2
  for port in "$@"; do
    if port_in_use "$port"; then
      die "port $port is already in use, but not by our $what:
$(port_holder "$port")
  $hint"
    fi
  done
}

# ---------------------------------------------------------------- packages

APT_UPDATED=0
apt_install() {
  is_root || die "need root to install: $* (or install it yourself)"
  # Keep the packages' post-install from starting system services that would take our
  # ports: policy-rc.d exit 101 = "action forbidden" for invoke-rc.d/deb-systemd-invoke.
  local temp_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    temp_policy=1
  fi
  local ok=1
  if (( APT_UPDATED == 0 )); then
    log "apt-get update"
    apt-get update >&2 || ok=0
    APT_UPDATED=1
  fi
  if (( ok )); then
    log "installing: $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2 || ok=0
  fi
  if (( temp_policy )); then rm -f /usr/sbin/policy-rc.d; fi
  (( ok )) || die "apt-get install $* failed"
}

ensure_tools() {
  command -v curl >/dev/null 2>&1 || apt_install curl
}

ensure_rabbitmq_installed() {
  [[ -x "$RMQ_BIN/rabbitmq-server" ]] && return 0
  apt_install rabbitmq-server
  # The package enables a system node (rabbit@<host>, user rabbitmq, ports 5672/25672).
  # Keep it off for good so that ours is the one on the ports.
  if [[ -d /run/systemd/system ]]; then
    systemctl disable --now rabbitmq-server.service >/dev/null 2>&1 || true
  fi
  local pid
  for pid in $(pgrep -u rabbitmq -x beam.smp 2>/dev/null || true); do
    log "stopping the system RabbitMQ node the package started (pid $pid)"
    kill "$pid" 2>/dev/null || true
  done
}

ensure_postgres_installed() {
  [[ -x "$PG_BIN/postgres" ]] && return 0
  apt_install postgresql-15
  # The package creates a system cluster 15/main on 5432; make sure it is not running.
  if [[ -d /run/systemd/system ]]; then
    systemctl disable --now postgresql.service >/dev/null 2>&1 || true
  fi
  if command -v pg_ctlcluster >/dev/null 2>&1 && pg_ctlcluster 15 main status >/dev/null 2>&1; then
    log "stopping the system cluster 15/main the package started"
    pg_ctlcluster 15 main stop || true
  fi
}

# ---------------------------------------------------------------- RabbitMQ

rmq() { env "${RMQ_ENV[@]}" "$@"; }
rmqctl() { rmq "$RMQ_BIN/rabbitmqctl" -n "$RMQ_NODE" "$@"; }

rmq_running() {
  [[ -x "$RMQ_BIN/rabbitmqctl" && -f "$RMQ_DIR/home/.erlang.cookie" ]] || return 1
  timeout 30 env "${RMQ_ENV[@]}" "$RMQ_BIN/rabbitmqctl" -n "$RMQ_NODE" -q ping >/dev/null 2>&1
}

mgmt_url() { printf 'http://127.0.0.1:%s' "$RMQ_MGMT_PORT"; }

mgmt_answers() {
  curl -fsS -o /dev/null --max-time 3 -u guest:guest "$(mgmt_url)/api/overview" 2>/dev/null
}

rmq_fail() {
  printf 'stack: ERROR: %s\n  RabbitMQ logs: %s\n' "$1" "$RMQ_LOG_DIR" >&2
  show_logs "$RMQ_CONSOLE_LOG" "$RMQ_LOG_DIR/$RMQ_NODE.log"
  exit 1
}

epmd_bin() {
  command -v epmd || find /usr/lib/erlang -path '*/bin/epmd' 2>/dev/null | head -n 1 || true
}

# Another node with our name (e.g. another checkout's stack) would make ours fail to boot.
rmq_require_free_nodename() {
  local epmd short=${RMQ_NODE%@*}
  epmd="$(epmd_bin)"
  [[ -n "$epmd" ]] || return 0
  if "$epmd" -names 2>/dev/null | grep -q "^name $short at port "; then
    die "an Erlang node named '$short' is already running on this machine, but it is not our
  RabbitMQ node ($RMQ_DIR); another checkout's stack? Stop that one, or set
  TASKHUB_RABBITMQ_NODENAME (and other ports) for this one."
  fi
}

rmq_write_config() {
  mkdir -p "$RMQ_DIR/home" "$RMQ_DIR/mnesia" "$RMQ_LOG_DIR"
  # Our own cookie, written before the first server or CLI call so they can't race to
  # create two different ones. Erlang insists on owner-only permissions.
  if [[ ! -s "$RMQ_DIR/home/.erlang.cookie" ]]; then
    (umask 077 && od -An -tx1 -N20 /dev/urandom | tr -d ' \n' >"$RMQ_DIR/home/.erlang.cookie")
    chmod 400 "$RMQ_DIR/home/.erlang.cookie"
  fi
  # Rewritten on every start so that port overrides apply.
  cat >"$RMQ_DIR/rabbitmq.conf" <<EOF
# Written by scripts/stack.sh on every start: edit the script, not this file.
# AMQP listener and distribution port come from RABBITMQ_NODE_IP_ADDRESS/NODE_PORT/DIST_PORT.
management.tcp.ip = 127.0.0.1
management.tcp.port = $RMQ_MGMT_PORT
EOF
  # The tests create a vhost per test class through the management HTTP API.
  printf '[rabbitmq_management].\n' >"$RMQ_DIR/enabled_plugins"
}

rmq_start() {
  ensure_rabbitmq_installed
  if rmq_running; then
    if ! port_in_use "$RMQ_PORT" || ! mgmt_answers; then
      die "our RabbitMQ node $RMQ_NODE is running, but not with AMQP on $RMQ_PORT and management on $RMQ_MGMT_PORT; run '$0 stop' first"
    fi
    log "RabbitMQ: reusing our running node $RMQ_NODE (amqp 127.0.0.1:$RMQ_PORT, management $(mgmt_url))"
    return 0
  fi
  require_free_ports "RabbitMQ node $RMQ_NODE ($RMQ_DIR)" \
    "Stop it (the Debian system node: 'service rabbitmq-server stop'), or pick other ports with TASKHUB_RABBITMQ_PORT / TASKHUB_RABBITMQ_MGMT_PORT / TASKHUB_RABBITMQ_DIST_PORT." \
    "$RMQ_PORT" "$RMQ_MGMT_PORT" "$RMQ_DIST_PORT"
  rmq_require_free_nodename

  rmq_write_config
  log "RabbitMQ: starting node $RMQ_NODE (amqp 127.0.0.1:$RMQ_PORT, management $(mgmt_url), logs in $RMQ_LOG_DIR)"
  printf '\n===== %s start =====\n' "$(date -Is)" >>"$RMQ_CONSOLE_LOG"
  # setsid + nohup: the node outlives this script and the terminal (test.sh reuses it).
  # Runs as root: a private node whose files are all under .data.
  (cd "$RMQ_DIR" && exec env "${RMQ_ENV[@]}" nohup setsid "$RMQ_BIN/rabbitmq-server" \
    >>"$RMQ_CONSOLE_LOG" 2>&1 </dev/null) &
  local launcher=$! deadline=$((SECONDS + TIMEOUT))

  # await_startup needs the node to be reachable first, so retry until it is.
  until rmqctl -q await_startup --timeout 10 >/dev/null 2>&1; do
    kill -0 "$launcher" 2>/dev/null || rmq_fail "RabbitMQ exited during startup"
    if (( SECONDS >= deadline )); then
      # Don't leave a half-started node behind: the launcher script stops it on TERM.
      kill "$launcher" 2>/dev/null || true
      rmq_fail "RabbitMQ did not start within ${TIMEOUT}s"
    fi
    sleep 1
  done
  until mgmt_answers; do
    if (( SECONDS >= deadline )); then
      kill "$launcher" 2>/dev/null || true
      rmq_fail "RabbitMQ management API $(mgmt_url) did not answer within ${TIMEOUT}s"
    fi
    sleep 1
  done
  log "RabbitMQ: up"
}

rmq_stop() {
  if ! rmq_running; then
    log "RabbitMQ: our node $RMQ_NODE is not running"
    return 0
  fi
  log "RabbitMQ: stopping node $RMQ_NODE"
  # With the pid file, `stop` also waits for the Erlang VM to exit.
  if [[ -f "$RMQ_PID_FILE" ]]; then
    rmqctl stop "$RMQ_PID_FILE" >&2
  else
    rmqctl stop >&2
  fi
  # epmd was started by our node; end it when no other Erlang node still uses it.
  local epmd
  epmd="$(epmd_bin)"
  if [[ -n "$epmd" ]] && ! "$epmd" -names 2>/dev/null | grep -q '^name '; then
    "$epmd" -kill >/dev/null 2>&1 || true
  fi
  log "RabbitMQ: stopped"
}

rmq_status() {
  if rmq_running; then
    local mgmt="not answering"
    mgmt_answers && mgmt="up"
    log "RabbitMQ: running, node $RMQ_NODE, amqp 127.0.0.1:$RMQ_PORT, management $(mgmt_url) ($mgmt), logs in $RMQ_LOG_DIR"
    [[ "$mgmt" == up ]]
  else
    log "RabbitMQ: not running (node $RMQ_NODE)"
    return 1
  fi
}

# ---------------------------------------------------------------- PostgreSQL

# PostgreSQL refuses to run as root: as root, run it as the postgres OS user.
PG_OS_USER="$(id -un)"
if is_root; then PG_OS_USER=postgres; fi
as_pg() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_running() {
  [[ -f "$PG_DATA/PG_VERSION" ]] || return 1
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# Port of the running cluster: line 4 of postmaster.pid.
pg_running_port() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

pg_fail() {
  printf 'stack: ERROR: %s\n  PostgreSQL log: %s\n' "$1" "$PG_LOG" >&2
  show_logs "$PG_LOG"
  exit 1
}

# The postgres user must be able to reach .data through every parent directory.
pg_make_reachable() {
  is_root || return 0
  local d=$DATA_DIR
  while [[ -n "$d" && "$d" != / ]]; do
    if ! runuser -u postgres -- test -x "$d"; then
      log "chmod o+x $d (so the postgres user can reach $PG_DATA)"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
}

pg_init() {
  mkdir -p "$PG_DATA" "$PG_RUN" "$PG_SOCKET_DIR"
  chmod 755 "$DATA_DIR"
  chown "$PG_OS_USER" "$PG_DATA" "$PG_RUN" "$PG_SOCKET_DIR"
  chmod 700 "$PG_DATA"
  chmod 750 "$PG_RUN" "$PG_SOCKET_DIR"
  pg_make_reachable
  if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
    log "PostgreSQL: initdb $PG_DATA"
    # Superuser postgres: trust on the unix socket (its directory is private), passwords
    # (scram) on TCP.
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >"$PG_RUN/initdb.log" 2>&1 \
      || { show_logs "$PG_RUN/initdb.log"; die "initdb failed"; }
    printf "\ninclude_if_exists = 'taskhub.conf'\n" >>"$PG_DATA/postgresql.conf"
  fi
  # Rewritten on every start so that port overrides apply. fsync stays on: the
  # benchmarks measure durable throughput.
  cat >"$PG_DATA/taskhub.conf" <<EOF
# Written by scripts/stack.sh on every start: edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKET_DIR'
max_connections = 300
fsync = on
synchronous_commit = on
EOF
  chown "$PG_OS_USER" "$PG_DATA/taskhub.conf"
}

# SQL on stdin, as superuser over the unix socket.
pg_psql() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres
}

# Idempotent: role taskhub/taskhub (LOGIN CREATEDB, pg_signal_backend) and database taskhub owned by it.
pg_ensure_role_and_db() {
  pg_psql >/dev/null <<'SQL' || pg_fail "could not create role/database taskhub"
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'taskhub') THEN
    CREATE ROLE taskhub LOGIN CREATEDB PASSWORD 'taskhub';
  ELSE
    ALTER ROLE taskhub LOGIN CREATEDB PASSWORD 'taskhub';
  END IF;
END
$$;
-- Tests drop their databases WITH (FORCE); that must be allowed to end an autovacuum worker.
GRANT pg_signal_backend TO taskhub;
SELECT 'CREATE DATABASE taskhub OWNER taskhub'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'taskhub')\gexec
SQL
}

pg_require_free_port() {
  require_free_ports "PostgreSQL cluster ($PG_DATA)" \
    "Stop it (a Debian cluster: 'pg_ctlcluster 15 main stop'), or pick another port with TASKHUB_POSTGRES_PORT." \
    "$PG_PORT"
}

pg_start() {
  ensure_postgres_installed
  if pg_running; then
    local port
    port="$(pg_running_port)"
    [[ "$port" == "$PG_PORT" ]] \
      || die "our PostgreSQL cluster is running on port $port, not $PG_PORT; run '$0 stop' first"
    log "PostgreSQL: reusing our running cluster $PG_DATA (127.0.0.1:$PG_PORT)"
    pg_ensure_role_and_db
    return 0
  fi
  pg_require_free_port
  pg_init
  log "PostgreSQL: starting $PG_DATA on 127.0.0.1:$PG_PORT (log $PG_LOG)"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$TIMEOUT" start >/dev/null \
    || pg_fail "PostgreSQL did not start"
  local deadline=$((SECONDS + TIMEOUT))
  until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; do
    (( SECONDS < deadline )) || pg_fail "PostgreSQL did not answer on 127.0.0.1:$PG_PORT within ${TIMEOUT}s"
    sleep 1
  done
  pg_ensure_role_and_db
  log "PostgreSQL: up"
}

pg_stop() {
  if ! pg_running; then
    log "PostgreSQL: our cluster $PG_DATA is not running"
    return 0
  fi
  log "PostgreSQL: stopping $PG_DATA"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null
  log "PostgreSQL: stopped"
}

pg_status() {
  if pg_running; then
    log "PostgreSQL: running, $PG_DATA on 127.0.0.1:$(pg_running_port), log $PG_LOG"
  else
    log "PostgreSQL: not running ($PG_DATA)"
    return 1
  fi
}

# ---------------------------------------------------------------- faults

# Seconds argument of the fault commands: a whole number, 0 when absent.
down_seconds() {
  local s=${1:-0}
  [[ "$s" =~ ^[0-9]+$ ]] || die "DOWN_SECONDS must be a whole number of seconds (was '$s')"
  printf '%s' "$s"
}

# A crash of the broker: SIGKILL to the Erlang VM (no connection is closed cleanly), then a start.
rmq_kill() {
  local pid
  pid="$(cat "$RMQ_PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null \
    || die "RabbitMQ node $RMQ_NODE is not running (no live pid in $RMQ_PID_FILE)"
  log "RabbitMQ: kill -9 $pid (node $RMQ_NODE)"
  kill -9 "$pid"
  local deadline=$((SECONDS + TIMEOUT))
  while kill -0 "$pid" 2>/dev/null; do
    (( SECONDS < deadline )) || die "RabbitMQ pid $pid did not exit after kill -9"
    sleep 0.1
  done
  # The node's name stays registered in epmd until epmd sees its connection close.
  local epmd short=${RMQ_NODE%@*}
  epmd="$(epmd_bin)"
  while [[ -n "$epmd" ]] && "$epmd" -names 2>/dev/null | grep -q "^name $short at port "; do
    (( SECONDS < deadline )) || die "epmd still lists $short after its VM died"
    sleep 0.1
  done
}

# A crash (immediate) or an operator's restart (fast) of the database.
pg_stop_mode() {
  local mode=$1
  [[ "$mode" == fast || "$mode" == immediate ]] || die "mode must be fast or immediate (was '$mode')"
  pg_running || die "our PostgreSQL cluster $PG_DATA is not running"
  log "PostgreSQL: stop -m $mode"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m "$mode" -w -t "$TIMEOUT" stop >/dev/null
}

# ---------------------------------------------------------------- commands

# Single-quoted for eval: the connection string contains ';'.
emit_export() {
  local value=${2//\'/\'\\\'\'}
  printf "export %s='%s'\n" "$1" "$value"
}

print_env() {
  emit_export AsyncTask__Broker "amqp://guest:guest@127.0.0.1:$RMQ_PORT/"
  emit_export AsyncTask__ResultBackend "Host=127.0.0.1;Port=$PG_PORT;Username=taskhub;Password=taskhub;Database=taskhub"
  emit_export TASKHUB_RABBITMQ_MANAGEMENT "$(mgmt_url)"
}

cmd=${1:-}
case "$cmd" in
  start)
    ensure_tools
    mkdir -p "$DATA_DIR"
    # Cheap check first, so a taken PostgreSQL port fails before RabbitMQ is started.
    pg_running || pg_require_free_port
    rmq_start
    pg_start
    print_env
    ;;
  stop)
    rmq_stop
    pg_stop
    ;;
  status)
    rc=0
    rmq_status || rc=1
    pg_status || rc=1
    exit "$rc"
    ;;
  env)
    print_env
    ;;
  restart-rabbitmq)
    down="$(down_seconds "${2:-}")"
    rmq_running || die "RabbitMQ node $RMQ_NODE is not running"
    rmq_stop
    sleep "$down"
    rmq_start
    ;;
  kill-rabbitmq)
    down="$(down_seconds "${2:-}")"
    rmq_kill
    sleep "$down"
    rmq_start
    ;;
  restart-postgres)
    down="$(down_seconds "${2:-}")"
    pg_stop_mode "${3:-fast}"
    sleep "$down"
    pg_start
    ;;
  *)
    printf 'usage: %s start|stop|status|env|restart-rabbitmq|kill-rabbitmq|restart-postgres\n' "$0" >&2
    exit 2
    ;;
esac
