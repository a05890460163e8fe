"""Round stamps (seal watermarks): two or more concentric thin rings, the words in the middle.

Found beside the text detector: candidate centres by gradient voting for circle centres and from
text line centres, each sharpened by hill climbing on a radial profile (at a coarse size, then at
the working size), where the ring edges are read. `find_stamps` returns them as `Stamp`s with their
ring bands as a box-local mask; `chord_quad` stretches a line inside a stamp to its full chord.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from processing.engines.erase.masks import Box, tight

# Round stamps (seal watermarks): searched at this long side; ring radii between these shares
# of it; a ring edge is a radius where at least STAMP_EDGE_SHARE of the directions change colour
# (by more than STAMP_EDGE_STEP in Lab, summed) and STAMP_EDGE_EXCESS more than at nearby radii;
# a ring band is at most STAMP_MAX_BAND of its radius wide.
STAMP_SIDE = 1024
STAMP_MIN_RADIUS, STAMP_MAX_RADIUS = 0.04, 0.75
STAMP_ANGLES = 120
STAMP_EDGE_STEP = 4.0
STAMP_EDGE_SHARE, STAMP_EDGE_EXCESS = 0.6, 0.15
STAMP_MAX_BAND = 0.15
STAMP_MAX_EDGES = 6000
STAMP_CANDIDATES = 3
# At most this many text line centres are tried as stamp centres.
STAMP_HINTS = 12
# Summed excess of the four sharpest radii of a stamp centre (at the coarse size), at least;
# a text line centre is climbed from when it scores STAMP_HINT_SCORE.
STAMP_MIN_SCORE = 0.8
STAMP_HINT_SCORE = 0.7
STAMP_START_SCORE = 0.35
# Hill-climbing moves per candidate, and candidates climbed from, at most.
STAMP_MAX_MOVES = 12
STAMP_MAX_CLIMBS = 4
# Rings lying mostly on the product are its own outline or rim, not a stamp.
STAMP_MAX_ON_SUBJECT = 0.5
# Pixels kept clear of the rings when reading the gaps between them (anti-aliasing, a loose cut-out).
STAMP_GAP_MARGIN = 2.0
# Ring bands are grown by this many pixels (plus half a working pixel) over anti-aliasing.
STAMP_EDGE_PAD = 1.0
# A run of edge radii at least this long (working pixels) is a thin ring's two edges in one.
STAMP_THIN_RING = 8


@dataclass
class Stamp:
    center: tuple[float, float]  # full-resolution pixels
    rings: list[tuple[float, float]]  # (inner, outer) radius of each ring band, full resolution
    box: Box  # of the set pixels of `mask`
    mask: np.ndarray  # bool, inside `box`: the ring bands, grown over their anti-aliased edges


def _ring_profile(lab: np.ndarray, center: tuple[float, float], radius: int) -> np.ndarray:
    """Per radius, the share of directions (among those inside the frame) in which the colour
    changes along the ray: a circle centred here shows as a peak near 1, texture and edges of
    other shapes spread over all radii."""
    height, width = lab.shape[:2]
    flags = cv2.WARP_POLAR_LINEAR | cv2.WARP_FILL_OUTLIERS | cv2.INTER_LINEAR
    polar = cv2.warpPolar(lab, (radius, STAMP_ANGLES), center, radius, flags)
    step = np.zeros(polar.shape[:2], np.float32)
    summed = cv2.transform(cv2.absdiff(polar[:, 2:], polar[:, :-2]), np.ones((1, 3), np.float32))
    step[:, 1:-1] = summed.reshape(step.shape[0], -1)
    angles = np.arange(STAMP_ANGLES, dtype=np.float32) * (2 * np.pi / STAMP_ANGLES)
    radii = np.arange(radius, dtype=np.float32)
    xs = center[0] + np.cos(angles)[:, None] * radii[None, :]
    ys = center[1] + np.sin(angles)[:, None] * radii[None, :]
    usable = (xs >= 1) & (xs <= width - 2) & (ys >= 1) & (ys <= height - 2)
    usable[:, [0, -1]] = False
    count = usable.sum(axis=0)
    share = ((step > STAMP_EDGE_STEP) & usable).sum(axis=0) / np.maximum(count, 1)
    return np.where(count >= STAMP_ANGLES // 4, share, 0.0).astype(np.float32)


def _ring_edges(profile: np.ndarray, min_radius: int) -> tuple[list[tuple[float, float]], float]:
    """Radii where the profile stands well above its neighbourhood (textured backgrounds raise
    the whole profile; a ring edge is a sharp peak on top of it), as runs (first, last radius),
    and the summed excess of the strongest peaks (how clearly circles are centred here)."""
    baseline = (
        cv2.medianBlur(np.clip(profile * 255, 0, 255).astype(np.uint8).reshape(1, -1), 15)
        .ravel()
        .astype(np.float32)
        / 255
    )
    excess = profile - baseline
    excess[:min_radius] = 0
    strong = (profile >= STAMP_EDGE_SHARE) & (excess >= STAMP_EDGE_EXCESS)
    runs: list[tuple[float, float]] = []
    start = previous = -10
    for radius in [*np.flatnonzero(strong).tolist(), -10]:
        if radius != previous + 1:
            if previous >= 0:
                runs.append((float(start), float(previous)))
            start = radius
        previous = radius
    return runs, float(np.sort(excess)[-4:].sum())


def _stamp_centres(gray: np.ndarray, min_radius: int, max_radius: int) -> list[tuple[float, float]]:
    """Circle centres by gradient voting (a Hough transform over all radii at once): every edge
    pixel votes along its gradient, both ways, at every radius in range."""
    height, width = gray.shape
    blurred = cv2.GaussianBlur(gray, (5, 5), 1.2)
    edges = cv2.Canny(blurred, 20, 50) > 0
    gx = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3)
    ys, xs = np.nonzero(edges)
    if len(ys) < 50:
        return []
    stride = len(ys) // STAMP_MAX_EDGES + 1
    ys, xs = ys[::stride], xs[::stride]
    magnitude = np.hypot(gx[ys, xs], gy[ys, xs]) + 1e-6
    ux, uy = gx[ys, xs] / magnitude, gy[ys, xs] / magnitude
    radii = np.arange(min_radius, max_radius, 2.0, dtype=np.float32)
    votes = np.zeros(height * width, np.float32)
    for sign in (1.0, -1.0):
        cx = np.rint(xs[:, None] + sign * radii[None, :] * ux[:, None]).astype(np.int32).ravel()
        cy = np.rint(ys[:, None] + sign * radii[None, :] * uy[:, None]).astype(np.int32).ravel()
        inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
        votes += np.bincount(cy[inside] * width + cx[inside], minlength=height * width).astype(np.float32)
    accumulator = cv2.GaussianBlur(votes.reshape(height, width), (0, 0), 1.5)
    centres: list[tuple[float, float]] = []
    spacing = max(4, min_radius // 2)
    for _ in range(STAMP_CANDIDATES):
        y, x = np.unravel_index(int(accumulator.argmax()), accumulator.shape)
        if accumulator[y, x] <= 0:
            break
        centres.append((float(x), float(y)))
        cv2.circle(accumulator, (int(x), int(y)), spacing, 0, -1)
    return centres


def _climb(
    lab: np.ndarray, centre: tuple[float, float], radii: tuple[int, int], steps: tuple[float, ...]
) -> tuple[tuple[float, float], list[tuple[float, float]], float]:
    """Move a circle centre to where the ring profile is sharpest (hill climbing in shrinking
    steps): a centre one pixel off smears every edge over several radii."""
    runs, score = _ring_edges(_ring_profile(lab, centre, radii[1]), radii[0])
    moves = 0
    for step in steps:
        moved = True
        while moved and moves < STAMP_MAX_MOVES:
            moved = False
            moves += 1
            for dx, dy in ((step, 0.0), (-step, 0.0), (0.0, step), (0.0, -step)):
                trial = (centre[0] + dx, centre[1] + dy)
                trial_runs, trial_score = _ring_edges(_ring_profile(lab, trial, radii[1]), radii[0])
                if trial_score > score + 1e-6:
                    centre, runs, score, moved = trial, trial_runs, trial_score, True
                    break
    return centre, runs, score


def chord_quad(quad: np.ndarray, centre: tuple[float, float], radius: float) -> np.ndarray | None:
    """The text line's box stretched along its baseline to the chord of a circle."""
    (cx, cy), (w, h), angle = cv2.minAreaRect(quad.astype(np.float32))
    if w < h:
        w, h, angle = h, w, angle + 90
    direction = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    offset = np.array([cx - centre[0], cy - centre[1]])
    along = float(offset @ direction)
    across2 = float(offset @ offset) - along**2
    if across2 >= radius**2:
        return None
    half = float(np.sqrt(radius**2 - across2))
    t0, t1 = -along - half, -along + half
    middle = np.array([cx, cy]) + direction * (t0 + t1) / 2
    return cv2.boxPoints(((float(middle[0]), float(middle[1])), (t1 - t0, h), angle))


def find_stamps(
    rgb: np.ndarray, hints: list[tuple[float, float]], subject: np.ndarray | None = None
) -> list[Stamp]:
    """Round stamps: two or more concentric thin rings, the typical shape of a "seal"
    watermark. Candidate centres come from gradient voting at a
    coarse size and from `hints` (text line centres, full resolution: a stamp's words sit in
    its middle); each is sharpened on the ring profile at the coarse size, then at the working
    size, where the ring edges are read."""
    height, width = rgb.shape[:2]
    fine = min(1.0, STAMP_SIDE / max(height, width))
    coarse = fine / 2

    def level(scale: float) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) if scale < 1 else rgb
        long_side = max(size)
        radii = (max(8, int(STAMP_MIN_RADIUS * long_side)), int(STAMP_MAX_RADIUS * long_side))
        return small, cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32), radii

    small, coarse_lab, coarse_radii = level(coarse)
    fine_level: tuple[np.ndarray, np.ndarray, tuple[int, int]] | None = None  # built on first use
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    voted = _stamp_centres(gray, *coarse_radii)
    hinted = [((hx + 0.5) * coarse - 0.5, (hy + 0.5) * coarse - 0.5) for hx, hy in hints]
    hinted = [h for h in hinted if all(abs(h[0] - x) + abs(h[1] - y) > 8 for x, y in voted)]
    stamps: list[Stamp] = []
    seen: list[tuple[float, float]] = []
    climbs = 0
    for number, start in enumerate(voted + hinted):
        # A centre is only worth climbing from when circles already show there.
        _, score = _ring_edges(_ring_profile(coarse_lab, start, coarse_radii[1]), coarse_radii[0])
        if score < (STAMP_HINT_SCORE if number >= len(voted) else STAMP_START_SCORE):
            continue
        climbs += 1
        if climbs > STAMP_MAX_CLIMBS:
            break
        centre, _, score = _climb(coarse_lab, start, coarse_radii, (2.0, 1.0, 0.5))
        if score < STAMP_MIN_SCORE:
            continue
        if any(abs(centre[0] - x) < 2 and abs(centre[1] - y) < 2 for x, y in seen):
            continue
        seen.append(centre)
        centre = ((centre[0] + 0.5) * 2 - 0.5, (centre[1] + 0.5) * 2 - 0.5)
        if fine_level is None:
            fine_level = level(fine)
        _, fine_lab, fine_radii = fine_level
        centre, runs, score = _climb(fine_lab, centre, fine_radii, (1.0, 0.5))
        scale = fine
        # A run wider than a sharp step holds both edges of a thin ring; otherwise consecutive
        # edges close together bound a ring band.
        rings: list[tuple[float, float]] = []
        index = 0
        while index < len(runs):
            first, last = runs[index]
            if last - first >= STAMP_THIN_RING:
                rings.append((first, last))
                index += 1
                continue
            if index + 1 < len(runs):
                inner = (first + last) / 2
                outer = sum(runs[index + 1]) / 2
                if (
                    2 <= outer - inner <= max(3.0, STAMP_MAX_BAND * outer)
                    and runs[index + 1][1] - runs[index + 1][0] < STAMP_THIN_RING
                ):
                    rings.append((inner, outer))
                    index += 2
                    continue
            index += 1
        # One circle alone is as likely a plate, a clock or a lamp; a seal has two or more.
        if len(rings) < 2:
            continue
        full_centre = ((centre[0] + 0.5) / scale - 0.5, (centre[1] + 0.5) / scale - 0.5)
        pad = 0.5 / scale + STAMP_EDGE_PAD
        full_rings = [(inner / scale - pad, outer / scale + pad) for inner, outer in rings]
        # Only the square around the outer ring can hold ring pixels (a pixel of margin beyond
        # it): distances are worked out there, not over the whole frame.
        reach = max(r1 for _, r1 in full_rings)
        x0 = min(width, max(0, int(np.floor(full_centre[0] - reach)) - 1))
        y0 = min(height, max(0, int(np.floor(full_centre[1] - reach)) - 1))
        x1 = max(x0, min(width, int(np.ceil(full_centre[0] + reach)) + 2))
        y1 = max(y0, min(height, int(np.ceil(full_centre[1] + reach)) + 2))
        ys, xs = np.ogrid[y0:y1, x0:x1]
        distance = np.sqrt((xs - full_centre[0]) ** 2 + (ys - full_centre[1]) ** 2)
        mask = np.zeros((y1 - y0, x1 - x0), bool)
        for r0, r1 in full_rings:
            mask |= (distance >= r0) & (distance <= r1)
        # Rings that are mostly product are the product's own outline or rim, unless the gaps
        # between them are not: then the cut-out traced the stamp's rings as a salient shape.
        if subject is not None:
            on_product = subject[y0:y1, x0:x1]
            gaps = np.zeros_like(mask)
            for (_, outer), (inner, _) in zip(full_rings, full_rings[1:], strict=False):
                gaps |= (distance > outer + STAMP_GAP_MARGIN) & (distance < inner - STAMP_GAP_MARGIN)
            traced = gaps.any() and on_product[gaps].mean() <= STAMP_MAX_ON_SUBJECT
            if on_product[mask].mean() > STAMP_MAX_ON_SUBJECT and not traced:
                continue
        box, local = tight(mask, x0, y0)
        stamps.append(Stamp(full_centre, full_rings, box, local))
    return stamps
