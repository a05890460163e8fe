"""What one text line covers: its glyph strokes, and the colour block it may sit in.

`glyph_mask` finds the strokes as the pixels that stand out from the background a smooth fill from
around the box predicts, grown over their anti-aliased fringe (a `Glyphs`, with the contrast,
coverage and height the classification reads). `colour_block` finds the uniform coloured shape
enclosing the line (banner, badge, label, ribbon) by flood fill from a ring around its box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from processing.engines.erase.masks import Box, disk, fill_holes, grown_quad, poly_mask, text_height, tight

# Glyph masks: strokes are grown by GLYPH_GROW + height/30 pixels over their anti-aliased fringe;
# fringe pixels count from this share of the stroke threshold.
GLYPH_GROW, GLYPH_WEAK = 1, 0.45
# Pixels a colour block is grown by to cover its anti-aliased edge.
BLOCK_EDGE = 2


@dataclass
class Glyphs:
    box: Box  # of the set pixels of `mask`
    mask: np.ndarray  # bool, inside `box`
    contrast: float  # typical colour distance (Lab) of glyph pixels from the background
    coverage: float  # glyph pixels / text box pixels
    height: float


def _smooth_background(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """What the box would look like without its text: a Telea fill from around it, computed at
    half resolution when the box is large (the estimate is smooth anyway, at a quarter the cost)."""
    height, width = hole.shape
    if min(height, width) < 48:
        return cv2.inpaint(crop, hole.astype(np.uint8) * 255, 5, cv2.INPAINT_TELEA)
    size = (width // 2, height // 2)
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.astype(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 0
    filled = cv2.inpaint(small, small_hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)
    return cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)


def glyph_mask(rgb: np.ndarray, lab: np.ndarray, quad: np.ndarray) -> Glyphs | None:
    """Glyph strokes of one text line: pixels that stand out from the background that a smooth
    fill from around the box predicts, grown over their anti-aliased fringe."""
    height, width = rgb.shape[:2]
    text_h = text_height(quad)
    pad = max(3.0, 0.3 * text_h)
    ring = max(4.0, 0.25 * text_h)
    inner_quad = grown_quad(quad, pad)
    outer_quad = grown_quad(quad, pad + ring)
    x0, y0 = np.floor(outer_quad.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(outer_quad.max(axis=0)).astype(int) + 2
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    shape = (y1 - y0, x1 - x0)
    inner = poly_mask(shape, inner_quad, (x0, y0))
    if not inner.any() or inner.all():
        return None
    crop = rgb[y0:y1, x0:x1]
    background = _smooth_background(crop, inner)
    crop_lab = lab[y0:y1, x0:x1]
    background_lab = cv2.cvtColor(background, cv2.COLOR_RGB2LAB).astype(np.float32)
    distance = np.linalg.norm(crop_lab - background_lab, axis=2)
    values = distance[inner]
    # Background texture sets the noise floor: a box over a wooden table differs from its
    # smooth fill everywhere a little.
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = np.abs(gray - cv2.blur(gray, (5, 5)))
    surround = ~inner & poly_mask(shape, outer_quad, (x0, y0))
    noise = float(np.median(detail[surround])) if surround.any() else 1.0
    scaled = np.clip(values * (255.0 / max(values.max(), 1.0)), 0, 255).astype(np.uint8)
    otsu, _ = cv2.threshold(scaled.reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    threshold = float(otsu) * max(values.max(), 1.0) / 255.0
    threshold = max(threshold, 5.0 + 2.5 * noise)
    strong = (distance > threshold) & inner
    if strong.sum() < 6:
        return None
    contrast = float(np.percentile(distance[strong], 75))
    grow = int(round(GLYPH_GROW + text_h / 30))
    near = cv2.dilate(strong.astype(np.uint8), disk(grow + 2)).astype(bool)
    # Hysteresis: faint fringe pixels count when they touch a stroke.
    weak = (distance > max(3.0, GLYPH_WEAK * threshold)) & near
    glyphs = cv2.dilate((strong | weak).astype(np.uint8), disk(grow)).astype(bool)
    glyphs &= poly_mask(shape, grown_quad(quad, pad + grow), (x0, y0))
    box, local = tight(glyphs, x0, y0)
    return Glyphs(box, local, contrast, float(strong.sum() / max(1, inner.sum())), text_h)


def colour_block(rgb: np.ndarray, lab: np.ndarray, quad: np.ndarray) -> tuple[Box, np.ndarray] | None:
    """The uniform coloured shape that encloses a text line (banner, badge, label, ribbon), as a
    box and the mask inside it, or None when the text sits on the open background."""
    text_h = text_height(quad)
    # A thin ring just outside the detector's box, then one just inside it: the detector's box
    # can overshoot a tight label.
    for outer_pad, inner_pad in ((0.12, 0.0), (0.0, -0.1)):
        block = _block_from_ring(rgb, lab, quad, outer_pad * text_h, inner_pad * text_h)
        if block is not None:
            return block
    return None


def _block_from_ring(
    rgb: np.ndarray, lab: np.ndarray, quad: np.ndarray, outer_pad: float, inner_pad: float
) -> tuple[Box, np.ndarray] | None:
    """Work in a window around the line (a banner is rarely much larger than its text); only
    when the shape runs into the window's edge is the whole frame searched."""
    height, width = rgb.shape[:2]
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    margin = int(max(x1 - x0, y1 - y0)) + 16
    window = (max(0, x0 - margin), max(0, y0 - margin), min(width, x1 + margin), min(height, y1 + margin))
    found = _block_in_window(rgb, lab, quad, outer_pad, inner_pad, window)
    if found is None:
        return None
    region, touches = found
    if touches:
        found = _block_in_window(rgb, lab, quad, outer_pad, inner_pad, (0, 0, width, height))
        if found is None:
            return None
        region = found[0]
    return region


def _block_in_window(
    rgb: np.ndarray,
    lab_full: np.ndarray,
    quad: np.ndarray,
    outer_pad: float,
    inner_pad: float,
    window: Box,
) -> tuple[tuple[Box, np.ndarray], bool] | None:
    """The block as a box-local mask, and whether it runs into the window's edge (then the mask
    is the flood region inside the window, untrimmed, and only the flag matters)."""
    full_height, full_width = rgb.shape[:2]
    wx0, wy0, wx1, wy1 = window
    crop = rgb[wy0:wy1, wx0:wx1].copy()
    lab = lab_full[wy0:wy1, wx0:wx1]
    height, width = crop.shape[:2]
    text_h = text_height(quad)
    offset = (wx0, wy0)
    inner = poly_mask((height, width), grown_quad(quad, inner_pad), offset)
    ring = poly_mask((height, width), grown_quad(quad, outer_pad), offset) & ~inner
    if ring.sum() < 20:
        return None
    ring_lab = lab[ring]
    # The dominant colour (coarse histogram mode), not the median: glyph strokes may poke in.
    bins = (ring_lab // 8).astype(np.int64)
    keys = bins[:, 0] * 1_000_000 + bins[:, 1] * 1_000 + bins[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    median = ring_lab[keys == values[counts.argmax()]].mean(axis=0)
    distance = np.linalg.norm(ring_lab - median, axis=1)
    if (distance < 12).mean() < 0.7:
        return None
    ys, xs = np.nonzero(ring)
    flood = np.zeros((height + 2, width + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    tolerance = (16, 16, 16)
    # Several seeds: a watermark stroke crossing the block can cut it into pieces.
    order = np.argsort(distance)
    for seed_index in order[: max(1, int((distance < 12).sum()))][:: max(1, len(order) // 64)][:12]:
        x, y = int(xs[seed_index]), int(ys[seed_index])
        if flood[y + 1, x + 1]:
            continue
        cv2.floodFill(crop, flood, (x, y), (0, 0, 0), tolerance, tolerance, flags)
    region = flood[1:-1, 1:-1].astype(bool)
    area = int(region.sum())
    text_area = int(inner.sum())
    if area > 0.3 * full_height * full_width:
        return None
    touches = bool(
        (wx0 > 0 and region[:, 0].any())
        or (wy0 > 0 and region[0].any())
        or (wx1 < full_width and region[:, -1].any())
        or (wy1 < full_height and region[-1].any())
    )
    if touches:
        return (window, region), True
    region = fill_holes(cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_CLOSE, disk(2)).astype(bool))
    if region.sum() < 1.15 * text_area:
        return None
    # The text must lie inside the shape, and the shape must be compact (a block, not a
    # patch of product surface wandering along a gradient).
    if (inner & ~region).sum() > 0.1 * text_area or text_h > 0.5 * min(full_height, full_width):
        return None
    contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    hull_area = sum(cv2.contourArea(cv2.convexHull(contour)) for contour in contours)
    if hull_area <= 0 or region.sum() / hull_area < 0.85:
        return None
    border = cv2.dilate(region.astype(np.uint8), disk(4)).astype(bool) & ~region
    if border.any():
        outside = np.median(lab[border], axis=0)
        if np.linalg.norm(outside - median) < 12:
            return None
    # Anti-aliased block edges.
    grown = cv2.dilate(region.astype(np.uint8), disk(BLOCK_EDGE)).astype(bool)
    return tight(grown, wx0, wy0), False
