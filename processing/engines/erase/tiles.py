"""Repeated watermark tiles: lines that repeat across the image, and their shared letters.

`repeated_lines` groups lines by geometry alone (same angle, height and length), so tiles of a
tilted watermark need no recognition; `repeated_texts` confirms level groups by their recognised
words. `trim_tiles` aligns a group's whole tiles in one frame and cuts each tile's glyph mask down
to the letters most tiles share, so texture or a product outline a tile's box took is not erased.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

import cv2
import numpy as np

from processing.engines.erase.elements import TextBox
from processing.engines.erase.glyphs import Glyphs
from processing.engines.erase.masks import disk, text_angle, text_height, tight

# Lines within this many degrees of level are "horizontal" for the repetition test.
HORIZONTAL_DEGREES = 3.0
# Tiles of one watermark needed to vote on its letters.
TILE_VOTERS = 3
# Largest tile frame worth aligning (pixels); bigger tiles keep their own masks.
TILE_FRAME_PIXELS = 1_500_000
# A tile is trimmed only when its own mask holds this share of the shared letters (it is aligned).
TILE_HOLDS_LETTERS = 0.7
# Phase-correlation peak below which a tile's alignment is not trusted.
TILE_MATCH = 0.15
# Largest alignment move of a whole tile, in text heights.
TILE_MAX_SHIFT = 0.5
# Pixels a tile keeps around the shared letters (alignment error, anti-aliasing).
TILE_REACH = 3


def normalise_text(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).upper()


def _similar_text(a: str, b: str) -> bool:
    if len(a) < 2 or len(b) < 2:
        return False
    if a in b or b in a:
        return True
    match = SequenceMatcher(None, a, b).find_longest_match(0, len(a), 0, len(b))
    return match.size >= 3


def repeated_lines(boxes: list[TextBox], width: int, height: int) -> list[list[int]]:
    """Groups of lines that repeat across the image (tiled watermarks), from geometry alone so no
    recognition is needed: three or more lines at the same angle and text height, of which at
    least three have about the same length (the same phrase; tiles cut by the frame or split by
    the detector are shorter, and join the group by angle and height)."""
    angles = [text_angle(box.quad) for box in boxes]
    heights = [text_height(box.quad) for box in boxes]
    lengths = [float(max(cv2.minAreaRect(box.quad.astype(np.float32))[1])) for box in boxes]
    del width, height
    groups: list[list[int]] = []
    seen: set[int] = set()
    for index in range(len(boxes)):
        if index in seen:
            continue
        group = [
            other
            for other in range(len(boxes))
            if abs(angles[index] - angles[other]) < 4 and 0.75 < heights[index] / heights[other] < 1.33
        ]
        if len(group) < 3:
            continue
        if abs(float(np.median([angles[other] for other in group]))) < HORIZONTAL_DEGREES:
            # Level lines of one height are common (a promo, a shop name, printed text): these
            # count only when their words repeat too (checked after recognition).
            pass
        else:
            longest = max(lengths[other] for other in group)
            if sum(lengths[other] > 0.5 * longest for other in group) < 3:
                continue
        groups.append(group)
        seen.update(group)
    return groups


def _tile_frame(quad: np.ndarray, angle: float, size: tuple[int, int], origin: tuple[int, int]) -> np.ndarray:
    """Affine map from a tile-aligned frame of `size` (width, height; baseline along x, centred on
    the quad's centre) to pixel coordinates of a box-local mask whose top-left is `origin`."""
    radians = np.radians(angle)
    along = np.array([np.cos(radians), -np.sin(radians)])
    across = np.array([np.sin(radians), np.cos(radians)])
    centre = quad.mean(axis=0) - np.array(origin, np.float64)
    shift = centre - along * size[0] / 2 - across * size[1] / 2
    return np.array([[along[0], across[0], shift[0]], [along[1], across[1], shift[1]]], np.float64)


def trim_tiles(
    boxes: list[TextBox], glyph_list: list[Glyphs], tiles: list[int], image_shape: tuple[int, ...]
) -> None:
    """Cut each tile's glyph mask down to the watermark's own letters.

    A tile's mask is whatever stands out from a smooth fill of its box, so over texture, a lamp or
    a product's outline it takes those too, and the fill then smears them. Every whole tile of one
    watermark has the same letters: the tiles are brought into one frame and aligned, the pixels
    most of them share are the letters, and each tile keeps only its pixels near those. Tiles cut
    by the detector or the frame, and tiles that do not line up surely, keep their own masks."""
    if len(tiles) < TILE_VOTERS:
        return
    angle = float(np.median([text_angle(boxes[i].quad) for i in tiles]))
    lengths = {i: float(max(cv2.minAreaRect(boxes[i].quad)[1])) for i in tiles}
    length = float(np.median(list(lengths.values())))
    text_h = float(np.median([glyph_list[i].height for i in tiles]))
    size = (int(round(1.3 * length + 2 * text_h)), int(round(3 * text_h)))
    whole = [i for i in tiles if lengths[i] >= 0.85 * length]
    if len(whole) < TILE_VOTERS or size[0] * size[1] > TILE_FRAME_PIXELS or min(size) < 8:
        return
    frames = {i: _tile_frame(boxes[i].quad, angle, size, glyph_list[i].box[:2]) for i in whole}
    framed = {
        i: cv2.warpAffine(
            glyph_list[i].mask.astype(np.float32),
            frames[i],
            size,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        )
        for i in whole
    }
    reference = sorted(whole, key=lambda i: float(framed[i].sum()))[len(whole) // 2]
    # Whole tiles of one watermark line up within a fraction of a letter; a far or weak match is
    # another piece of text, or a tile the detector boxed differently.
    shifts = {}
    for index in whole:
        (dx, dy), response = _best_shift(framed[reference], framed[index])
        if index == reference or (response >= TILE_MATCH and np.hypot(dx, dy) <= TILE_MAX_SHIFT * text_h):
            shifts[index] = (dx, dy)
    if len(shifts) < TILE_VOTERS:
        return
    letters = np.mean([_shifted(framed[i], shift) for i, shift in shifts.items()], axis=0) >= 0.5
    if letters.sum() < 6:
        return
    us, vs = np.meshgrid(np.arange(size[0], dtype=np.float64), np.arange(size[1], dtype=np.float64))
    for index, shift in shifts.items():
        glyphs, frame = glyph_list[index], frames[index]
        # A tile running off the photo is compared with the letters only where it is in the photo.
        xs = frame[0, 0] * us + frame[0, 1] * vs + frame[0, 2] + glyphs.box[0]
        ys = frame[1, 0] * us + frame[1, 1] * vs + frame[1, 2] + glyphs.box[1]
        in_photo = ((xs >= 0) & (xs < image_shape[1]) & (ys >= 0) & (ys < image_shape[0])).astype(np.float32)
        shared = letters & (_shifted(in_photo, shift) >= 0.5)
        mine = _shifted(framed[index], shift) >= 0.5
        if shared.sum() < 6 or (mine & shared).sum() < TILE_HOLDS_LETTERS * shared.sum():
            continue
        back = _shifted(letters.astype(np.float32), (-shift[0], -shift[1]))
        local = cv2.warpAffine(back, frame, glyphs.mask.shape[::-1], flags=cv2.INTER_LINEAR) > 0
        near = cv2.dilate(local.astype(np.uint8), disk(TILE_REACH)).astype(bool)
        box, trimmed = tight(glyphs.mask & near, *glyphs.box[:2])
        if trimmed.sum() >= 6:
            glyphs.box, glyphs.mask = box, trimmed


def _shifted(image: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
    """`image` moved by (dx, dy) pixels, zeros shifted in."""
    move = np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float64)
    return cv2.warpAffine(image, move, image.shape[::-1], flags=cv2.INTER_LINEAR)


def _best_shift(reference: np.ndarray, other: np.ndarray) -> tuple[tuple[float, float], float]:
    """The move that lays `other` over `reference` (phase correlation, sign checked by overlap),
    and the correlation's peak response (how sure the match is)."""
    (dx, dy), response = cv2.phaseCorrelate(reference, other)
    candidates = [(0.0, 0.0), (dx, dy), (-dx, -dy)]
    best = max(candidates, key=lambda shift: float((_shifted(other, shift) * reference).sum()))
    return best, float(response)


def repeated_texts(boxes: list[TextBox]) -> set[int]:
    """Indices of lines that repeat across the image (tiled watermarks): three or more lines at
    the same angle whose texts overlap (cut-off tiles read as pieces of the full text, and OCR
    misreads a letter here and there)."""
    keys = [normalise_text(box.text) for box in boxes]
    angles = [text_angle(box.quad) for box in boxes]
    heights = [text_height(box.quad) for box in boxes]
    members: set[int] = set()
    for index, key in enumerate(keys):
        group = [
            other
            for other in range(len(boxes))
            if _similar_text(key, keys[other])
            and abs(angles[index] - angles[other]) < 4
            and 0.7 < heights[index] / heights[other] < 1.4
        ]
        if len(group) >= 3:
            members.update(group)
    return members
