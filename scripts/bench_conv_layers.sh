#!/bin/bash
# The float ResNet18 side by side: ONNX Runtime's whole-network latency (one
# thread) and the sum of our conv kernels over the same network's 20 convs
# (bench_conv2d_f32, best ISA), in one run so both see the same machine load.
#   scripts/bench_conv_layers.sh [BUILD]      (run by `make bench`)
# The model is torchvision resnet18(num_classes=2) with a 1-channel 7x7 stem,
# exported at opset 17 for input 1x1x64x101 into BUILD/cache/ (45 MB, never
# committed); it needs Debian's python3-torch/torchvision, else ORT is skipped.
set -u
build=${1:-build}
cd "$(dirname "$0")/.." || exit 1
bench=$build/bench/bench_conv2d_f32
[ -x "$bench" ] || { echo "bench_conv_layers: $bench not built (make bench)" >&2; exit 1; }

model=$build/cache/resnet18_1x64x101.onnx
if [ ! -s "$model" ]; then
    mkdir -p "$build/cache"
    /usr/bin/python3 - "$model" <<'EOF' >/dev/null 2>&1 || rm -f "$model"
import sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(num_classes=2)
m.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
m.eval()
torch.onnx.export(m, torch.randn(1, 1, 64, 101), sys.argv[1], opset_version=17,
                  input_names=["input"], output_names=["logits"])
EOF
fi

ort_ms=
if [ -s "$model" ]; then
    scripts/install-ort.sh
    if out=$(node bench/ort_bench.mjs "$model" --runs 300 --warmup 30 --json 2>&1); then
        read -r ort_ms ort_min ort_cpu < <(node -e 'const r = JSON.parse(process.argv[1]);
            console.log(r.median_ms.toFixed(3), r.min_ms.toFixed(3), r.cpu_median_ms.toFixed(3))' "$out")
        echo "onnxruntime $(node -p 'require("onnxruntime-node/package.json").version') (whole network, 1 thread): wall clock median $ort_ms ms, min $ort_min ms; CPU time median $ort_cpu ms"
    else
        echo "onnxruntime: skipped ($out)"
    fi
else
    echo "onnxruntime: skipped (could not export the model: needs /usr/bin/python3 with torch and torchvision)"
fi

conv=$("$bench" --quiet --seconds 3 --isa "$("$bench" --active-isa)")
echo "$conv"
sum=$(echo "$conv" | awk '/sum of 20 convs/ {print $5}')
wall=$(echo "$conv" | awk '/sum of 20 convs/ {for (i = 1; i <= NF; i++) if ($i == "median") print $(i + 1)}')
if [ -n "$ort_ms" ] && [ -n "$sum" ]; then
    awk -v oc="$ort_cpu" -v ow="$ort_ms" -v s="$sum" -v w="$wall" 'BEGIN {
        printf "our 20 convs / ORT whole network: %.2f by CPU time (%.3f / %.3f ms), %.2f by wall clock (%.3f / %.3f ms)\n", s / oc, s, oc, w / ow, w, ow }'
fi
