"""From elements to a removal mask, and the whole erase in one call.

`build_removal_mask` chooses the elements to erase by type (`object_types` for elements printed on
the product, `non_object_types` for the rest) and protects kept printed text; `remove_elements`
detects (`detect.py`), masks and fills (`fill.py`) in one call, or fills a hand-painted mask only.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from processing.engines.erase.detect import detect_elements
from processing.engines.erase.elements import ALL_TYPES, Element, EraseResult, to_rgb_array
from processing.engines.erase.fill import inpaint_array
from processing.engines.erase.masks import Box, disk, poly_mask
from processing.engines.erase.rle import InvalidMask

# Kept printed text is protected this many pixels beyond its mask (its anti-aliased fringe).
KEEP_MARGIN = 2
# A kept printed line also keeps pixels of its ink colour (within this Lab distance) up to this
# many letter heights beyond its ends (letters a crossing watermark hid from the detector).
KEEP_LINE_REACH, KEEP_INK_DISTANCE = 3.0, 22.0


def _type_set(types: set[int] | frozenset[int] | list[int] | tuple[int, ...] | None) -> frozenset[int]:
    chosen = frozenset(int(t) for t in (types or ()))
    unknown = chosen - ALL_TYPES
    if unknown:
        raise ValueError(f"unknown element types {sorted(unknown)}; use 1-4")
    return chosen


def _same_line_glyphs(rgb: np.ndarray, element: Element) -> tuple[Box, np.ndarray] | None:
    """Pixels of the text colour along a kept printed line, a few letter heights beyond its
    ends: a watermark stroke crossing the line can hide some of its letters from the detector,
    and those must be kept too. A window (box) and the pixels inside it, or None."""
    height, width = rgb.shape[:2]
    quad = np.asarray(element.polygon, np.float32)
    (cx, cy), (w, h), angle = cv2.minAreaRect(quad)
    text_h = min(w, h)
    if w >= h:
        w += 2 * KEEP_LINE_REACH * text_h
    else:
        h += 2 * KEEP_LINE_REACH * text_h
    band = cv2.boxPoints(((cx, cy), (w, h), angle))
    x0, y0 = np.maximum(np.floor(band.min(axis=0)).astype(int) - 2, 0)
    x1, y1 = np.ceil(band.max(axis=0)).astype(int) + 2
    x1, y1 = min(width, x1), min(height, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    window = (int(x0), int(y0), int(x1), int(y1))
    lab = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2LAB).astype(np.float32)
    mine = element.mask_in(window)
    inside = poly_mask(mine.shape, band, (x0, y0))
    around = inside & ~cv2.dilate(mine.astype(np.uint8), disk(2)).astype(bool)
    if mine.sum() < 6 or around.sum() < 6:
        return None
    background = np.median(lab[around], axis=0)
    distance = np.linalg.norm(lab[mine] - background, axis=1)
    ink = np.median(lab[mine][distance >= np.median(distance)], axis=0)
    if np.linalg.norm(ink - background) < 20:
        return None
    same = (np.linalg.norm(lab - ink, axis=2) < KEEP_INK_DISTANCE) & inside
    same = cv2.dilate(same.astype(np.uint8), disk(1)).astype(bool) & inside
    return window, same


def build_removal_mask(
    image: Image.Image | np.ndarray,
    elements: list[Element],
    subject_alpha: np.ndarray | None,
    object_types: set[int] | frozenset[int] | None,
    non_object_types: set[int] | frozenset[int] | None,
) -> np.ndarray:
    """uint8 HxW (255 = erase): elements printed on the product follow `object_types`, all
    others `non_object_types`. Pixels of kept printed text are never erased, even where another
    element (a watermark tile) overlaps them."""
    rgb = to_rgb_array(image)
    on_types, off_types = _type_set(object_types), _type_set(non_object_types)
    erase = np.zeros(rgb.shape[:2], bool)
    keep = np.zeros(rgb.shape[:2], bool)
    # Erased elements first, so kept lines know whether anything overlaps them.
    elements = sorted(elements, key=lambda e: e.type not in (on_types if e.on_subject else off_types))
    for element in elements:
        chosen = on_types if element.on_subject else off_types
        if element.type in chosen:
            element.paint_into(erase)
        elif element.on_subject:
            element.paint_into(keep)
            if erase.any():
                found = _same_line_glyphs(rgb, element)
                if found is not None:
                    (x0, y0, x1, y1), same = found
                    keep[y0:y1, x0:x1] |= same
    if subject_alpha is not None and keep.any():
        erase &= ~cv2.dilate(keep.astype(np.uint8), disk(KEEP_MARGIN)).astype(bool)
    return erase.astype(np.uint8) * 255


def inpaint(
    image: Image.Image | np.ndarray,
    mask: np.ndarray,
    subject_alpha: np.ndarray | None = None,
    method: str = "auto",
) -> Image.Image:
    return Image.fromarray(inpaint_array(to_rgb_array(image), mask, subject_alpha, method))


def remove_elements(
    image: Image.Image | np.ndarray,
    *,
    subject_alpha: np.ndarray | None,
    object_types: set[int] | frozenset[int] | None = None,
    non_object_types: set[int] | frozenset[int] | None = None,
    extra_mask: np.ndarray | None = None,
    mask_takes_precedence: bool = True,
    method: str = "auto",
) -> EraseResult:
    """Detect, mask and inpaint in one call.

    `extra_mask` is a hand-painted mask (e.g. decoded with `decode_rle_mask`). As in the API
    reference it takes precedence over the type lists: with `mask_takes_precedence` (default)
    only the painted pixels are erased and detection is skipped; otherwise it is added to the
    detected mask.
    """
    rgb = to_rgb_array(image)
    height, width = rgb.shape[:2]
    hand = None
    if extra_mask is not None:
        hand = np.asarray(extra_mask)
        if hand.shape != (height, width):
            raise InvalidMask(f"mask is {hand.shape[1]}x{hand.shape[0]}, image is {width}x{height}")
        hand = hand != 0
    elements: list[Element] = []
    if hand is not None and mask_takes_precedence:
        mask = hand.astype(np.uint8) * 255
    else:
        elements = detect_elements(rgb, subject_alpha)
        mask = build_removal_mask(rgb, elements, subject_alpha, object_types, non_object_types)
        if hand is not None:
            mask[hand] = 255
    result = inpaint_array(rgb, mask, subject_alpha, method)
    return EraseResult(Image.fromarray(result), mask, elements)
