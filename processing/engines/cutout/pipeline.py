"""The two model passes and what runs between them: `analyse` turns a photo into a matte and a score.

run_model is called through its module (`model.run_model`) so that tests and bench/cutout.py --cache
can replace it there.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from . import model
from .matte import clear_enclosed_background, refine_edges, soft_mask
from .model import model_input_size
from .steps import STEPS
from .subject import Component, crop_around, enclosed_holes, keep_overlapping, select_subject, split_fused


def to_rgb_array(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, Image.Image):
        if image.mode == "RGBA":
            # Transparent pixels are background already; show them as white to the model.
            white = Image.new("RGB", image.size, (255, 255, 255))
            white.paste(image, mask=image.getchannel("A"))
            image = white
        return np.asarray(image.convert("RGB"))
    array = np.asarray(image)
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2).astype(np.uint8)
    if array.shape[2] == 4:
        alpha = array[..., 3:4].astype(np.float32) / 255.0
        return (array[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(array[..., :3]).astype(np.uint8)


def predict_alpha(image_rgb: np.ndarray, model_type: str = "general", *, refine: bool = True) -> np.ndarray:
    """Refined uint8 alpha matte at the image's full resolution.

    `refine=False` skips the crop pass (about 40% of the model time) for callers that only need to
    know where the product is, such as the erase engine's on-product test and fill sides."""
    return analyse(to_rgb_array(image_rgb), model_type, refine=refine).alpha


@dataclass
class Analysis:
    alpha: np.ndarray  # uint8 full-resolution matte
    score: float
    locate_prob: np.ndarray  # pass-1 probability at full resolution (float32)


LOCATE_LONG_SIDE = 768
REFINE_MIN_LONG_SIDE = 384
REFINE_MAX_LONG_SIDE = 1024
# Cap on the refine pass's input pixels: the crop pass never costs more than this much model.
REFINE_MAX_PIXELS = 512 * 512
CROP_CONTEXT = 0.25


def refine_input_size(width: int, height: int) -> tuple[int, int]:
    """Model size for the crop pass: the crop's own resolution, within the pass's budget."""
    long_side = min(max(width, height), REFINE_MAX_LONG_SIDE)
    long_side = max(long_side, REFINE_MIN_LONG_SIDE)
    size = model_input_size(width, height, long_side)
    while size[0] * size[1] > REFINE_MAX_PIXELS and long_side > REFINE_MIN_LONG_SIDE:
        long_side -= 32
        size = model_input_size(width, height, long_side)
    return size


def analyse(rgb: np.ndarray, model_type: str = "general", *, refine: bool = True) -> Analysis:
    height, width = rgb.shape[:2]
    # Pass 1 only has to find the subject: a low resolution is enough and cheap.
    locate_size = model_input_size(width, height, LOCATE_LONG_SIDE)
    locate = cv2.resize(
        model.run_model(rgb, locate_size, model_type), (width, height), interpolation=cv2.INTER_LINEAR
    )
    subject, components = select_subject(locate, model_type)
    if not subject.any() and STEPS["second_look"]:
        # Nothing confident in the whole view: small, thin or glassy products on a busy
        # background. Look again, closer, where products stand: the lower middle of the photo.
        look = second_look(rgb, model_type)
        subject, components = select_subject(look, model_type)
        if subject.any():
            locate = np.maximum(locate, look)
    if not subject.any():
        # Glass and faint subjects can stay under 0.5 everywhere; look again, less strictly.
        subject, components = select_subject(locate, model_type, threshold=0.2)
    if not subject.any():
        return Analysis(np.zeros((height, width), np.uint8), 0.0, locate)
    dropped = None
    if STEPS["split_fused"]:
        subject, dropped = split_fused(rgb, locate, subject)
    x0, y0, x1, y1 = crop_around(subject, CROP_CONTEXT)
    refine = refine and STEPS["refine_pass"]
    if refine:
        # Pass 2 sees the subject at (up to) its own resolution, with the clutter out of view.
        crop = rgb[y0:y1, x0:x1]
        refined = cv2.resize(
            model.run_model(crop, refine_input_size(x1 - x0, y1 - y0), model_type),
            (x1 - x0, y1 - y0),
            interpolation=cv2.INTER_LINEAR,
        )
    else:
        refined = locate[y0:y1, x0:x1]
    if refine and STEPS["fuse_passes"] and dropped is None:
        # Inside the chosen subject, the two passes vote: the crop pass sometimes loses what
        # the whole view saw (a dark base, the second of two glasses), and the whole view
        # sometimes fills what the crop pass opened. Where furniture was split off, pass 1's
        # subject boundary is only approximate, so the crop pass decides alone.
        # Holes the crop pass opened (a handle's eye, a stethoscope's earpieces) stay open.
        inside = subject[y0:y1, x0:x1] & ~enclosed_holes(refined >= 0.5)
        refined = np.where(inside, 0.5 * (refined + locate[y0:y1, x0:x1]), refined)
    refined = refined * keep_overlapping(refined, subject[y0:y1, x0:x1])
    if dropped is not None:
        # The refine pass sees the furniture the subject touches again; keep it cut away.
        refined = refined * (1.0 - soft_mask(dropped[y0:y1, x0:x1]))
    if STEPS["cut_clutter"]:
        # What pass 1 saw confidently but left out of the subject (furniture split off it,
        # clutter it dropped) stays out, even where the crop pass joins it to the subject.
        clutter = (locate[y0:y1, x0:x1] >= 0.5) & ~subject[y0:y1, x0:x1]
        # Only objects in their own right: slivers of the subject pass 1 missed are not.
        count, labels, stats, _ = cv2.connectedComponentsWithStats(clutter.astype(np.uint8), connectivity=8)
        large = np.nonzero(stats[:, cv2.CC_STAT_AREA] >= 0.001 * height * width)[0]
        clutter = np.isin(labels, large[large > 0])
        if clutter.any():
            radius = max(1, round(0.006 * max(height, width)))
            kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
            grown = cv2.dilate(clutter.astype(np.uint8), kernel).astype(bool) & ~subject[y0:y1, x0:x1]
            refined = refined * (1.0 - soft_mask(grown))
    crop_rgb = rgb[y0:y1, x0:x1]
    if STEPS["clear_holes"]:
        refined = clear_enclosed_background(crop_rgb, refined)
    if STEPS["edges"]:
        refined = refine_edges(crop_rgb, refined)
    prob = np.zeros((height, width), np.float32)
    prob[y0:y1, x0:x1] = refined
    score = confidence(prob, locate, components)
    return Analysis((np.clip(prob, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8), score, locate)


SECOND_LOOK_REGION = (0.05, 0.3, 0.95, 1.0)  # x0, y0, x1, y1 as fractions of the photo
SECOND_LOOK_LONG_SIDE = 640


def second_look(rgb: np.ndarray, model_type: str = "general") -> np.ndarray:
    """Model probability over the photo from a closer pass on its lower middle (zero elsewhere)."""
    height, width = rgb.shape[:2]
    fx0, fy0, fx1, fy1 = SECOND_LOOK_REGION
    x0, y0, x1, y1 = round(fx0 * width), round(fy0 * height), round(fx1 * width), round(fy1 * height)
    zoom = model.run_model(
        rgb[y0:y1, x0:x1], model_input_size(x1 - x0, y1 - y0, SECOND_LOOK_LONG_SIDE), model_type
    )
    look = np.zeros((height, width), np.float32)
    look[y0:y1, x0:x1] = cv2.resize(zoom, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    return look


def confidence(prob: np.ndarray, locate: np.ndarray, components: list[Component]) -> float:
    """0..1 confidence from three symptoms of doubtful cut-outs.

    - an undecided matte: many pixels neither subject nor background, relative to the subject;
    - disagreement between the two passes (different view, different answer);
    - competition: a dropped salient object nearly as strong as the chosen one.
    """
    subject = prob >= 0.5
    area = float(subject.sum())
    if area == 0:
        return 0.0
    uncertain = float(((prob > 0.15) & (prob < 0.85)).sum()) / area
    decisiveness = float(np.clip(1.0 - 2.0 * uncertain, 0.0, 1.0))
    located = locate >= 0.5
    union = float((subject | located).sum())
    agreement = float((subject & located).sum()) / union if union else 0.0
    competition = 1.0
    dropped = [c.score for c in components if not c.kept]
    if components and dropped:
        competition = float(np.clip(1.0 - max(dropped) / components[0].score, 0.0, 1.0)) ** 0.5
    return round(float(decisiveness * (0.5 + 0.5 * agreement) * (0.5 + 0.5 * competition)), 4)
