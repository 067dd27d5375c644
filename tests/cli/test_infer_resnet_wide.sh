#!/bin/bash
# PyTorch parity at width 32 (11 MB models, too big to commit): exports
# torchvision ResNet18 at width 32 with a 7x7 stem (opset 13) and a 3x3 stem
# (opset 17) into a temporary directory with tests/gen/export_resnet.py, then
# holds the engine to PyTorch's logits (max abs 1e-4, batch 2 on a batch-1
# export) through test_onnx_resnet. Needs Debian's python3-torch stack; runs in
# the plain build only (the ASan build runs the narrow fixtures).
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-$ROOT/build}
case "$BUILD" in *asan*)
    echo "ok - wide_resnet_parity # SKIP in the sanitizer build"
    exit 0 ;;
esac
if ! /usr/bin/python3 -c 'import torch, torchvision, onnx' 2>/dev/null; then
    echo "ok - wide_resnet_parity # SKIP /usr/bin/python3 has no torch/torchvision/onnx"
    exit 0
fi
for v in "w32_stem7_op13 --stem 7 --opset 13" "w32_stem3_op17 --stem 3 --opset 17"; do
    set -- $v
    name=$1
    shift
    if ! /usr/bin/python3 "$ROOT/tests/gen/export_resnet.py" model "$TMP/$name.onnx" --width 32 \
        --batch 2 --seed 3 "$@" >"$TMP/$name.log" 2>&1; then
        t_fail "export_$name" "$(tail -3 "$TMP/$name.log")"
        t_done
        exit 1
    fi
    t_ok "export_$name"
done
cd "$ROOT" || exit 1
WW_RESNET_EXTRA="$TMP/w32_stem7_op13.onnx:$TMP/w32_stem3_op17.onnx" \
    "$BUILD/tests/test_onnx_resnet" resnet18_extra_models_match_pytorch || T_FAILED=$((T_FAILED + 1))
t_done
