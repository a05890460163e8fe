"""Matte refinement: enclosed background cleared, edges snapped to the photo, foreground decontaminated."""

from __future__ import annotations

import cv2
import numpy as np

# The colour split's seed: the background clusters are deterministic too (same photo, same matte).
from .subject import COLOUR_SPLIT_SEED


def soft_mask(mask: np.ndarray) -> np.ndarray:
    radius = max(1, round(0.004 * max(mask.shape)))
    return cv2.blur(mask.astype(np.float32), (2 * radius + 1, 2 * radius + 1))


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Fast grey-guide guided filter (He et al.): snaps the upsampled matte to image edges."""
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(values: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(values, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    mean_guide, mean_source = mean(guide), mean(source)
    covariance = mean(guide * source) - mean_guide * mean_source
    variance = mean(guide * guide) - mean_guide * mean_guide
    slope = covariance / (variance + eps)
    offset = mean_source - slope * mean_guide
    return mean(slope) * guide + mean(offset)


def refine_edges(rgb: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Guided-filter the matte, but only in the uncertain band around its edge.

    The model ran at most at 1024 px on the crop; the filter recovers full-resolution edge
    detail from the photo. Confident interior and exterior pixels are left alone so that
    texture inside the subject cannot punch holes into it.
    """
    height, width = prob.shape
    radius = max(2, round(max(height, width) / 512))
    hard = (prob >= 0.5).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * radius + 1, 4 * radius + 1))
    band = (cv2.dilate(hard, kernel) != cv2.erode(hard, kernel)) | ((prob > 0.05) & (prob < 0.95))
    if not band.any():
        return prob
    ys, xs = np.nonzero(band)
    pad = 4 * radius
    y0, y1 = max(0, ys.min() - pad), min(height, ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(width, xs.max() + 1 + pad)
    guide = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    filtered = np.clip(guided_filter(guide, prob[y0:y1, x0:x1], radius, 1e-3), 0.0, 1.0)
    refined = prob.copy()
    window = band[y0:y1, x0:x1]
    refined[y0:y1, x0:x1][window] = filtered[window]
    return refined


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Decontaminated foreground colours (float32 0..1) by blur fusion (Forte & Pitie, 2021).

    Edge pixels mix subject and background colour; compositing them as they are on white
    leaves a dark or tinted halo. Two passes (coarse, then fine) of the blur-fusion estimator
    solve for the subject colour alone.
    """
    image = rgb.astype(np.float32) / 255.0
    a = alpha[..., None]
    foreground, background = image, image
    for radius in (90, 7):
        size = (radius, radius)
        blurred_alpha = cv2.blur(alpha, size)[..., None]
        blurred_foreground = cv2.blur(foreground * a, size) / (blurred_alpha + 1e-5)
        blurred_background = cv2.blur(background * (1 - a), size) / ((1 - blurred_alpha) + 1e-5)
        foreground = blurred_foreground + a * (image - a * blurred_foreground - (1 - a) * blurred_background)
        foreground = np.clip(foreground, 0.0, 1.0)
        background = blurred_background
    return foreground


def clear_enclosed_background(rgb: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Clear holes (ring centres, handles, chair backs) the model filled in.

    A filled hole shows the same background as the outside. Pixels of the subject whose colour
    is close to the background ring just outside the subject, and that form a region fully
    enclosed by confident subject pixels, are background seen through the object.
    """
    hard = (prob >= 0.5).astype(np.uint8)
    if not hard.any():
        return prob
    height, width = prob.shape
    radius = max(3, round(0.01 * max(height, width)))
    ring = cv2.dilate(hard, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)) & (1 - hard)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    ring_pixels = lab[ring.astype(bool)]
    if len(ring_pixels) < 50:
        return prob
    # A few background colour clusters: backdrops are rarely a single flat colour.
    samples = ring_pixels[:: max(1, len(ring_pixels) // 4000)]
    clusters = min(4, len(samples))
    cv2.setRNGSeed(COLOUR_SPLIT_SEED)  # deterministic clusters: same photo, same matte
    _, _, centres = cv2.kmeans(
        samples,
        clusters,
        None,
        (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0),
        2,
        cv2.KMEANS_PP_CENTERS,
    )
    interior = cv2.erode(hard, np.ones((3, 3), np.uint8)).astype(bool)
    distance = np.min(np.linalg.norm(lab[interior][:, None, :] - centres[None], axis=2), axis=1)
    looks_like_background = np.zeros(prob.shape, np.uint8)
    looks_like_background[interior] = distance < 12.0
    looks_like_background = cv2.morphologyEx(looks_like_background, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(looks_like_background, connectivity=4)
    subject_area = float(hard.sum())
    # A region that is most of a separate piece of the subject is not a hole but a whole
    # object: it goes only if it has the colour of its own surroundings (a white table leg
    # against a white wall), not merely a colour found somewhere around the subject (a
    # purple puck beside a stick with a purple grip).
    piece_count, pieces = cv2.connectedComponents(hard, connectivity=8)
    piece_area = np.bincount(pieces.ravel(), minlength=piece_count)
    cleared = prob.copy()
    for label in range(1, count):
        area = stats[label, cv2.CC_STAT_AREA]
        # Big enough to be a real opening, small enough not to be half the subject
        # (a white product on a white wall must not be hollowed out).
        if not (0.002 * subject_area <= area <= 0.35 * subject_area):
            continue
        region = labels == label
        piece = int(np.bincount(pieces[region]).argmax())
        if area > 0.5 * piece_area[piece] and not like_its_surroundings(lab, pieces == piece, hard, radius):
            continue
        # Holes are where the model itself hesitated; a confident interior is subject colour.
        if float(prob[region].mean()) > 0.9:
            continue
        cleared[region] = 0.0
    return cleared


def like_its_surroundings(lab: np.ndarray, piece: np.ndarray, hard: np.ndarray, radius: int) -> bool:
    """Whether a piece of the matte has the colour of the background right around it."""
    ys, xs = np.nonzero(piece)
    pad = 2 * radius + 1
    y0, y1 = max(0, ys.min() - pad), min(piece.shape[0], ys.max() + 1 + pad)
    x0, x1 = max(0, xs.min() - pad), min(piece.shape[1], xs.max() + 1 + pad)
    local = piece[y0:y1, x0:x1].astype(np.uint8)
    ring = cv2.dilate(local, np.ones((pad, pad), np.uint8)).astype(bool) & ~hard[y0:y1, x0:x1].astype(bool)
    if ring.sum() < 20:
        return False
    ring_lab = lab[y0:y1, x0:x1][ring]
    piece_lab = lab[y0:y1, x0:x1][local.astype(bool)]
    # Median distance of the piece's pixels to the nearest of a few surrounding colours.
    samples = ring_lab[:: max(1, len(ring_lab) // 2000)]
    picks = piece_lab[:: max(1, len(piece_lab) // 2000)]
    distance = np.min(np.linalg.norm(picks[:, None, :] - samples[None], axis=2), axis=1)
    return float(np.median(distance)) < 12.0
