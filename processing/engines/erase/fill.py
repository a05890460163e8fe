"""Inpainting for the erase engine: fill masked pixels so the photo looks untouched.

Work is done per crop around each group of masked pixels (a 1024x1024 photo with a corner
logo should not pay for the whole frame), and background and subject are filled separately so
product colours never bleed into the backdrop or the other way round.

Methods (all offline, CPU): OpenCV Telea and Navier-Stokes, a harmonic (membrane) fill, and
PatchMatch from `patchmatch-cython`. `auto` picks per region: thin strokes and smooth
surroundings get the harmonic fill (studio sweeps and gradients are smooth, and a membrane is the
exact answer there), textured surroundings with wide holes get PatchMatch, thin strokes on texture
get Telea. The bench compares them (bench/erase.py).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

METHODS = ("auto", "telea", "ns", "harmonic", "patchmatch")

# Subject alpha above this counts as product when splitting the fill.
SUBJECT_THRESHOLD = 127
# Context kept around each hole: enough for PatchMatch to find source patches.
CROP_MARGIN = 24
# Holes closer than this are filled together (the glyphs of one word).
GROUP_GAP = 9
# Texture level (std of a 5x5 high-pass over the surrounding known pixels) below which a
# membrane fill is used: smooth backdrops, gradients, plain product surfaces.
SMOOTH_TEXTURE = 3.0
# Holes whose largest inscribed radius is at most this are "thin" (strokes, glyphs).
THIN_RADIUS = 6.0
# PatchMatch costs about 0.1 s per 1000 hole pixels on one core here; bigger holes go to Telea
# to stay inside the 2 s per image budget (2500 rather than 6000: on 10 dev images with our
# masks, masked PSNR 22.09 -> 22.43 dB and a quarter less inpainting CPU).
PATCHMATCH_MAX_PIXELS = 2500

# Crops are filled this many at a time (OpenCV and NumPy release the GIL; two cores).
INPAINT_THREADS = 2

# Jacobi sweeps of the membrane fill, at most (8 + 4 per pixel of inscribed radius).
HARMONIC_MAX_ITERATIONS = 60

# Margin (pixels) beyond twice the target's inscribed radius inside which blocked pixels stay in
# a Telea hole.
TELEA_REACH = 8

Filler = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _telea(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    return cv2.inpaint(crop, hole.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA)


def _ns(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    return cv2.inpaint(crop, hole.astype(np.uint8) * 255, 3, cv2.INPAINT_NS)


def _harmonic(crop: np.ndarray, hole: np.ndarray, focus: np.ndarray | None = None) -> np.ndarray:
    """Push-pull pyramid initialisation, then Jacobi relaxation of Laplace's equation in the hole
    (`focus`: the hole pixels whose values are wanted; default all)."""
    image = crop.astype(np.float32)
    known = (~hole).astype(np.float32)
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    values, weights = image * known[..., None], known.copy()
    while True:
        levels.append((values, weights))
        height, width = weights.shape
        if (weights > 0).all() or max(height, width) <= 1:
            break
        size = (max(1, width // 2), max(1, height // 2))
        values = cv2.resize(values, size, interpolation=cv2.INTER_AREA)
        weights = cv2.resize(weights, size, interpolation=cv2.INTER_AREA)
        if values.ndim == 2:
            values = values[..., None]
    filled = levels[-1][0] / np.maximum(levels[-1][1], 1e-6)[..., None]
    for values, weights in reversed(levels[:-1]):
        height, width = weights.shape
        upsampled = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
        if upsampled.ndim == 2:
            upsampled = upsampled[..., None]
        blend = np.clip(weights, 0, 1)[..., None]
        filled = values / np.maximum(weights, 1e-6)[..., None] * blend + upsampled * (1 - blend)
    result = np.where(hole[..., None], filled, image).astype(np.float32)
    focus = hole if focus is None else focus & hole
    radius = _inscribed_radius(focus)
    iterations = int(min(HARMONIC_MAX_ITERATIONS, 8 + 4 * radius))
    # Relax only where it can reach the pixels asked for (the rest of the hole, e.g. the other
    # side of the product outline, keeps its push-pull value), on that window alone.
    reach = iterations // 2 + 2
    active = cv2.dilate(focus.astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)).astype(
        bool
    )
    active &= hole
    ys, xs = np.nonzero(active)
    if len(ys):
        y0, y1 = max(0, ys.min() - 1), min(hole.shape[0], ys.max() + 2)
        x0, x1 = max(0, xs.min() - 1), min(hole.shape[1], xs.max() + 2)
        window = np.ascontiguousarray(result[y0:y1, x0:x1])
        inside = np.ascontiguousarray(active[y0:y1, x0:x1])
        smoothed = np.empty_like(window)
        for _ in range(iterations):
            cv2.blur(window, (3, 3), dst=smoothed, borderType=cv2.BORDER_REPLICATE)
            np.copyto(window, smoothed, where=inside[..., None])
        result[y0:y1, x0:x1] = window
    return np.clip(result + 0.5, 0, 255).astype(np.uint8)


def _patchmatch(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    # Imported late: only crops that PatchMatch fills need it.
    from patchmatch_cython import inpaint_pyramid

    if min(crop.shape[:2]) < 16 or hole.all():
        return _telea(crop, hole)
    return inpaint_pyramid(crop, hole, patch_size=7, seed=0, poisson_blend=True)


FILLERS: dict[str, Filler] = {"telea": _telea, "ns": _ns, "harmonic": _harmonic, "patchmatch": _patchmatch}


def _inscribed_radius(hole: np.ndarray) -> float:
    if not hole.any():
        return 0.0
    distance = cv2.distanceTransform(np.pad(hole.astype(np.uint8), 1), cv2.DIST_L2, 3)
    return float(distance.max())


def _texture_level(crop: np.ndarray, hole: np.ndarray, usable: np.ndarray) -> float:
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = np.abs(gray - cv2.blur(gray, (5, 5)))
    near = cv2.dilate(hole.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & usable
    # Pixels right at the hole edge may still carry anti-aliased remains of what was erased.
    near &= ~cv2.dilate(hole.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    # Edges against the other side (product outline) are not texture of this side.
    near &= cv2.erode(usable.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    if near.sum() < 20:
        return 0.0
    return float(np.sqrt(np.mean(detail[near] ** 2)))


def choose_method(crop: np.ndarray, hole: np.ndarray, usable: np.ndarray) -> str:
    if _texture_level(crop, hole, usable) <= SMOOTH_TEXTURE:
        return "harmonic"
    # PatchMatch has to synthesise every blocked pixel of the crop, not only the hole.
    if _inscribed_radius(hole) <= THIN_RADIUS or (hole | ~usable).sum() > PATCHMATCH_MAX_PIXELS:
        return "telea"
    return "patchmatch"


def _fill_side(crop: np.ndarray, target: np.ndarray, usable: np.ndarray, method: str) -> np.ndarray:
    """Fill `target` from `usable` pixels only; everything else in the crop is treated as hole."""
    if not usable.any():
        return crop
    if method == "auto":
        method = choose_method(crop, target, usable)
    if method == "harmonic":
        return _harmonic(crop, ~usable | target, target)
    blocked = ~usable | target
    if method == "telea":
        # Telea's cost grows with the hole: blocked pixels far from the target (the other side
        # of the product outline, other holes) cannot reach it before the fill from this side
        # does, so they are painted with a placeholder and left out of the hole.
        reach = int(2 * _inscribed_radius(target)) + TELEA_REACH
        near = cv2.dilate(target.astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)).astype(
            bool
        )
        far = blocked & ~near
        if far.any():
            placeholder = crop.copy()
            placeholder[far] = np.median(crop[usable], axis=0).astype(np.uint8)
            return _telea(placeholder, blocked & near)
    return FILLERS[method](crop, blocked)


# Parts of the subject mask thinner than this (diameter, as a share of the photo's long side) are
# not product body for the fill: text strokes the cut-out glued to the product's edge.
STROKE_WIDTH = 0.008
# A subject part whose pixels are mostly being erased is an overlay the cut-out took for product.
MOSTLY_ERASED = 0.5


def stroke_kernel(shape: tuple[int, ...]) -> np.ndarray:
    """The opening that removes strokes thinner than STROKE_WIDTH from a mask of this shape."""
    diameter = max(3, round(STROKE_WIDTH * max(shape[:2])) | 1)
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (diameter, diameter))


def without_overlay_parts(
    subject: np.ndarray, covered: np.ndarray, share: float, *, keep_largest: bool
) -> np.ndarray:
    """The subject mask with strokes thinner than STROKE_WIDTH opened away and without every
    remaining part of which at least `share` lies under `covered` (with `keep_largest`, except the
    largest part). Shared by the fill (covered: the erase mask) and the detector's on-product test
    (covered: the detected elements)."""
    body = cv2.morphologyEx(subject.astype(np.uint8), cv2.MORPH_OPEN, stroke_kernel(subject.shape))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(body, connectivity=8)
    if count <= 1:
        return body.astype(bool)
    hit = np.bincount(labels.ravel(), weights=covered.ravel().astype(np.float64), minlength=count)
    area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
    overlays = np.nonzero(hit >= share * np.maximum(area, 1.0))[0]
    overlays = overlays[overlays > 0]
    if keep_largest:
        overlays = overlays[overlays != 1 + int(np.argmax(area[1:]))]
    kept = body.astype(bool)
    if overlays.size:
        kept &= ~np.isin(labels, overlays)
    return kept


def fill_subject(subject: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The product side of the fill: the subject mask without what the cut-out mistook for product.

    The cut-out engine sometimes keeps overlays with the product: a promo badge beside it (a salient
    object of its own), watermark strokes touching its edge. Filled from the product side, their
    pixels take the product's colours (a yellow badge, yellow glyphs around a corn cob). So strokes
    thinner than STROKE_WIDTH are opened away, and a remaining part of which at least MOSTLY_ERASED
    is under the erase mask counts as background: the product itself is never mostly erased.
    """
    return without_overlay_parts(subject, hole, MOSTLY_ERASED, keep_largest=False)


def inpaint_array(
    image: np.ndarray, mask: np.ndarray, subject_alpha: np.ndarray | None = None, method: str = "auto"
) -> np.ndarray:
    """RGB uint8 HxWx3 in, RGB uint8 out; only pixels where mask != 0 change."""
    if method not in METHODS:
        raise ValueError(f"unknown inpaint method {method!r}; choose one of {METHODS}")
    rgb = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
    hole = np.asarray(mask) != 0
    if hole.shape != rgb.shape[:2]:
        raise ValueError(f"mask shape {hole.shape} does not match image {rgb.shape[:2]}")
    result = rgb.copy()
    if not hole.any():
        return result
    subject = None
    if subject_alpha is not None:
        alpha = np.asarray(subject_alpha)
        if alpha.shape != hole.shape:
            raise ValueError(f"subject_alpha shape {alpha.shape} does not match image {hole.shape}")
        subject = fill_subject(alpha > SUBJECT_THRESHOLD, hole)
        if not subject.any() or subject.all():
            subject = None
    height, width = hole.shape
    # Glyphs of one word share a crop; each crop is filled on its own, other holes inside it
    # stay holes (never sources).
    grouped = cv2.dilate(hole.astype(np.uint8), np.ones((GROUP_GAP, GROUP_GAP), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grouped, connectivity=8)
    jobs = []
    for label in range(1, count):
        x, y, w, h = stats[label, :4]
        x0, y0 = max(0, x - CROP_MARGIN), max(0, y - CROP_MARGIN)
        x1, y1 = min(width, x + w + CROP_MARGIN), min(height, y + h + CROP_MARGIN)
        jobs.append((label, x0, y0, x1, y1))

    def fill(job: tuple[int, int, int, int, int]) -> None:
        label, x0, y0, x1, y1 = job
        # The input, not the result: other holes in the crop are never sources, so crops are
        # independent and can be filled in any order (two at a time).
        crop = rgb[y0:y1, x0:x1]
        crop_hole = hole[y0:y1, x0:x1]
        mine = crop_hole & (labels[y0:y1, x0:x1] == label)
        sources = ~crop_hole
        sides = [None] if subject is None else [~subject[y0:y1, x0:x1], subject[y0:y1, x0:x1]]
        for side in sides:
            target = mine if side is None else mine & side
            usable = sources if side is None else sources & side
            if target.any():
                filled = _fill_side(crop, target, usable, method)
                result[y0:y1, x0:x1][target] = filled[target]

    # Largest first, so the two workers finish together.
    jobs.sort(key=lambda job: -(job[3] - job[1]) * (job[4] - job[2]))
    if len(jobs) > 1 and INPAINT_THREADS > 1:
        with ThreadPoolExecutor(INPAINT_THREADS) as pool:
            list(pool.map(fill, jobs))
    else:
        for job in jobs:
            fill(job)
    return result
