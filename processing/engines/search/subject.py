"""Subject detection for search by picture: the main product box (the seed's `Region`) and other candidate
subjects (`MultiRegion`), plus `Region` "x1,x2,y1,y2" parsing.

Why it matters: catalog photos are often composited into rooms, and an upload may share that room. Searching
the whole picture then matches the background. Embedding and local features of the subject box fix that.

`SubjectDetector` is the plug-in point: `SaliencyDetector` (no model: colour contrast against the border,
spectral-residual saliency and the embedding network's own activation map) is the default; `MatteDetector`
wraps any function returning an alpha matte, e.g. the cut-out engine's, when that is available.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from PIL import Image

from processing.engines.search.errors import SearchParamError


@dataclass(frozen=True, order=True)
class Box:
    """Pixel box; x1/y1 exclusive (the Aliyun `Region` text uses the same corners)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def to_region(self) -> str:
        return f"{self.x0},{self.x1},{self.y0},{self.y1}"

    def iou(self, other: Box) -> float:
        ix = max(0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union else 0.0

    def expand(self, frac: float, width: int, height: int) -> Box:
        dx, dy = round(self.width * frac), round(self.height * frac)
        return Box(
            max(0, self.x0 - dx), max(0, self.y0 - dy), min(width, self.x1 + dx), min(height, self.y1 + dy)
        )


_REGION_RE = re.compile(r"^\s*(\d{1,5})\s*,\s*(\d{1,5})\s*,\s*(\d{1,5})\s*,\s*(\d{1,5})\s*$")


def parse_region(text: str, width: int | None = None, height: int | None = None) -> Box:
    """Parse Aliyun `Region` "x1,x2,y1,y2" (x1,y1 top-left; x2,y2 bottom-right); check it fits the image."""
    if not isinstance(text, str) or len(text) > 64:
        raise SearchParamError("BadRequest", "Region must be a string 'x1,x2,y1,y2'")
    m = _REGION_RE.match(text)
    if not m:
        raise SearchParamError("BadRequest", "Region must be four non-negative integers 'x1,x2,y1,y2'")
    x1, x2, y1, y2 = (int(g) for g in m.groups())
    if x2 <= x1 or y2 <= y1:
        raise SearchParamError("BadRequest", "Region needs x1 < x2 and y1 < y2")
    if width is not None and height is not None:
        if x2 > width or y2 > height:
            raise SearchParamError("BadRequest", f"Region lies outside the {width}x{height} image")
        if (x2 - x1) < 8 or (y2 - y1) < 8:
            raise SearchParamError("BadRequest", "Region is too small to search")
    return Box(x1, y1, x2, y2)


class SubjectDetector(Protocol):
    def detect(self, image: Image.Image, activation: np.ndarray | None = None) -> list[Box]:
        """Candidate subject boxes, best first; empty when nothing stands out. `activation` is an optional
        coarse objectness map over the whole image (0..1), e.g. `Embedding.activation` cropped to content."""
        ...


def boxes_from_mask(
    mask: np.ndarray,
    weight: np.ndarray | None = None,
    min_area_frac: float = 0.01,
    max_boxes: int = 5,
) -> list[Box]:
    """Connected components of a boolean mask as boxes, ranked by the summed `weight` (or area)."""
    m = mask.astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(m, connectivity=8)
    h, w = m.shape
    w_arr = weight if weight is not None else np.ones_like(m, dtype=np.float32)
    sums = np.bincount(labels.ravel(), weights=w_arr.ravel(), minlength=n)
    ranked = []
    for i in range(1, n):
        x, y, bw, bh, area = stats[i]
        if area < min_area_frac * h * w:
            continue
        ranked.append((float(sums[i]), Box(int(x), int(y), int(x + bw), int(y + bh))))
    ranked.sort(key=lambda t: -t[0])
    return [b for _, b in ranked[:max_boxes]]


def _scale_box(b: Box, sx: float, sy: float, width: int, height: int) -> Box:
    return Box(
        max(0, int(b.x0 * sx)),
        max(0, int(b.y0 * sy)),
        min(width, int(np.ceil(b.x1 * sx))),
        min(height, int(np.ceil(b.y1 * sy))),
    )


def _norm01(a: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(a, 2), np.percentile(a, 99.5)
    return np.clip((a - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)


def spectral_residual(gray: np.ndarray) -> np.ndarray:
    """Hou & Zhang 2007 saliency on a small grayscale image."""
    f = np.fft.fft2(gray.astype(np.float32))
    log_amp = np.log(np.abs(f) + 1e-6)
    phase = np.angle(f)
    residual = log_amp - cv2.blur(log_amp, (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    return cv2.GaussianBlur(sal.astype(np.float32), (0, 0), 2.5)


def border_contrast(lab: np.ndarray, k: int = 4) -> np.ndarray:
    """Distance of each pixel to the nearest of k colours sampled on the image border (the backdrop)."""
    border = np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]).astype(np.float32)
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    # k-means++ seeding draws from OpenCV's per-thread RNG: with one attempt and no fixed seed the detected
    # box (and so an image's stored vectors) depended on what the thread had computed before. Five attempts
    # keep the most compact clustering, so the result no longer hinges on the seed either.
    cv2.setRNGSeed(0x5EA2C4)
    _, _, centres = cv2.kmeans(border, k, None, crit, 5, cv2.KMEANS_PP_CENTERS)
    flat = lab.reshape(-1, 3).astype(np.float32)
    d = np.min(np.linalg.norm(flat[:, None, :] - centres[None, :, :], axis=2), axis=1)
    return d.reshape(lab.shape[:2])


# Saliency percentiles for the stricter second pass of `SaliencyDetector.detect`.
CORE_PERCENTILES = (85.0, 92.0)


class SaliencyDetector:
    """Model-free subject finder tuned for product photos (studio backdrops and rooms)."""

    def __init__(self, work_side: int = 128, max_boxes: int = 5) -> None:
        self.work_side = work_side
        self.max_boxes = max_boxes

    def saliency(self, image: Image.Image, activation: np.ndarray | None = None) -> np.ndarray:
        w, h = image.size
        s = self.work_side / max(w, h)
        small = np.asarray(
            image.convert("RGB").resize(
                (max(8, round(w * s)), max(8, round(h * s))), Image.Resampling.BILINEAR
            )
        )
        lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB)
        colour = _norm01(cv2.GaussianBlur(border_contrast(lab), (0, 0), 1.5))
        sr = _norm01(spectral_residual(lab[..., 0]))
        parts = [(0.5, colour), (0.2, sr)]
        if activation is not None:
            act = cv2.resize(activation.astype(np.float32), (small.shape[1], small.shape[0]), cv2.INTER_CUBIC)
            parts.append((0.3, _norm01(act)))
        total = sum(wt for wt, _ in parts)
        return sum(wt * p for wt, p in parts) / total

    def detect(self, image: Image.Image, activation: np.ndarray | None = None) -> list[Box]:
        """Components of the Otsu-thresholded saliency map, strongest first; then, up to `max_boxes`, the
        salient cores found at stricter thresholds (see `CORE_PERCENTILES`) that no earlier box covers."""
        sal = self.saliency(image, activation)
        u8 = (sal * 255).astype(np.uint8)
        thr, _ = cv2.threshold(u8, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))

        def components(level: float) -> list[Box]:
            mask = cv2.morphologyEx((u8 > level).astype(np.uint8), cv2.MORPH_CLOSE, kernel).astype(bool)
            return boxes_from_mask(mask, sal, min_area_frac=0.01, max_boxes=self.max_boxes)

        otsu_level = max(thr, 60)
        boxes = components(otsu_level)
        # In a busy room the Otsu mask merges the product with furniture into one picture-sized box; a
        # product whose body is close to a backdrop colour only shows as a core (outline, print, a
        # coloured part) at a stricter level. Those cores are kept as further candidates, after the
        # Otsu boxes so the main region of clean product shots does not change.
        for q in CORE_PERCENTILES:
            if len(boxes) >= self.max_boxes:
                break
            level = float(np.percentile(u8, q))
            if level <= otsu_level:
                continue
            for b in components(level):
                if len(boxes) < self.max_boxes and all(b.iou(k) < 0.5 for k in boxes):
                    boxes.append(b)
        w, h = image.size
        sx, sy = w / sal.shape[1], h / sal.shape[0]
        return [_scale_box(b, sx, sy, w, h) for b in boxes]


class MatteDetector:
    """Adapter for a matting/cut-out model: `matte(image)` returns alpha (H, W) in 0..1 or 0..255."""

    def __init__(
        self, matte: Callable[[Image.Image], np.ndarray], threshold: float = 0.5, max_boxes: int = 5
    ):
        self.matte = matte
        self.threshold = threshold
        self.max_boxes = max_boxes

    def detect(self, image: Image.Image, activation: np.ndarray | None = None) -> list[Box]:
        alpha = np.asarray(self.matte(image), dtype=np.float32)
        if alpha.max() > 1.0:
            alpha = alpha / 255.0
        return boxes_from_mask(alpha > self.threshold, alpha, min_area_frac=0.005, max_boxes=self.max_boxes)


def main_region(boxes: list[Box], width: int, height: int) -> Box:
    """The search region: the best candidate grown by a margin, or the whole image when nothing was found."""
    if not boxes:
        return Box(0, 0, width, height)
    return boxes[0].expand(0.06, width, height)
