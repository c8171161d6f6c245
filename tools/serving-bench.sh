#!/usr/bin/env bash
# Load benchmark of samples/ModelServer on loopback with wrk (Debian's `wrk` package, installed when missing).
#
#   tools/serving-bench.sh [SECONDS] [COLD_STARTS]
#
# Publishes ModelServer (Release) to artifacts/serving-bench/app, then, in a fresh temporary registry:
#   1. the first start, which trains and registers `fashion-mlp` (timed on its own);
#   2. COLD_STARTS (default 5) starts over the populated registry, each timed from process start to the first
#      answered infer request (min and median);
#   3. wrk against POST /v2/models/fashion-mlp/infer (one Fashion-MNIST test image, 784 floats, v2 JSON) with 1, 8
#      and 64 connections for SECONDS each (default 10), with micro-batching off and on
#      (--max-batch-size 32 --max-queue-delay-ms 1).
# Prints requests/s, p50, p99 and the error counts per run. The server listens on a free 127.0.0.1 port with anonymous
# inference on, and is stopped by its process id when the script ends (also on Ctrl+C or failure).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
cold_starts=${2:-5}
[[ "$seconds" =~ ^[1-9][0-9]*$ && "$seconds" -le 600 ]] || { echo "SECONDS must be 1 to 600, not '$seconds'" >&2; exit 2; }
[[ "$cold_starts" =~ ^[1-9][0-9]*$ && "$cold_starts" -le 50 ]] || { echo "COLD_STARTS must be 1 to 50, not '$cold_starts'" >&2; exit 2; }
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
command -v curl >/dev/null || apt-get install -y curl >/dev/null

app=artifacts/serving-bench/app
echo "Publishing samples/ModelServer (Release) to $app"
dotnet publish samples/ModelServer -c Release -o "$app" -nologo -v quiet >/dev/null

work=$(mktemp -d)
pid=
stop_server() {
  if [[ -n "$pid" ]]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
  fi
}
trap 'stop_server; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts the server over $work/registry with the given extra options; sets pid and url.
start_server() {
  local port
  port=$(free_port)
  url="http://127.0.0.1:$port"
  "$app/ModelServer" --urls "$url" --registry "$work/registry" --allow-anonymous-inference "$@" >"$work/server.log" 2>&1 &
  pid=$!
}

# Waits (at most $1 seconds) until $2 answers 200 to the given curl arguments.
wait_for() {
  local limit=$1 target=$2
  shift 2
  local deadline=$(( $(now_ms) + limit * 1000 ))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$target")" == 200 ]]; do
    if ! kill -0 "$pid" 2>/dev/null; then echo "the server exited:" >&2; cat "$work/server.log" >&2; exit 1; fi
    if (( $(now_ms) > deadline )); then echo "no answer from $target within $limit s" >&2; cat "$work/server.log" >&2; exit 1; fi
    sleep 0.005
  done
}

# The request: the first test image of the bundled Fashion-MNIST subset, scaled to [0, 1].
tools/make-infer-body.sh "$work/body.json"
export SERVING_BENCH_BODY="$work/body.json"
infer=(-X POST -H "Content-Type: application/json" --data-binary "@$work/body.json")

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(. /etc/os-release; echo "$PRETTY_NAME"), .NET $(dotnet --version)"
echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
t0=$(now_ms)
start_server
wait_for 900 "$url/v2/health/ready"
wait_for 60 "$url/v2/models/fashion-mlp/infer" "${infer[@]}"
echo "First start (trains and registers fashion-mlp): $(( $(now_ms) - t0 )) ms to the first answer"
grep -E "^(Data|Registered)" "$work/server.log" | sed 's/^/  /'
stop_server

cold=()
for ((i = 0; i < cold_starts; i++)); do
  t0=$(now_ms)
  start_server
  wait_for 60 "$url/v2/models/fashion-mlp/infer" "${infer[@]}"
  cold+=($(( $(now_ms) - t0 )))
  stop_server
done
sorted=($(printf '%s\n' "${cold[@]}" | sort -n))
echo "Cold start to the first answered infer, $cold_starts runs (ms): ${cold[*]}; min ${sorted[0]}, median ${sorted[$(( cold_starts / 2 ))]}"

echo
printf '%-9s %7s %10s %10s %10s %11s %8s\n' batching clients "req/s" "p50 (ms)" "p99 (ms)" "status>=400" "socket"
for mode in off on; do
  if [[ $mode == on ]]; then start_server --max-batch-size 32 --max-queue-delay-ms 1; else start_server; fi
  wait_for 60 "$url/v2/models/fashion-mlp/infer" "${infer[@]}"
  for clients in 1 8 64; do
    threads=$(( clients < 2 ? 1 : 2 ))
    line=$(wrk -t"$threads" -c"$clients" -d"${seconds}s" --latency -s tools/serving-bench.lua "$url/v2/models/fashion-mlp/infer" | grep '^BENCH')
    read -r _ rps p50 p99 status socket total <<<"$line"
    awk -v m="$mode" -v c="$clients" -v r="$rps" -v a="$p50" -v b="$p99" -v s="$status" -v k="$socket" \
      'BEGIN { printf "%-9s %7d %10d %10.3f %10.3f %11d %8d\n", m, c, r, a / 1000, b / 1000, s, k }'
  done
  stop_server
done
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
