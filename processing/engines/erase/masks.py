"""Box-local masks and text-line geometry, shared by every step of the erase pipeline.

A mask is kept box-local: a box (x0, y0, x1, y1 exclusive, image pixels) and a bool array of the
box's shape, so an element on a 3000 px photo never costs an image-size array (`tight`, `window_of`,
`union`, `overlap`, `share_on`). The quadrilateral helpers read a text line's height and baseline
angle, grow it and rasterise it.
"""

from __future__ import annotations

import cv2
import numpy as np

# x0, y0, x1, y1 (exclusive) in image pixels.
Box = tuple[int, int, int, int]


def grown_quad(quad: np.ndarray, pad: float) -> np.ndarray:
    (cx, cy), (w, h), angle = cv2.minAreaRect(quad.astype(np.float32))
    return cv2.boxPoints(((cx, cy), (w + 2 * pad, h + 2 * pad), angle))


def text_height(quad: np.ndarray) -> float:
    _, (w, h), _ = cv2.minAreaRect(quad.astype(np.float32))
    return float(max(2.0, min(w, h)))


def text_angle(quad: np.ndarray) -> float:
    """Baseline angle in degrees (-90, 90], from the long side of the box."""
    q = quad.astype(np.float64)
    edges = [q[(i + 1) % 4] - q[i] for i in range(4)]
    longest = max(edges, key=lambda e: float(np.hypot(*e)))
    angle = float(np.degrees(np.arctan2(-longest[1], longest[0])))
    if angle <= -90:
        angle += 180
    if angle > 90:
        angle -= 180
    return angle


def angle_gap(a: float, b: float) -> float:
    gap = abs(a - b) % 180
    return min(gap, 180 - gap)


def poly_mask(shape: tuple[int, int], quad: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    points = np.round(quad - np.array(offset, np.float32)).astype(np.int32)
    cv2.fillPoly(mask, [points], 1)
    return mask.astype(bool)


def disk(radius: int) -> np.ndarray:
    radius = max(1, int(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def fill_holes(mask: np.ndarray) -> np.ndarray:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros(mask.shape, np.uint8)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    return filled.astype(bool)


def mask_box(mask: np.ndarray) -> Box:
    """x0, y0, x1, y1 (exclusive) of the set pixels of a non-empty bool mask."""
    x, y, w, h = cv2.boundingRect(mask.view(np.uint8))
    return (int(x), int(y), int(x + w), int(y + h))


# Masks are kept box-local: a box (x0, y0, x1, y1 exclusive, image pixels) and a bool array of
# its shape. These helpers never build an image-size array.


def tight(mask: np.ndarray, x0: int = 0, y0: int = 0) -> tuple[Box, np.ndarray]:
    """A bool mask lying in a window whose top-left corner is (x0, y0), cut down to its set
    pixels: their box in image pixels and a copy of the mask inside it (a copy, so the window's
    array is not kept alive). Empty: box (0, 0, 0, 0), as `mask_box` of an empty mask."""
    if mask.size == 0:
        return (0, 0, 0, 0), np.zeros((0, 0), bool)
    bx0, by0, bx1, by1 = mask_box(mask)
    if bx1 == bx0 or by1 == by0:
        return (0, 0, 0, 0), np.zeros((0, 0), bool)
    x0, y0 = int(x0), int(y0)
    return (x0 + bx0, y0 + by0, x0 + bx1, y0 + by1), mask[by0:by1, bx0:bx1].copy()


def window_of(box: Box, local: np.ndarray, window: Box) -> np.ndarray:
    """A box-local mask seen through `window`: a new bool array of the window's shape."""
    wx0, wy0, wx1, wy1 = (int(v) for v in window)
    out = np.zeros((max(0, wy1 - wy0), max(0, wx1 - wx0)), bool)
    x0, y0, x1, y1 = box
    ix0, iy0, ix1, iy1 = max(x0, wx0), max(y0, wy0), min(x1, wx1), min(y1, wy1)
    if ix0 < ix1 and iy0 < iy1:
        out[iy0 - wy0 : iy1 - wy0, ix0 - wx0 : ix1 - wx0] = local[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
    return out


def union(box_a: Box, a: np.ndarray, box_b: Box, b: np.ndarray) -> tuple[Box, np.ndarray]:
    """Pixels set in either box-local mask, as a box-local mask tight on its set pixels."""
    if not b.size:
        return tight(a, box_a[0], box_a[1])
    if not a.size:
        return tight(b, box_b[0], box_b[1])
    window = (
        min(box_a[0], box_b[0]),
        min(box_a[1], box_b[1]),
        max(box_a[2], box_b[2]),
        max(box_a[3], box_b[3]),
    )
    merged = window_of(box_a, a, window)
    merged |= window_of(box_b, b, window)
    return tight(merged, window[0], window[1])


def overlap(box_a: Box, a: np.ndarray, box_b: Box, b: np.ndarray) -> int:
    """Number of pixels set in both box-local masks."""
    ix0, iy0 = max(box_a[0], box_b[0]), max(box_a[1], box_b[1])
    ix1, iy1 = min(box_a[2], box_b[2]), min(box_a[3], box_b[3])
    if ix0 >= ix1 or iy0 >= iy1:
        return 0
    window = (ix0, iy0, ix1, iy1)
    return int((window_of(box_a, a, window) & window_of(box_b, b, window)).sum())


def share_on(subject: np.ndarray, box: Box, local: np.ndarray) -> float:
    """Share of a box-local mask's pixels that lie on the subject (NaN when it has none, as the
    mean of an empty selection)."""
    x0, y0, x1, y1 = box
    return float(subject[y0:y1, x0:x1][local].mean())
