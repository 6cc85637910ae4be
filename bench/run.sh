#!/usr/bin/env bash
# The end-to-end benchmark of issue 6: bare RabbitMQ.Client + Npgsql baseline vs the TaskHub
# .NET path (ITaskClient -> RabbitMQ -> Scheduler saga -> Worker -> SUCCESS), in one run.
#
# Usage: bench/run.sh [N] [options]     N tasks per measured run, default 20000
#        bench/run.sh --smoke           N = 200: proves the benchmark still works
#   Options go to the program (bench/TaskHub.Bench/BenchOptions.cs), e.g. --repeat 3,
#   --only taskhub, --env worker:AsyncTask__Concurrency=32, --no-paced, --peers (Hangfire rows, issue 19).
#
# Starts (or reuses) the local stack as ./run.sh does (scripts/stack.sh), builds the bench with
# the Scheduler and Worker in Release, spawns those two as their own processes, and prints a
# table; the last line is `ratio <(2)/(1)> baseline <tasks/s> taskhub <tasks/s>`. A full run
# (not --smoke) writes its figures into bench/README.md. A stack started here is stopped at the end.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

stack_started_here=0
if ! scripts/stack.sh status >/dev/null 2>&1; then
  stack_started_here=1
fi
cleanup() {
  if (( stack_started_here )); then scripts/stack.sh stop || true; fi
}
trap cleanup EXIT

# `start` prints the export lines on stdout (progress on stderr).
stack_env="$(scripts/stack.sh start)"
eval "$stack_env"

# Builds the bench and, through its project references, the Scheduler and Worker it spawns.
dotnet build bench/TaskHub.Bench/TaskHub.Bench.csproj -c Release -nologo -v q >&2

args=("$@")
smoke=0
for a in "$@"; do [[ "$a" == --smoke ]] && smoke=1; done
if (( ! smoke )); then
  args+=(--readme bench/README.md --command "bench/run.sh${*:+ $*}")
fi
dotnet bench/TaskHub.Bench/bin/Release/net10.0/TaskHub.Bench.dll "${args[@]}"
