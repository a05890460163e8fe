"""The ISNet model: where its weights are, one onnxruntime session per file, and one model pass.

onnxruntime is imported late, on the first session: importing the engine must stay cheap.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import cv2
import numpy as np

# processing/engines/cutout/model.py -> the repository root, where var/models lives by default.
REPO_ROOT = Path(__file__).resolve().parents[3]
MODEL_FILES = {
    "general": "isnet-medium-dynamic.onnx",
    "human": "isnet-medium-dynamic.onnx",
}
MODEL_TYPES = tuple(MODEL_FILES)


class ModelMissingError(RuntimeError):
    """The model weights are not installed; `make models` fetches them."""


def model_dir() -> Path:
    configured = os.environ.get("VITRINE_MODEL_DIR")
    return Path(configured) if configured else REPO_ROOT / "var" / "models"


def default_threads() -> int:
    configured = os.environ.get("VITRINE_CUTOUT_THREADS")
    return int(configured) if configured else min(os.cpu_count() or 1, 4)


def model_path(model_type: str = "general", directory: Path | None = None) -> Path:
    if model_type not in MODEL_FILES:
        raise ValueError(f"unknown model_type {model_type!r}; expected one of {', '.join(MODEL_TYPES)}")
    return (directory or model_dir()) / MODEL_FILES[model_type]


_sessions: dict[tuple[Path, int], object] = {}
_sessions_lock = threading.Lock()


def get_session(model_type: str = "general", *, directory: Path | None = None, threads: int | None = None):
    """One onnxruntime session per model file and thread count, created on first use.

    InferenceSession.run is thread-safe, so the cached session is shared by all threads.
    """
    path = model_path(model_type, directory)
    key = (path, threads or default_threads())
    session = _sessions.get(key)
    if session is not None:
        return session
    with _sessions_lock:
        session = _sessions.get(key)
        if session is None:
            if not path.is_file():
                raise ModelMissingError(
                    f"cut-out model {path} is missing: run `make models` (or set VITRINE_MODEL_DIR)"
                )
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = key[1]
            options.inter_op_num_threads = 1
            # The arena would keep the largest activation set of every input size seen; with
            # crops of varying size that shows up as RSS creeping up over hundreds of images.
            options.enable_cpu_mem_arena = False
            options.log_severity_level = 3
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            _sessions[key] = session
    return session


def clear_sessions() -> None:
    with _sessions_lock:
        _sessions.clear()


def run_model(rgb: np.ndarray, size: tuple[int, int], model_type: str = "general") -> np.ndarray:
    """Model probability (float32 0..1) for `rgb` resized to size=(width, height), at that size."""
    width, height = size
    interpolation = cv2.INTER_AREA if width * height < rgb.shape[0] * rgb.shape[1] else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (width, height), interpolation=interpolation).astype(np.float32)
    tensor = np.ascontiguousarray(((resized - 128.0) / 256.0).transpose(2, 0, 1)[None])
    output = get_session(model_type).run(["output"], {"input": tensor})[0]
    return np.clip(output[0, 0], 0.0, 1.0)


def model_input_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Aspect-preserving model size with both sides multiples of 32 (the network's stride)."""
    scale = long_side / max(width, height)
    return (max(32, round(width * scale / 32) * 32), max(32, round(height * scale / 32) * 32))
