#!/usr/bin/env bash
# Same-run comparison of NeuralCore.Serving with ONNX Runtime in a minimal ASP.NET Core app (benchmarks/OrtServing),
# on loopback with wrk (Debian's `wrk` package, installed when missing).
#
#   tools/ort-serving-compare.sh [short|long]
#
# 1. Trains the Fashion-MNIST MLP with samples/FashionMnist (bundled subset, CPU, seed 42) and saves it twice: the
#    NeuralCore model file and its ONNX export (--export-onnx).
# 2. Registers the model file as fashion-mlp in a fresh temporary registry and starts samples/ModelServer over it with
#    micro-batching on (--max-batch-size 32 --max-queue-delay-ms 1); starts OrtServing over the ONNX file (one shared
#    InferenceSession, 1 intra-op thread). Both listen on free 127.0.0.1 ports and stay up for the whole run.
# 3. Checks that both answer the same request with the same outputs (within 1e-5), then, per round, for 1, 8 and 64
#    connections: a warm-up run of each server, then a measured run of each, in alternating order, all with the same
#    wrk Lua script (tools/serving-bench.lua) and the same body (tools/make-infer-body.sh).
# 4. Prints requests/s, p50, p99 and non-2xx/socket errors per server and the NeuralCore/ORT ratios (the median of
#    the rounds per point), with the load average before and after.
# short: 1 round, 3 s per measured run, 1 s warm-up (about a minute of load); long: 3 rounds, 10 s per run, 3 s
# warm-up (about 4 minutes of load). Both servers are stopped by process id when the script ends (also on Ctrl+C or
# failure).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-short}
case "$mode" in
  short) rounds=1 seconds=3 warmup=1 epochs=1 ;;
  long) rounds=3 seconds=10 warmup=3 epochs=3 ;;
  *) echo "usage: $0 [short|long], not '$mode'" >&2; exit 2 ;;
esac
command -v wrk >/dev/null || apt-get -o DPkg::Lock::Timeout=900 install -y wrk >/dev/null
command -v curl >/dev/null || apt-get -o DPkg::Lock::Timeout=900 install -y curl >/dev/null

out=artifacts/ort-serving-compare
echo "Publishing samples/FashionMnist, samples/ModelServer and benchmarks/OrtServing (Release) to $out"
dotnet publish samples/FashionMnist -c Release -o "$out/fashion" -nologo -v quiet >/dev/null
dotnet publish samples/ModelServer -c Release -o "$out/modelserver" -nologo -v quiet >/dev/null
dotnet publish benchmarks/OrtServing -c Release -o "$out/ortserving" -nologo -v quiet >/dev/null

work=$(mktemp -d)
nc_pid= ort_pid=
stop_servers() {
  for p in $nc_pid $ort_pid; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  nc_pid= ort_pid=
}
trap 'stop_servers; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Waits (at most 60 s) until process $1 answers 200 at $2 to the given curl arguments; $3 is its log.
wait_for() {
  local p=$1 target=$2 log=$3
  shift 3
  local deadline=$(( $(now_ms) + 60000 ))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$@" "$target")" == 200 ]]; do
    if ! kill -0 "$p" 2>/dev/null; then echo "the server exited:" >&2; cat "$log" >&2; exit 1; fi
    if (( $(now_ms) > deadline )); then echo "no answer from $target within 60 s" >&2; cat "$log" >&2; exit 1; fi
    sleep 0.05
  done
}

echo
echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(. /etc/os-release; echo "$PRETTY_NAME"), .NET $(dotnet --version)"
echo "Training the Fashion-MNIST MLP ($epochs epoch(s), bundled subset) and exporting it to ONNX"
timeout 900 "$out/fashion/FashionMnist" --model mlp --epochs "$epochs" --subset --device cpu --seed 42 \
  --out "$work/model" --export-onnx "$work/model/fashion-mlp.onnx" >"$work/train.log" 2>&1 \
  || { cat "$work/train.log" >&2; exit 1; }
grep -E "^(test loss|exported)" "$work/train.log" | sed 's/^/  /'
"$out/modelserver/ModelServer" register fashion-mlp "$work/model/fashion-mlp.safetensors" --registry "$work/registry" | sed 's/^/  /'

tools/make-infer-body.sh "$work/body.json"
export SERVING_BENCH_BODY="$work/body.json"
infer=(-X POST -H "Content-Type: application/json" --data-binary "@$work/body.json")

nc_url="http://127.0.0.1:$(free_port)"
"$out/modelserver/ModelServer" --urls "$nc_url" --registry "$work/registry" --no-train --allow-anonymous-inference \
  --max-batch-size 32 --max-queue-delay-ms 1 >"$work/nc.log" 2>&1 &
nc_pid=$!
ort_url="http://127.0.0.1:$(free_port)"
"$out/ortserving/OrtServing" --model "$work/model/fashion-mlp.onnx" --name fashion-mlp --urls "$ort_url" \
  --intra-op-threads 1 >"$work/ort.log" 2>&1 &
ort_pid=$!
route=/v2/models/fashion-mlp/infer
wait_for "$nc_pid" "$nc_url$route" "$work/nc.log" "${infer[@]}"
wait_for "$ort_pid" "$ort_url$route" "$work/ort.log" "${infer[@]}"

# The same model: both answers' outputs agree within 1e-5.
curl -s "${infer[@]}" "$nc_url$route" >"$work/nc.json"
curl -s "${infer[@]}" "$ort_url$route" >"$work/ort.json"
python3 - "$work/nc.json" "$work/ort.json" <<'PY'
import json, sys
a, b = (json.load(open(p))["outputs"][0]["data"] for p in sys.argv[1:3])
diff = max(abs(x - y) for x, y in zip(a, b))
if len(a) != len(b) or diff > 1e-5:
    sys.exit(f"the two servers disagree: {len(a)} and {len(b)} values, largest difference {diff}")
print(f"Both servers give the same {len(a)} outputs for the request (largest difference {diff:.2e}).")
PY

# One wrk run: prints "BENCH rps p50_us p99_us status>=400 socket_errors requests".
bench() { # URL CONNECTIONS SECONDS
  local threads=$(( $2 < 2 ? 1 : 2 ))
  wrk -t"$threads" -c"$2" -d"$3s" --latency --timeout 10s -s tools/serving-bench.lua "$1$route" | grep '^BENCH'
}

echo "Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$mode: $rounds round(s); per point a ${warmup} s warm-up and a ${seconds} s run of each server, alternating which goes first"
: >"$work/results"
for ((round = 1; round <= rounds; round++)); do
  for clients in 1 8 64; do
    if (( (round + clients) % 2 )); then order="nc ort"; else order="ort nc"; fi
    for server in $order; do
      url=$nc_url; [[ $server == ort ]] && url=$ort_url
      bench "$url" "$clients" "$warmup" >/dev/null
      read -r _ rps p50 p99 status socket total <<<"$(bench "$url" "$clients" "$seconds")"
      echo "$server $clients $round $rps $p50 $p99 $status $socket $total" >>"$work/results"
    done
  done
done
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
for p in $nc_pid $ort_pid; do kill -0 "$p" 2>/dev/null || { echo "a server exited during the run" >&2; exit 1; }; done

echo
printf '%-8s | %-36s | %-36s | %-15s\n' "" "NeuralCore.Serving (batching on)" "ONNX Runtime (OrtServing)" "NeuralCore/ORT"
printf '%-8s | %8s %8s %8s %9s | %8s %8s %8s %9s | %7s %7s\n' clients "req/s" "p50 ms" "p99 ms" "non-2xx" "req/s" "p50 ms" "p99 ms" "non-2xx" "req/s" "p99"
awk '
  function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  { k = $1 " " $2; rps[k] = rps[k] " " $4; p50[k] = p50[k] " " $5; p99[k] = p99[k] " " $6; bad[k] += $7 + $8 }
  END {
    split("1 8 64", cs, " ")
    for (i = 1; i <= 3; i++) {
      c = cs[i]; a = "nc " c; b = "ort " c
      printf "%-8d | %8.0f %8.3f %8.3f %9d | %8.0f %8.3f %8.3f %9d | %6.2fx %6.2fx\n", c,
        median(rps[a]), median(p50[a]) / 1000, median(p99[a]) / 1000, bad[a],
        median(rps[b]), median(p50[b]) / 1000, median(p99[b]) / 1000, bad[b],
        median(rps[a]) / median(rps[b]), median(p99[a]) / median(p99[b])
    }
  }' "$work/results"
echo "(medians over $rounds round(s); non-2xx counts responses with status >= 400 plus socket errors over all rounds;"
echo " the p99 ratio below 1 means NeuralCore's p99 is lower)"
echo
echo "Per run (server clients round req/s p50_us p99_us status>=400 socket_errors requests):"
sed 's/^/  /' "$work/results"
