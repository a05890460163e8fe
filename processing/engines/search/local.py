"""Local features for re-ranking: keypoints + descriptors, packed compactly, and geometric verification.

The global embedding says "looks alike"; this module says "is the same object": descriptor matches that a
single homography explains (RANSAC) are very unlikely between two different products, even of the same kind.

Catalog features are extracted once at indexing time and stored by the caller as bytes (`pack`), about
16 KB per image for ORB, so a query never recomputes catalog features. Descriptors are not mirror
invariant, so the query side is extracted twice (as uploaded and mirrored) and the better match counts.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

MAGIC = b"VLF1"
KIND_ORB = 1
KIND_SIFT = 2
WORK_SIDE = 512  # features are extracted at this longest side, so thresholds are in these pixel units
N_FEATURES = 500
RATIO = 0.8
RANSAC_PX = 6.0
MIN_MATCHES = 8

_HEADER = struct.Struct("<4sBHHH")  # magic, kind, n, width, height


@dataclass(frozen=True)
class LocalFeatures:
    kind: int
    xy: np.ndarray  # (n, 2) float32, pixel coordinates at WORK_SIDE scale
    desc: np.ndarray  # (n, 32) uint8 for ORB, (n, 128) uint8 for SIFT
    size: tuple[int, int]  # (width, height) of the working image

    def __len__(self) -> int:
        return int(self.xy.shape[0])


def _gray(image: Image.Image) -> np.ndarray:
    image = image.convert("L")
    w, h = image.size
    scale = WORK_SIDE / max(w, h)
    if scale < 1:
        image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
    return np.asarray(image)


def _detector(kind: int):
    # cv2 feature objects are cheap but not documented thread-safe: make one per call site on demand
    if kind == KIND_ORB:
        return cv2.ORB_create(nfeatures=N_FEATURES, scaleFactor=1.2, nlevels=8, fastThreshold=10)
    return cv2.SIFT_create(nfeatures=N_FEATURES)


def extract(image: Image.Image, kind: int = KIND_ORB, mirror: bool = False) -> LocalFeatures:
    g = _gray(image)
    if mirror:
        g = np.ascontiguousarray(g[:, ::-1])
    kps, desc = _detector(kind).detectAndCompute(g, None)
    if desc is None or not kps:
        width = 32 if kind == KIND_ORB else 128
        return LocalFeatures(
            kind, np.zeros((0, 2), np.float32), np.zeros((0, width), np.uint8), g.shape[::-1]
        )
    xy = np.array([k.pt for k in kps], dtype=np.float32)
    # SIFT values are already 0..255 after OpenCV's own scaling, so uint8 storage loses almost nothing
    d = desc if kind == KIND_ORB else np.clip(np.rint(desc), 0, 255).astype(np.uint8)
    return LocalFeatures(kind, xy, d, (int(g.shape[1]), int(g.shape[0])))


def pack(f: LocalFeatures) -> bytes:
    """Compact storage: header + float16 coordinates + uint8 descriptors."""
    return (
        _HEADER.pack(MAGIC, f.kind, len(f), f.size[0], f.size[1])
        + f.xy.astype(np.float16).tobytes()
        + np.ascontiguousarray(f.desc, dtype=np.uint8).tobytes()
    )


def unpack(data: bytes) -> LocalFeatures:
    magic, kind, n, w, h = _HEADER.unpack_from(data)
    if magic != MAGIC or kind not in (KIND_ORB, KIND_SIFT):
        raise ValueError("not a packed local-feature blob")
    width = 32 if kind == KIND_ORB else 128
    off = _HEADER.size
    xy = np.frombuffer(data, np.float16, n * 2, off).reshape(n, 2).astype(np.float32)
    off += n * 4
    desc = np.frombuffer(data, np.uint8, n * width, off).reshape(n, width)
    return LocalFeatures(kind, xy, desc, (w, h))


def _good_matches(q: LocalFeatures, c: LocalFeatures) -> tuple[np.ndarray, np.ndarray]:
    if len(q) < 2 or len(c) < 2:
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    if q.kind == KIND_ORB:
        matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
        knn = matcher.knnMatch(q.desc, c.desc, k=2)
    else:
        matcher = cv2.BFMatcher(cv2.NORM_L2)
        knn = matcher.knnMatch(q.desc.astype(np.float32), c.desc.astype(np.float32), k=2)
    qi, ci = [], []
    for pair in knn:
        if len(pair) == 2 and pair[0].distance < RATIO * pair[1].distance:
            qi.append(pair[0].queryIdx)
            ci.append(pair[0].trainIdx)
    return q.xy[qi], c.xy[ci]


def verify(q: LocalFeatures, c: LocalFeatures) -> int:
    """Number of matches consistent with one homography (0 when fewer than MIN_MATCHES survive)."""
    if q.kind != c.kind:
        raise ValueError("local features of different kinds cannot be matched")
    src, dst = _good_matches(q, c)
    if len(src) < MIN_MATCHES:
        return 0
    h, mask = cv2.findHomography(src, dst, cv2.USAC_MAGSAC, RANSAC_PX, maxIters=2000, confidence=0.995)
    if h is None or mask is None:
        return 0
    # A near-singular homography collapses many matches onto a point: that is not the same object.
    det = float(np.linalg.det(h[:2, :2]))
    if not (0.02 < abs(det) < 50):
        return 0
    return int(mask.sum())


def verify_best(queries: list[LocalFeatures], c: LocalFeatures) -> int:
    return max((verify(q, c) for q in queries), default=0)
