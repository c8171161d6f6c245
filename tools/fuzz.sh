#!/usr/bin/env bash
# Fuzzes NeuralCore's file readers (safetensors, model manifest, Sequential.Load + Forward, IDX, CIFAR-10 batches,
# tar.gz extraction) with the runner in tests/NeuralCore.Fuzz.
#
#   tools/fuzz.sh short                 every target, 5,000 cases each, fixed seed (a few minutes)
#   tools/fuzz.sh long [SECONDS] [TARGET]
#                                       every target (or TARGET) for SECONDS each (default 600), seed from the clock,
#                                       the checked-in corpus as extra starting inputs
#   tools/fuzz.sh afl [SECONDS] [TARGET]
#                                       coverage-guided: afl-fuzz (Debian's afl++, installed when missing) over a copy of
#                                       NeuralCore.dll instrumented by SharpFuzz, for SECONDS (default 600) on each
#                                       target (or TARGET); results in fuzz-afl/<target>/
#   tools/fuzz.sh run ARGS...           the runner with its own arguments:
#                                       --target NAME|all --cases N --seed S --time SECONDS --corpus DIR
#                                       --crashers DIR
#
# Failing inputs are minimized into fuzz-crashers/<target>/ with a .txt describing the failure. To keep one as a
# regression test, copy it to tests/NeuralCore.Tests/Fuzz/Corpus/<target>/. The runner exits 1 when any case failed,
# 3 when its watchdog stopped a case that hung or exhausted memory.
set -euo pipefail
cd "$(dirname "$0")/.."
runner=tests/NeuralCore.Fuzz/bin/Release/net10.0/NeuralCore.Fuzz.dll
dotnet build tests/NeuralCore.Fuzz -c Release -warnaserror -v quiet -nologo >/dev/null
mode=${1:-short}
shift || true
case "$mode" in
  short)
    exec dotnet "$runner" --target all --cases 5000 --seed 1 ;;
  long)
    seconds=${1:-600}
    target=${2:-all}
    exec dotnet "$runner" --target "$target" --cases 2000000000 --time "$seconds" --seed "$(date +%s)" \
      --corpus tests/NeuralCore.Tests/Fuzz/Corpus ;;
  afl)
    seconds=${1:-600}
    targets=${2:-safetensors manifest sequential idx cifar10 targz}
    if ! command -v afl-fuzz >/dev/null; then
      apt-get update && apt-get install -y --no-install-recommends afl++
    fi
    dotnet tool restore >/dev/null
    status=0
    for target in $targets; do
      work="fuzz-afl/$target"
      rm -rf "$work" && mkdir -p "$work"
      # Instrument a copy, so the build output stays as it was.
      cp -r "$(dirname "$runner")" "$work/bin"
      dotnet sharpfuzz "$work/bin/NeuralCore.dll" >/dev/null
      dotnet "$runner" seeds "$target" "$work/seeds" >/dev/null
      # afl-fuzz cannot check a managed program for instrumentation (AFL_SKIP_BIN_CHECK); SharpFuzz's fork server
      # reports the coverage. -V stops it after the given time.
      AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
        afl-fuzz -V "$seconds" -t 10000 -m none -i "$work/seeds" -o "$work/out" -- \
        dotnet "$work/bin/NeuralCore.Fuzz.dll" afl "$target" > "$work/afl.log" 2>&1 || true
      stats="$work/out/default/fuzzer_stats"
      if [[ ! -f "$stats" ]]; then
        echo "$target: afl-fuzz did not start; see $work/afl.log" >&2
        status=1
        continue
      fi
      field() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
      crashes=$(field saved_crashes)
      hangs=$(field saved_hangs)
      echo "$target: $(field execs_done) executions, $(field corpus_count) inputs in the queue, coverage $(field bitmap_cvg), $crashes crashes, $hangs hangs ($work/out/default)"
      if (( crashes > 0 || hangs > 0 )); then status=1; fi
    done
    exit "$status" ;;
  run)
    exec dotnet "$runner" "$@" ;;
  *)
    echo "usage: tools/fuzz.sh short | long [SECONDS] [TARGET] | afl [SECONDS] [TARGET] | run RUNNER-ARGS..." >&2
    exit 2 ;;
esac
