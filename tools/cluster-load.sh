#!/usr/bin/env bash
# Load and failure test of the local cluster (deploy/local-cluster.sh), loopback only, bounded in time.
#
#   tools/cluster-load.sh short|long [--app PATH] [--model FILE] [--port P] [--base-port P] [--pg-port P]
#
# Brings a cluster up in a fresh state folder (PostgreSQL registry, replicas, nginx), then runs wrk
# (tools/serving-bench.lua: v2 JSON infer of one Fashion-MNIST image) through nginx in three phases:
#   baseline   all replicas up;
#   failure    replica 1 is killed with SIGKILL a third of the way in and restarted (start-replica, which waits for
#              its readiness) while the load goes on;
#   recovery   after the restart: the restarted replica must serve requests again.
# Each phase prints requests/s, p50, p99, responses with status >= 400 (the API answers only 2xx or 4xx/5xx, so these
# are the non-2xx responses) and socket errors. The test passes when the failure phase has no failed request (no
# status >= 400, no socket error), the restarted replica answered requests in the recovery phase, and the recovery
# phase reaches at least half the baseline's requests/s (the replicas share the machine's cores, so throughput is
# bounded by the cores, not the replica count). The last line is "CLUSTER-LOAD PASS" or "CLUSTER-LOAD FAIL: why".
#
#   short  2 replicas, 8 connections, phases of 5 + 12 + 5 s (about 40 s with start and stop; CI)
#   long   3 replicas, 64 connections, phases of 30 + 60 + 30 s
#
# --app: the ModelServer executable (default: deploy/local-cluster.sh publishes it). --model: a model file to register
# as fashion-mlp (default: the first replica trains it, one epoch). Everything started is stopped, by process id, when
# the script ends, also on failure or Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in
  short) replicas=2 connections=8 baseline_s=5 failure_s=12 recovery_s=5 ;;
  long) replicas=3 connections=64 baseline_s=30 failure_s=60 recovery_s=30 ;;
  *) echo "usage: $0 short|long [--app PATH] [--model FILE] [--port P] [--base-port P] [--pg-port P]" >&2; exit 2 ;;
esac
shift
cluster_args=()
lb_port=8400 base_port=8401 pg_port=8432
while (( $# > 0 )); do
  case "$1" in
    --app | --model) cluster_args+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    --port) lb_port=${2:?}; shift 2 ;;
    --base-port) base_port=${2:?}; shift 2 ;;
    --pg-port) pg_port=${2:?}; shift 2 ;;
    *) echo "unknown option '$1'" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends wrk >/dev/null

state=$(mktemp -d /tmp/neuralcore-cluster-load-XXXXXX)
wrk_pid=
cleanup() {
  if [[ -n "$wrk_pid" ]]; then kill "$wrk_pid" 2>/dev/null || true; wait "$wrk_pid" 2>/dev/null || true; fi
  deploy/local-cluster.sh down --state "$state" --purge >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "STATE $state"
tools/make-infer-body.sh "$state/body.json"
export SERVING_BENCH_BODY="$state/body.json"

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); mode $mode: $replicas replicas, $connections connections"
deploy/local-cluster.sh up --state "$state" --replicas "$replicas" --port "$lb_port" --base-port "$base_port" --pg-port "$pg_port" "${cluster_args[@]}"
url="http://127.0.0.1:$lb_port/v2/models/fashion-mlp/infer"
curl -sf -o /dev/null -X POST -H 'Content-Type: application/json' --data-binary "@$state/body.json" "$url"

# run_wrk SECONDS OUT: wrk in the background (sets wrk_pid), its output in OUT.
run_wrk() {
  wrk -t2 -c"$connections" -d"$1s" --latency -s tools/serving-bench.lua "$url" > "$2" 2>&1 &
  wrk_pid=$!
}
finish_wrk() {
  wait "$wrk_pid" || { echo "wrk failed:"; cat "$1"; exit 1; }
  wrk_pid=
}

# report PHASE OUT: prints the phase's line and sets rps, status, socket.
report() {
  local line
  line=$(grep '^BENCH' "$2") || { echo "no summary from wrk:"; cat "$2"; exit 1; }
  read -r _ rps p50 p99 status socket total <<<"$line"
  awk -v ph="$1" -v r="$rps" -v a="$p50" -v b="$p99" -v s="$status" -v k="$socket" -v n="$total" \
    'BEGIN { printf "PHASE %-9s requests/s %7d  p50 %8.3f ms  p99 %8.3f ms  non-2xx %d  socket-errors %d  requests %d\n", ph, r, a / 1000, b / 1000, s, k, n }'
}

served_by_replica1() {
  { curl -s -m 5 "http://127.0.0.1:$base_port/metrics" || true; } \
    | awk '/^neuralcore_inference_requests_total\{/ { n += $NF } END { printf "%d\n", n }'
}

run_wrk "$baseline_s" "$state/baseline.txt"; finish_wrk "$state/baseline.txt"
report baseline "$state/baseline.txt"; baseline_rps=$rps

run_wrk "$failure_s" "$state/failure.txt"
sleep $(( failure_s / 3 ))
victim=$(cat "$state/replica-1.pid")
kill -KILL "$victim"
echo "EVENT killed replica 1 (pid $victim) with SIGKILL at $(( failure_s / 3 )) s; restarting it in 2 s"
sleep 2
t0=$SECONDS
deploy/local-cluster.sh start-replica 1 --state "$state" > "$state/restart.txt" 2>&1 || { cat "$state/restart.txt"; exit 1; }
echo "EVENT replica 1 restarted and ready after $(( SECONDS - t0 )) s (pid $(cat "$state/replica-1.pid"))"
finish_wrk "$state/failure.txt"
report failure "$state/failure.txt"; failure_status=$status failure_socket=$socket

before=$(served_by_replica1)
run_wrk "$recovery_s" "$state/recovery.txt"; finish_wrk "$state/recovery.txt"
report recovery "$state/recovery.txt"; recovery_rps=$rps recovery_failed=$(( status + socket ))
after=$(served_by_replica1)
echo "RESTARTED-REPLICA-SERVED $(( after - before ))"

why=()
(( failure_status == 0 && failure_socket == 0 )) || why+=("the failure phase had $failure_status non-2xx responses and $failure_socket socket errors")
(( recovery_failed == 0 )) || why+=("the recovery phase had $recovery_failed failed requests")
(( after > before )) || why+=("the restarted replica served no request in the recovery phase")
(( recovery_rps * 2 >= baseline_rps )) || why+=("recovery reached $recovery_rps requests/s, under half the baseline's $baseline_rps")
if (( ${#why[@]} == 0 )); then echo "CLUSTER-LOAD PASS"; else (IFS=';'; echo "CLUSTER-LOAD FAIL: ${why[*]}"); exit 1; fi
