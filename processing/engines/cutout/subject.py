"""Choosing the subject in pass 1's probability map, and cutting furniture off it.

Components of the map compete (frame contact costs, companions stay); a subject fused with the
furniture it touches is split by confidence (split_fused) or, failing that, by colour
(colour_cores). Also the crop helpers the refine pass uses around the chosen subject.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .steps import STEPS


def enclosed_holes(mask: np.ndarray) -> np.ndarray:
    """Pixels outside `mask` that it encloses (not connected to the border of the image)."""
    count, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return (labels > 0) & ~np.isin(labels, border)


def crop_around(mask: np.ndarray, context: float) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    height, width = mask.shape
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    pad = round(context * max(x1 - x0, y1 - y0)) + 8
    return max(0, x0 - pad), max(0, y0 - pad), min(width, x1 + pad), min(height, y1 + pad)


def keep_overlapping(prob: np.ndarray, subject: np.ndarray) -> np.ndarray:
    """Soft mask of the refined components that overlap the pass-1 subject.

    The crop can still hold parts of the clutter dropped in pass 1; those are components of
    the refined matte with no overlap with the chosen subject.
    """
    labels_count, labels = cv2.connectedComponents((prob >= 0.5).astype(np.uint8), connectivity=8)
    if labels_count <= 1:
        return np.ones(prob.shape, np.float32)
    overlap = np.bincount(labels.ravel(), weights=subject.ravel().astype(np.float64), minlength=labels_count)
    size = np.bincount(labels.ravel(), minlength=labels_count)
    keep_labels = [label for label in range(1, labels_count) if overlap[label] >= 0.2 * size[label]]
    kept = np.isin(labels, keep_labels).astype(np.uint8)
    # Dilate so the soft edge just outside the 0.5 contour survives.
    radius = max(2, round(0.01 * max(prob.shape)))
    kept = cv2.dilate(kept, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    return cv2.blur(kept.astype(np.float32), (radius, radius))


@dataclass
class Component:
    label: int
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 exclusive
    area: int
    mass: float  # sum of probability: confident and large components weigh more
    touched_sides: int  # frame sides the component runs into
    score: float = 0.0
    kept: bool = False


def find_components(prob: np.ndarray, threshold: float = 0.5) -> tuple[np.ndarray, list[Component]]:
    height, width = prob.shape
    binary = (prob >= threshold).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    band = max(2, round(0.01 * max(height, width)))
    min_area = 0.001 * height * width
    mass = np.bincount(labels.ravel(), weights=prob.ravel(), minlength=count)
    components = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < min_area:
            continue
        sides = frame_contacts(labels[y : y + h, x : x + w] == label, (x, y), (width, height), band)
        components.append(Component(label, (x, y, x + w, y + h), area, float(mass[label]), sides))
    return labels, components


def frame_contacts(mask: np.ndarray, origin: tuple[int, int], frame: tuple[int, int], band: int) -> int:
    """Frame sides the component (mask over its bounding box at origin) really runs into.

    A side counts when the component meets it along a good part of its own extent: walls and
    furniture are cut by the frame across their width, while a product's thin stand or cable
    that happens to reach the edge should not cost it the product's standing.
    """
    x, y = origin
    width, height = frame
    h, w = mask.shape
    sides = 0
    for touches, strip, axis in (
        (x < band, mask[:, : band - x], 1),
        (y < band, mask[: band - y], 0),
        (x + w > width - band, mask[:, max(0, width - band - x) :], 1),
        (y + h > height - band, mask[max(0, height - band - y) :], 0),
    ):
        # Length of the contact along that side, against the component's extent there.
        if (
            touches
            and strip.size
            and strip.any(axis=axis).sum() >= FRAME_CONTACT_FRACTION * mask.shape[1 - axis]
        ):
            sides += 1
    return sides


FRAME_CONTACT_FRACTION = 0.2


def select_subject(
    prob: np.ndarray, model_type: str = "general", threshold: float = 0.5
) -> tuple[np.ndarray, list[Component]]:
    """Mask (bool, prob's size) of the main subject and of the objects that belong with it.

    Salient clutter in lifestyle photos (furniture, plants, walls) tends to run into the frame,
    while a product is usually whole and in view; so components pay for each frame side they
    touch. People are routinely cut by the frame (portraits), so `human` only pays for it
    lightly. Companions are kept when they are comparably strong and close to the main
    subject: product sets should stay together.
    """
    height, width = prob.shape
    labels, components = find_components(prob, threshold)
    if not components:
        return np.zeros(prob.shape, bool), []
    side_penalty = (1.0, 0.8, 0.6, 0.5, 0.4) if model_type == "human" else (1.0, 0.35, 0.12, 0.05, 0.03)
    centre = np.array([width / 2, height / 2])
    diagonal = float(np.hypot(width, height))
    for component in components:
        x0, y0, x1, y1 = component.box
        offset = np.hypot(*(np.array([(x0 + x1) / 2, (y0 + y1) / 2]) - centre)) / diagonal
        # Weak centre prior: products are often off-centre in lifestyle shots.
        component.score = component.mass**0.75 * side_penalty[component.touched_sides] * (1.0 - 0.5 * offset)
    components.sort(key=lambda c: c.score, reverse=True)
    main = components[0]
    chosen = [main]
    mx0, my0, mx1, my1 = main.box
    reach = 0.5 * max(mx1 - mx0, my1 - my0)
    for other in components[1:]:
        ox0, oy0, ox1, oy1 = other.box
        gap = max(ox0 - mx1, mx0 - ox1, oy0 - my1, my0 - oy1, 0)
        if other.score >= 0.1 * main.score and gap <= reach and other.touched_sides <= main.touched_sides:
            chosen.append(other)
    for component in chosen:
        component.kept = True
    mask = np.isin(labels, [c.label for c in chosen])
    return mask, components


SPLIT_THRESHOLD = 0.9
SPLIT_MIN_PART = 0.05


def split_fused(
    rgb: np.ndarray, prob: np.ndarray, subject: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Cut the furniture a product stands on or leans against off the chosen subject.

    The model often segments a product together with the chair, bed or stool it touches, as
    one blob. At a high confidence the blob tends to fall apart into the product and the
    furniture; the parts that run into the frame are furniture (a product is whole and in
    view). Each pixel of the blob goes to the product or to the furniture by a colour
    watershed from those cores. Returns the new subject and the dropped region (or None).
    """
    height, width = prob.shape
    ys, xs = np.nonzero(subject)
    pad = 16
    y0, y1 = max(0, ys.min() - pad), min(height, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(width, xs.max() + 1 + pad)
    blob = subject[y0:y1, x0:x1]
    core = ((prob[y0:y1, x0:x1] >= SPLIT_THRESHOLD) & blob).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(core, connectivity=8)
    band = max(2, round(0.01 * max(height, width)))
    min_area = SPLIT_MIN_PART * float(blob.sum())
    keep, drop = [], []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if area < min_area:
            continue
        part = labels[y : y + h, x : x + w] == label
        sides = frame_contacts(part, (x + x0, y + y0), (width, height), band)
        (drop if sides else keep).append(label)
    if keep and drop:
        keep_mask, drop_mask = np.isin(labels, keep), np.isin(labels, drop)
    elif STEPS["colour_split"]:
        cores = colour_cores(rgb[y0:y1, x0:x1], blob, (x0, y0), (width, height), band)
        if cores is None:
            return subject, None
        keep_mask, drop_mask = cores
    else:
        return subject, None
    markers = np.zeros(blob.shape, np.int32)
    markers[keep_mask] = 1
    markers[drop_mask] = 2
    outside = ~cv2.dilate(blob.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    markers[outside] = 3
    # Separate pieces of the subject that hold no core at all (a small companion beside the
    # product, like a puck by its stick) are not part of the furniture: they stay.
    pieces_count, pieces = cv2.connectedComponents(blob.astype(np.uint8), connectivity=8)
    seeded = np.bincount(pieces[markers > 0], minlength=pieces_count) > 0
    for piece in range(1, pieces_count):
        if not seeded[piece]:
            piece_ys, piece_xs = np.nonzero(pieces == piece)
            part = pieces[piece_ys.min() : piece_ys.max() + 1, piece_xs.min() : piece_xs.max() + 1] == piece
            corner = (x0 + int(piece_xs.min()), y0 + int(piece_ys.min()))
            seeded[piece] = bool(frame_contacts(part, corner, (width, height), band))
    unseeded = ~seeded[pieces] & blob
    cv2.watershed(np.ascontiguousarray(rgb[y0:y1, x0:x1, ::-1]), markers)
    new_subject = np.zeros_like(subject)
    new_subject[y0:y1, x0:x1] = blob & ((markers == 1) | unseeded)
    dropped = np.zeros_like(subject)
    dropped[y0:y1, x0:x1] = blob & (markers == 2)
    return new_subject, dropped


COLOUR_CLUSTERS = 6
COLOUR_SPLIT_WORK_SIDE = 256
COLOUR_SPLIT_MIN_FURNITURE = 0.12  # of the blob: a few frame-touching specks are not furniture
COLOUR_SPLIT_MIN_PRODUCT = 0.02
COLOUR_SPLIT_DISTINCT = 20.0
COLOUR_SPLIT_RELATIVE = 0.7
COLOUR_SPLIT_SEED = 1


def colour_cores(
    rgb: np.ndarray, blob: np.ndarray, origin: tuple[int, int], frame: tuple[int, int], band: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Product and furniture cores of a blob that does not fall apart by confidence.

    The model is often confident all over a product and the chair it sits on. Their colours
    still differ: the blob's pixels are clustered by colour, the colour regions that run into
    the frame are furniture, and regions of a clearly different colour that stay in view are
    product. Returns (keep, drop) masks over the blob's box, or None when the blob does not
    look like a product on furniture.
    """
    if not frame_contacts(blob, origin, frame, band):
        return None  # nothing runs into the frame: no furniture to cut away
    height, width = blob.shape
    scale = min(1.0, COLOUR_SPLIT_WORK_SIDE / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.medianBlur(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), 5)
    small_blob = cv2.resize(blob.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    pixels = lab[small_blob]
    if len(pixels) < 10 * COLOUR_CLUSTERS:
        return None
    cv2.setRNGSeed(COLOUR_SPLIT_SEED)  # same photo, same answer (OpenCV's RNG is per thread)
    _, assignment, centres = cv2.kmeans(
        pixels,
        COLOUR_CLUSTERS,
        None,
        (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0),
        5,
        cv2.KMEANS_PP_CENTERS,
    )
    clusters = np.full(small_blob.shape, -1, np.int32)
    clusters[small_blob] = assignment.ravel()
    x0, y0 = origin
    regions = []  # (mask, mean Lab colour, runs into the frame)
    for cluster in range(COLOUR_CLUSTERS):
        mask = cv2.morphologyEx(
            (clusters == cluster).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)
        )
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        for label in range(1, count):
            x, y, w, h, _ = (int(v) for v in stats[label])
            part = labels[y : y + h, x : x + w] == label
            full = cv2.resize(
                part.astype(np.uint8),
                (max(1, round(w / scale)), max(1, round(h / scale))),
                interpolation=cv2.INTER_NEAREST,
            ).astype(bool)
            sides = frame_contacts(full, (x0 + round(x / scale), y0 + round(y / scale)), frame, band)
            region = labels == label
            regions.append((region, lab[region].mean(axis=0), sides > 0))
    blob_area = float(small_blob.sum())
    furniture = np.zeros(small_blob.shape, bool)
    for mask, _, runs_out in regions:
        if runs_out:
            furniture |= mask
    if furniture.sum() < COLOUR_SPLIT_MIN_FURNITURE * blob_area:
        return None
    furniture_colours = np.array(
        [colour for mask, colour, runs_out in regions if runs_out and mask.sum() >= 0.01 * blob_area]
    )
    if not len(furniture_colours):
        return None
    candidates = [
        (mask, float(np.linalg.norm(furniture_colours - colour, axis=1).min()))
        for mask, colour, runs_out in regions
        if not runs_out and mask.sum() >= 0.5 * COLOUR_SPLIT_MIN_PRODUCT * blob_area
    ]
    if not candidates:
        return None
    # The product is what stands out most from the furniture; props of a middling colour
    # between the two (a bowl on the chair, a mug beside) do not seed it.
    best = max(distance for _, distance in candidates)
    product = np.zeros(small_blob.shape, bool)
    for mask, distance in candidates:
        if distance >= max(COLOUR_SPLIT_DISTINCT, COLOUR_SPLIT_RELATIVE * best):
            product |= mask
    if product.sum() < COLOUR_SPLIT_MIN_PRODUCT * blob_area:
        return None

    def full_size(mask: np.ndarray) -> np.ndarray:
        resized = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST)
        # Erode so the cores stay clear of the boundary the watershed has to find.
        return cv2.erode(resized, np.ones((5, 5), np.uint8)).astype(bool) & blob

    return full_size(product), full_size(furniture)
