#!/usr/bin/env bash
# Writes a v2 JSON infer request for fashion-mlp to OUT: the first test image of the bundled Fashion-MNIST subset,
# scaled to [0, 1]. Used by tools/serving-bench.sh and tools/cluster-load.sh (coreutils and awk only).
#
#   tools/make-infer-body.sh OUT.json
set -euo pipefail
out=${1:?usage: $0 OUT.json}
images="$(dirname "$0")/../samples/FashionMnist/data/fashion-mnist-subset/t10k-images-idx3-ubyte.gz"
# IDX: a 16-byte header, then 28x28 unsigned bytes per image. head stops gzip early (SIGPIPE): awk checks the count.
set +o pipefail
gzip -dc "$images" | tail -c +17 | head -c 784 | od -An -v -tu1 | awk '
  BEGIN { printf "{\"inputs\": [{\"name\": \"input\", \"shape\": [1, 1, 28, 28], \"datatype\": \"FP32\", \"data\": [" }
  { for (i = 1; i <= NF; i++) { printf "%s%.8g", (n++ ? ", " : ""), $i / 255 } }
  END { if (n != 784) { exit 1 } printf "]}]}\n" }' > "$out"
