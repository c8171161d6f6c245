#!/usr/bin/env bash
# Publishes NeuralCore's GPU conformance check and the benchmarks as self-contained linux-x64 programs (no .NET
# needed where they run) and runs them on a machine with an NVIDIA GPU and its driver.
#
#   tools/gpu-check.sh publish            build both into artifacts/gpu-check: the checker as one trimmed
#                                         executable (16 MiB), the benchmarks as bench.tar.gz (about 20 MiB)
#   tools/gpu-check.sh run [DEVICE]       run what publish produced: the device checks (Tanh at 45/100/400, Sin and
#                                         Cos at 1e17 with a time limit, MatMul with 2^21 rows, max-pool backward twice,
#                                         random fills against the CPU), then the conformance suite on DEVICE (cuda by
#                                         default, or opencl, or simulator), then the backend benchmarks
#   tools/gpu-check.sh all [DEVICE]       publish, then run
#
# Environment: GPU_CHECK_OUT (default artifacts/gpu-check), GPU_CHECK_BENCH_FILTER (default '*Backend*'),
# GPU_CHECK_BENCH_JOB (default short). The run writes its logs and BenchmarkDotNet's reports under
# GPU_CHECK_RESULTS (default $GPU_CHECK_OUT/results).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${GPU_CHECK_OUT:-$root/artifacts/gpu-check}
results=${GPU_CHECK_RESULTS:-$out/results}
filter=${GPU_CHECK_BENCH_FILTER:-*Backend*}
job=${GPU_CHECK_BENCH_JOB:-short}

publish() {
    rm -rf "$out/check" "$out/bench" "$out/bench.tar.gz"
    # The checker: one trimmed, compressed executable (ILGPU needs CoreLib kept whole; the project says so).
    dotnet publish "$root/tests/NeuralCore.Gpu.Check" -c Release -r linux-x64 --self-contained \
        -p:PublishTrimmed=true -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true \
        -p:DebugType=none -o "$out/check"
    # The benchmarks: BenchmarkDotNet reflects over its own and our assemblies, so only the framework is trimmed
    # (TrimMode=partial); they run in-process because the GPU machine has no SDK to build BenchmarkDotNet's child project.
    dotnet publish "$root/benchmarks/NeuralCore.Benchmarks" -c Release -r linux-x64 --self-contained \
        -p:PublishTrimmed=true -p:TrimMode=partial -p:SuppressTrimAnalysisWarnings=true -p:InvariantGlobalization=true -p:DebugType=none -o "$out/bench"
    # Not needed in-process on Linux: the disassembler's native library, Windows event tracing, the debugger's libraries.
    (cd "$out/bench" && rm -f libcapstone.so Microsoft.Diagnostics.Tracing.TraceEvent.dll libmscordaccore.so libmscordbi.so)
    find "$out/check" "$out/bench" -name '*.xml' -delete
    tar -C "$out" -czf "$out/bench.tar.gz" bench
    rm -rf "$out/bench"
    du -sh "$out/check" "$out/bench.tar.gz"
}

run() {
    local device=${1:-cuda}
    mkdir -p "$results"
    local status=0
    echo "== device checks and conformance on $device"
    # The simulator runs the same checks with a product of 4,096 rows (2^21 rows would take it hours).
    local rows=()
    if [ "$device" = simulator ]; then rows=(--gemm-rows 4096); fi
    # A kernel that never finishes on the device would hang the checker: give up after an hour.
    timeout 3600 "$out/check/NeuralCore.Gpu.Check" --device "$device" "${rows[@]}" 2>&1 | tee "$results/conformance-$device.log" || status=$?
    if [ "$device" != simulator ]; then
        echo "== benchmarks ($filter, job $job)"
        rm -rf "$out/bench" && tar -C "$out" -xzf "$out/bench.tar.gz"
        (cd "$results" && "$out/bench/NeuralCore.Benchmarks" --filter "$filter" --job "$job" --inProcess \
            --artifacts "$results/BenchmarkDotNet.Artifacts" 2>&1 | tee "$results/benchmarks.log") || status=$?
    fi
    return $status
}

case "${1:-all}" in
    publish) publish ;;
    run) run "${2:-cuda}" ;;
    all) publish; run "${2:-cuda}" ;;
    *) echo "usage: $0 publish | run [cuda|opencl|simulator] | all [cuda|opencl|simulator]" >&2; exit 2 ;;
esac
