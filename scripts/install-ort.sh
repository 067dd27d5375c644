#!/bin/bash
# Installs ONNX Runtime for Node (onnxruntime-node) into the repository's own
# node_modules (gitignored), for the ORT latency benchmark and parity tests.
# The npm package ships its native library, so the post-install download step
# is skipped. Quiet and quick when it is already there; a failed install (no
# registry) is reported once and does not fail the caller, since only the
# ORT-side benchmarks and tests need it and they say so themselves.
# The version is pinned (ORT_VERSION overrides): the README's speed ratios were measured
# against it, and ORT's own speed moves between releases (1.30.0 -> 1.31.1 was 12 %).
cd "$(dirname "$0")/.." || exit 1
want=${ORT_VERSION:-1.31.1}
have=$(node -p 'require("onnxruntime-node/package.json").version' 2>/dev/null)
if [ "$have" = "$want" ] && node -e 'require("onnxruntime-node")' >/dev/null 2>&1; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
    echo "install-ort: npm not found; ONNX Runtime benchmarks and tests will be skipped" >&2
    exit 0
fi
log=$(mktemp)
if ONNXRUNTIME_NODE_INSTALL=skip npm install --no-save --no-audit --no-fund "onnxruntime-node@$want" \
    >"$log" 2>&1 && node -e 'require("onnxruntime-node")' >/dev/null 2>&1; then
    echo "install-ort: onnxruntime-node $(node -p 'require("onnxruntime-node/package.json").version') installed in node_modules/" >&2
else
    echo "install-ort: could not install onnxruntime-node (ORT benchmarks and tests will be skipped):" >&2
    tail -5 "$log" >&2
fi
rm -f "$log"
exit 0
