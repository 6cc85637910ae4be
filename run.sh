#!/usr/bin/env bash
# Runs TaskHub locally in the foreground: the stack (RabbitMQ + PostgreSQL, scripts/stack.sh),
# then Scheduler (applies the database migrations), Worker and Api, built once in Release.
# Each process's output is prefixed with its name. Ctrl-C stops the three services, and the
# stack too if this script started it (a stack that was already up is left running).
# TASKHUB_API_PORT (8080) sets the Api's port; TASKHUB_SCHEDULER_HEALTH_PORT (8081) and
# TASKHUB_WORKER_HEALTH_PORT (8082) the Scheduler's and the Worker's health ports.
set -euo pipefail
set +m # no job control: each child gets its own session via setsid below

cd "$(dirname "${BASH_SOURCE[0]}")"
repo="$(pwd)"
api_port="${TASKHUB_API_PORT:-8080}"
api_url="http://127.0.0.1:$api_port"
# Health ports of the Scheduler and the Worker (/health/live, /health/ready, /metrics).
scheduler_health="http://127.0.0.1:${TASKHUB_SCHEDULER_HEALTH_PORT:-8081}"
worker_health="http://127.0.0.1:${TASKHUB_WORKER_HEALTH_PORT:-8082}"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

pids=()
names=()
stack_started_here=0
cleaned=0

stop_children() {
  local pid i
  # Each child leads its own process group (setsid): TERM reaches `dotnet run` and the app.
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for ((i = 0; i < 30; i++)); do
    local alive=0
    # The group, not the leader: the supervising shell goes at once, the service when its shutdown is done.
    for pid in "${pids[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 1
  done
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

cleanup() {
  (( cleaned )) && return 0
  cleaned=1
  # Nothing may cut the shutdown short: not a second Ctrl-C, not a failed write to an
  # output pipe whose reader (e.g. `| tee`) already died of the Ctrl-C.
  trap '' INT TERM PIPE
  set +e
  if (( ${#pids[@]} > 0 )); then
    echo "run.sh: stopping ${names[*]}" >&2
    stop_children
  fi
  if (( stack_started_here )); then
    scripts/stack.sh stop || true
  fi
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

if ! scripts/stack.sh status >/dev/null 2>&1; then
  stack_started_here=1
fi
# `start` prints the export lines on stdout (progress on stderr).
stack_env="$(scripts/stack.sh start)"
eval "$stack_env"

dotnet build Solution.sln -c Release

export DOTNET_ENVIRONMENT=Development ASPNETCORE_ENVIRONMENT=Development
export TaskHub__Tasks__Path="$repo/tasks"
# The dashboard's queue depths come from the local broker's management API (guest works on loopback).
export Operations__RabbitManagement__Url="$TASKHUB_RABBITMQ_MANAGEMENT"

# Prefixes each line with [name]. It ignores Ctrl-C so that the services' shutdown
# messages still get through.
prefix() {
  trap '' INT
  exec sed -u "s/^/[$1] /"
}

# Starts `dotnet run` for src/<project> in its own session, output prefixed with [name].
# --no-launch-profile: launchSettings.json would override ASPNETCORE_URLS and the environment.
# Supervised as docker-compose's restart policy: a service that exits with 75 (its send path stayed
# stuck after a broker restart: Health:ExitWhenStuck) is started again; any other exit ends the run.
start_service() {
  local name=$1 project=$2
  shift 2
  setsid bash -c 'while :; do "$@"; code=$?; (( code == 75 )) || exit "$code"; echo "run.sh: $0 exited with 75; starting it again" >&2; done' \
    "$name" env "$@" dotnet run --no-build --no-launch-profile -c Release --project "src/$project" \
    </dev/null > >(prefix "$name") 2>&1 &
  pids+=("$!")
  names+=("$name")
  echo "run.sh: started $name (src/$project, pid $!)" >&2
}

start_service scheduler Scheduler "Health__Urls=$scheduler_health"
start_service worker Worker "Health__Urls=$worker_health"
start_service api Api "ASPNETCORE_URLS=$api_url"

# Wait up to 60 s for the Api's health endpoint, unless a service dies first.
up=0
for ((i = 0; i < 60; i++)); do
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$api_url/health" || true)"
  if [[ "$code" == 200 ]]; then up=1; break; fi
  dead=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || dead=1; done
  (( dead )) && break
  sleep 1
done
if (( up )); then
  echo "TaskHub is up: $api_url (docs at /docs); health: $api_url/health, scheduler $scheduler_health/health/ready, worker $worker_health/health/ready"
  echo "metrics: $api_url/metrics, $scheduler_health/metrics, $worker_health/metrics"
else
  echo "run.sh: $api_url/health did not answer 200 within 60 s; see the output above" >&2
fi

# Run until Ctrl-C, or until one service exits: then stop the others too.
status=0
exited_pid=""
wait -n -p exited_pid "${pids[@]}" || status=$?
for i in "${!pids[@]}"; do
  if [[ "${pids[$i]}" == "$exited_pid" ]]; then
    echo "run.sh: ${names[$i]} exited with status $status; stopping the others" >&2
  fi
done
cleanup
exit $(( status == 0 ? 1 : status ))
