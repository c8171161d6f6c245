#!/usr/bin/env bash
# Fuzzes NeuralCore's file readers (safetensors, model manifest, Sequential.Load + Forward, IDX, CIFAR-10 batches,
# tar.gz extraction) with the runner in tests/NeuralCore.Fuzz.
#
#   tools/fuzz.sh short                 every target, 5,000 cases each, fixed seed (a few minutes)
#   tools/fuzz.sh long [SECONDS] [TARGET]
#                                       every target (or TARGET) for SECONDS each (default 600), seed from the clock,
#                                       the checked-in corpus as extra starting inputs
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
  run)
    exec dotnet "$runner" "$@" ;;
  *)
    echo "usage: tools/fuzz.sh short | long [SECONDS] [TARGET] | run RUNNER-ARGS..." >&2
    exit 2 ;;
esac
