"""Refining a cut-out with the merchant's strokes: keep and remove brushes and a box as hard constraints.

The model's matte is the starting point; the strokes say where it is wrong. A stroke only touches part of
what is wrong (a line across the chest of drawers behind a camera, a dab on a dropped handle), so each
stroke first spreads by colour through the connected part of the matte it contradicts: a remove stroke
across the drawers takes the drawers' colours, as far as they stay connected and are closer to the
stroke's colours than to the colours the rest of the subject is made of. OpenCV's grabCut (a graph cut over
colour models) then settles the boundary, initialised from the matte and the spread strokes, with the
strokes as definite foreground and background. Its answer is taken only near the edits, so a refine never
moves an edge the merchant did not touch; elsewhere the model's soft matte stays as it was. The changed
edges get the engine's guided filter at full resolution (matte.guided_filter), and the strokes themselves
are applied last, exactly.

A box means "the subject is inside": everything outside is background, and whatever the matte held outside
the box acts as a remove stroke (furniture cut by the box loses its part inside too, where its colours
continue).

Pure image code: numpy arrays in, a uint8 matte out.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .matte import guided_filter

# The colour spread and the graph cut run on the edited region at most this long a side; the result is
# brought back to full resolution and its edges are filtered there against the photo.
WORK_LONG_SIDE = 512
GRABCUT_ITERATIONS = 3
# Colour clusters of a stroke's pixels and of the region it contradicts (Lab).
STROKE_CLUSTERS = 4
REFERENCE_CLUSTERS = 6
# A reference cluster this close (Lab units) to a stroke's colours is the same stuff as the stroke: the
# part of the drawers the stroke did not cross, not the product.
SAME_STUFF_DISTANCE = 12.0
# Beyond this distance from every stroke colour nothing is taken, however unlike the reference it is.
MAX_SPREAD_DISTANCE = 30.0
# The graph cut's answer is used within this share of the work region's long side around the edits.
EDIT_REACH = 0.02
# How much of its domain a stroke's colour may take (see _spread): any colour a small share, a colour most
# of the stroke was painted on a large share (for remove strokes; a keep stroke never brings back most of
# the background).
SMALL_SHARE = 0.2
# Neighbouring pixels closer than this in colour (Lab units per pixel) are one surface (shading, grain).
EDGE_STRENGTH = 4.0
STROKE_MAJORITY = 0.5
REMOVE_LARGE_SHARE = 0.75
SEED = 1


@dataclass(frozen=True)
class RefineReport:
    """What a refine changed, for the merchant and the tests."""

    alpha: np.ndarray  # uint8 HxW, the refined matte
    added: int  # pixels that became subject (alpha crossed 128 upwards)
    removed: int  # pixels that became background


def refine_matte(
    image_rgb: np.ndarray,
    alpha: np.ndarray,
    *,
    keep: np.ndarray | None = None,
    remove: np.ndarray | None = None,
    box: tuple[int, int, int, int] | None = None,
) -> np.ndarray:
    """The matte `alpha` (uint8 HxW) corrected by keep/remove strokes (bool HxW) and a box (x0, y0, x1, y1,
    exclusive, in pixels); returns a new uint8 matte. Where a pixel is in both strokes, remove wins."""
    return refine_matte_report(image_rgb, alpha, keep=keep, remove=remove, box=box).alpha


def refine_matte_report(
    image_rgb: np.ndarray,
    alpha: np.ndarray,
    *,
    keep: np.ndarray | None = None,
    remove: np.ndarray | None = None,
    box: tuple[int, int, int, int] | None = None,
) -> RefineReport:
    rgb = _rgb(image_rgb)
    height, width = rgb.shape[:2]
    if alpha.shape != (height, width):
        raise ValueError(f"the matte is {alpha.shape[1]}x{alpha.shape[0]}, the photo {width}x{height}")
    keep = _mask(keep, (height, width), "keep")
    remove = _mask(remove, (height, width), "remove")
    keep &= ~remove
    outside = np.zeros((height, width), bool)
    if box is not None:
        x0, y0, x1, y1 = _clip_box(box, width, height)
        outside[:] = True
        outside[y0:y1, x0:x1] = False
    prob = alpha.astype(np.float32) / 255.0
    if not (keep.any() or remove.any() or outside.any()):
        return RefineReport(alpha.copy(), 0, 0)

    subject = prob >= 0.5
    # Everything the matte held outside the box is something to remove, like a stroke there.
    remove_seeds = remove | (outside & subject)
    y0, y1, x0, x1 = _work_region(subject & ~outside, keep | remove_seeds, (height, width))
    scale = min(1.0, WORK_LONG_SIDE / max(y1 - y0, x1 - x0))
    work_size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))

    def shrink(mask: np.ndarray) -> np.ndarray:
        # INTER_AREA then > 0: a thin stroke must survive the reduction.
        return cv2.resize(mask[y0:y1, x0:x1].astype(np.float32), work_size, interpolation=cv2.INTER_AREA) > 0

    work_rgb = cv2.resize(rgb[y0:y1, x0:x1], work_size, interpolation=cv2.INTER_AREA)
    work_matte = cv2.resize(prob[y0:y1, x0:x1], work_size, interpolation=cv2.INTER_AREA) >= 0.5
    work_keep, work_remove, work_outside = shrink(keep), shrink(remove_seeds), shrink(outside)
    work_subject = work_matte & ~work_outside
    work_keep &= ~work_remove
    lab = cv2.cvtColor(cv2.GaussianBlur(work_rgb, (3, 3), 0), cv2.COLOR_RGB2LAB).astype(np.float32)

    # 1. Strokes spread by colour through the part of the matte they contradict.
    # The matte's part outside the box is in the remove strokes' domain, so its colours carry across the
    # box's edge into the part inside.
    taken_away = _spread(lab, seeds=work_remove, domain=work_matte, large_share=REMOVE_LARGE_SHARE)
    brought_back = _spread(
        lab, seeds=work_keep, domain=~work_subject & ~work_outside, large_share=SMALL_SHARE
    )
    labels = (work_subject & ~taken_away) | brought_back

    # 2. The graph cut settles the boundary around the edits; strokes and the outside of the box are fixed.
    edits = taken_away | brought_back | work_keep | work_remove
    reach = max(3, round(EDIT_REACH * max(work_size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    near_edits = cv2.dilate(edits.astype(np.uint8), kernel).astype(bool)
    cut = _grab_cut(work_rgb, labels, work_keep, work_remove | work_outside, near_edits)
    work_new = np.where(near_edits, cut if cut is not None else labels, work_subject) & ~work_outside

    # 3. Back at full resolution: the model's soft matte where nothing changed, the new labels where they
    # did, with their edges snapped to the photo.
    # Only where the labels changed at the work scale: elsewhere resampling alone would move the edges.
    full_size = (x1 - x0, y1 - y0)
    region_new = cv2.resize(work_new.astype(np.float32), full_size, interpolation=cv2.INTER_LINEAR) >= 0.5
    work_changed = cv2.dilate((work_new != work_subject).astype(np.uint8), np.ones((3, 3), np.uint8))
    region_changed = cv2.resize(work_changed, full_size, interpolation=cv2.INTER_NEAREST).astype(bool)
    new_subject = subject.copy()
    new_subject[y0:y1, x0:x1] = np.where(region_changed, region_new, subject[y0:y1, x0:x1])
    new_subject &= ~outside
    changed = new_subject != subject
    refined = prob.copy()
    if changed.any():
        refined = _snap_changed_edges(rgb, prob, new_subject, changed)
    refined[keep] = 1.0
    refined[remove | outside] = 0.0
    result = (np.clip(refined, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    before, after = alpha >= 128, result >= 128
    return RefineReport(result, int((after & ~before).sum()), int((before & ~after).sum()))


def _rgb(image: np.ndarray) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    return np.ascontiguousarray(array[..., :3]).astype(np.uint8)


def _mask(mask: np.ndarray | None, shape: tuple[int, int], name: str) -> np.ndarray:
    if mask is None:
        return np.zeros(shape, bool)
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise ValueError(
            f"the {name} strokes are {mask.shape[1]}x{mask.shape[0]}, the photo {shape[1]}x{shape[0]}"
        )
    return mask.astype(bool)


def _clip_box(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(round(value)) for value in box)
    x0, x1 = sorted((min(max(x0, 0), width), min(max(x1, 0), width)))
    y0, y1 = sorted((min(max(y0, 0), height), min(max(y1, 0), height)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError("the box is empty")
    return x0, y0, x1, y1


def _work_region(
    subject: np.ndarray, strokes: np.ndarray, shape: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Rows and columns (y0, y1, x0, x1) around the subject and the strokes, with some background."""
    height, width = shape
    ys, xs = np.nonzero(subject | strokes)
    if not len(ys):
        return 0, height, 0, width
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    # The graph cut needs background around the subject to learn its colours from.
    pad = round(0.15 * max(y1 - y0, x1 - x0)) + 8
    return max(0, y0 - pad), min(height, y1 + pad), max(0, x0 - pad), min(width, x1 + pad)


def _clusters(pixels: np.ndarray, count: int) -> np.ndarray:
    """Up to `count` Lab colour centres of `pixels` (N x 3), deterministic."""
    pixels = pixels[:: max(1, len(pixels) // 5000)].astype(np.float32)
    count = min(count, len(pixels))
    if count <= 1:
        return pixels.mean(axis=0, keepdims=True)
    cv2.setRNGSeed(SEED)  # same strokes, same answer (OpenCV's RNG is per thread)
    _, _, centres = cv2.kmeans(
        pixels,
        count,
        None,
        (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0),
        2,
        cv2.KMEANS_PP_CENTERS,
    )
    return centres


def _nearest(lab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Per pixel, the Lab distance to the nearest of `centres`."""
    flat = lab.reshape(-1, 3)
    distance = np.full(len(flat), np.inf, np.float32)
    for centre in centres:
        np.minimum(distance, np.linalg.norm(flat - centre, axis=1), out=distance)
    return distance.reshape(lab.shape[:2])


def _spread(lab: np.ndarray, *, seeds: np.ndarray, domain: np.ndarray, large_share: float) -> np.ndarray:
    """The part of `domain` that a stroke (`seeds`) stands for: connected to it, and of its colours rather
    than of the colours the rest of the domain is made of.

    Strokes spill: a keep stroke along an edge also covers some background, a remove stroke some product.
    A colour the stroke only spilled onto would take over its whole domain (the backdrop, the product), so
    each of the stroke's colours spreads only as far as is plausible: into a small share of the domain, or
    into up to `large_share` of it when most of the stroke was painted on that colour (the chest of drawers
    the model kept with a camera can be half the matte; a dropped handle is never half the background)."""
    inside = seeds & domain
    if not inside.any():
        return np.zeros(domain.shape, bool)
    stroke_colours = _clusters(lab[inside], STROKE_CLUSTERS)
    distances = np.stack([_nearest(lab, centre[None]) for centre in stroke_colours])
    nearest_colour = distances.argmin(axis=0)
    to_stroke = distances.min(axis=0)
    # What else the domain is made of: its colours away from the stroke, minus those of the stroke itself.
    away = domain & ~cv2.dilate(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    others = _clusters(lab[away], REFERENCE_CLUSTERS) if away.sum() >= 20 else np.empty((0, 3), np.float32)
    if len(others):
        others = others[_nearest(others[:, None, :], stroke_colours)[:, 0] > SAME_STUFF_DISTANCE]
    to_others = _nearest(lab, others) if len(others) else np.full(domain.shape, np.inf, np.float32)
    alike = domain & (to_stroke < to_others) & (to_stroke <= MAX_SPREAD_DISTANCE)
    smooth = _edge_strength(lab) < EDGE_STRENGTH
    domain_area = float(domain.sum())
    painted = float(inside.sum())
    spread = inside.copy()
    for colour in range(len(stroke_colours)):
        own = inside & (nearest_colour == colour)
        if not own.any():
            continue
        count, components = cv2.connectedComponents(
            ((alike & (nearest_colour == colour)) | own).astype(np.uint8), connectivity=8
        )
        touched = np.unique(components[own])
        region = np.isin(components, touched[touched > 0])
        # A colour region cut out of a continuous surface (one side of a shaded product, part of the
        # backdrop) is judged as the whole surface: it goes with it, or not at all.
        surface_count, surfaces = cv2.connectedComponents((smooth & domain).astype(np.uint8), connectivity=4)
        joined = np.unique(surfaces[region])
        region |= np.isin(surfaces, joined[joined > 0])
        share_of_domain = float(region.sum()) / domain_area
        # Of the stroke's pixels, how many lie in what this colour would take.
        share_of_stroke = float((inside & region).sum()) / painted
        if share_of_domain <= SMALL_SHARE or (
            share_of_stroke >= STROKE_MAJORITY and share_of_domain <= large_share
        ):
            spread |= region
    return spread


def _edge_strength(lab: np.ndarray) -> np.ndarray:
    """Per pixel, how fast the colour changes (Lab units per pixel, the strongest channel)."""
    strength = np.zeros(lab.shape[:2], np.float32)
    for channel in range(3):
        dx = cv2.Sobel(lab[..., channel], cv2.CV_32F, 1, 0, ksize=3) / 8.0
        dy = cv2.Sobel(lab[..., channel], cv2.CV_32F, 0, 1, ksize=3) / 8.0
        np.maximum(strength, np.hypot(dx, dy), out=strength)
    return strength


def _grab_cut(
    rgb: np.ndarray, labels: np.ndarray, definite_fg: np.ndarray, definite_bg: np.ndarray, zone: np.ndarray
) -> np.ndarray | None:
    """grabCut's subject over the work image, started from `labels`; None when it cannot run (no
    foreground or no background to learn colours from). Only `zone` is used from its answer, so it runs on
    a window around the zone (with as much again of context for its colour models): the cut costs about a
    second per quarter megapixel."""
    height, width = labels.shape
    ys, xs = np.nonzero(zone)
    if not len(ys):
        return None
    pad = max(ys.max() - ys.min(), xs.max() - xs.min()) // 4 + 8
    y0, y1 = max(0, ys.min() - pad), min(height, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(width, xs.max() + 1 + pad)
    window = np.s_[y0:y1, x0:x1]
    mask = np.where(labels[window], cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    mask[definite_fg[window]] = cv2.GC_FGD
    mask[definite_bg[window]] = cv2.GC_BGD
    foreground = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    if foreground.sum() < 10 or (~foreground).sum() < 10:
        return None
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(SEED)
    cv2.grabCut(
        np.ascontiguousarray(rgb[window][..., ::-1]),
        mask,
        None,
        background_model,
        foreground_model,
        GRABCUT_ITERATIONS,
        cv2.GC_INIT_WITH_MASK,
    )
    cut = labels.copy()
    cut[window] = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    return cut


def _snap_changed_edges(
    rgb: np.ndarray, prob: np.ndarray, subject: np.ndarray, changed: np.ndarray
) -> np.ndarray:
    """The new labels around what changed, their edges guided-filtered against the photo; elsewhere the
    model's soft matte stays as it was.

    Around a change the old soft values go too: a removed object's faint rim would otherwise stay behind."""
    height, width = prob.shape
    radius = max(2, round(max(height, width) / 512))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * radius + 1, 4 * radius + 1))
    near_change = cv2.dilate(changed.astype(np.uint8), kernel).astype(bool)
    snapped = prob.copy()
    snapped[near_change] = subject[near_change]
    hard = subject.astype(np.uint8)
    band = (cv2.dilate(hard, kernel) != cv2.erode(hard, kernel)) & near_change
    if not band.any():
        return snapped
    ys, xs = np.nonzero(band)
    pad = 4 * radius
    y0, y1 = max(0, ys.min() - pad), min(height, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(width, xs.max() + 1 + pad)
    guide = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    filtered = np.clip(guided_filter(guide, snapped[y0:y1, x0:x1], radius, 1e-3), 0.0, 1.0)
    window = band[y0:y1, x0:x1]
    snapped[y0:y1, x0:x1][window] = filtered[window]
    return snapped
