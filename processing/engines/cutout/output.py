"""Composition: the matte applied on white, a colour or transparent, fitted to a size, with an optional shadow.

analyse is called through its module (`pipeline.analyse`) so that tests can replace it there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from . import pipeline
from .matte import estimate_foreground
from .pipeline import to_rgb_array

BACKGROUNDS = ("white", "transparent")  # by name; any "#rrggbb" colour is accepted too
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def background_colour(background: str) -> tuple[int, int, int] | None:
    """The RGB a background name or "#rrggbb" stands for; None for transparent."""
    if background == "transparent":
        return None
    if background == "white":
        return (255, 255, 255)
    if isinstance(background, str) and _HEX_COLOUR.fullmatch(background):
        return (int(background[1:3], 16), int(background[3:5], 16), int(background[5:7], 16))
    raise ValueError(
        f"unknown background {background!r}; expected {', '.join(BACKGROUNDS)} or a #rrggbb colour"
    )


@dataclass
class CutoutResult:
    image: Image.Image  # RGB on white or a colour, or RGBA with a transparent background
    alpha: np.ndarray  # uint8 HxW matte at output size
    score: float  # confidence 0..1; low values flag results worth a human look
    subject_box: tuple[int, int, int, int] | None  # x0, y0, x1, y1 (exclusive) in the output image
    width: int
    height: int


def contact_shadow(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Opacity (0..1) of the photo's own shadow under the subject, as a soft layer.

    The shadow is where the background is darker than the backdrop around it, in a band
    just below the subject's footprint; its strength is the darkening ratio.
    """
    height, width = alpha.shape
    subject = alpha >= 0.5
    if not subject.any():
        return np.zeros(alpha.shape, np.float32)
    ys, xs = np.nonzero(subject)
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    subject_height = y1 - y0
    luminance = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    background = (~cv2.dilate(subject.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)).astype(
        np.float32
    )
    # Backdrop brightness without the shadow: a wide masked blur of the background.
    size = (max(3, width // 6) | 1, max(3, height // 6) | 1)
    backdrop = cv2.blur(luminance * background, size) / np.maximum(cv2.blur(background, size), 1e-3)
    darkening = np.clip(1.0 - luminance / np.maximum(backdrop, 1.0), 0.0, 1.0) * background
    region = np.zeros(alpha.shape, np.float32)
    spread = int(0.15 * (x1 - x0))
    band_top = max(0, y1 - int(0.25 * subject_height))
    band_bottom = min(height, y1 + int(0.12 * subject_height) + 4)
    region[band_top:band_bottom, max(0, x0 - spread) : min(width, x1 + spread)] = 1.0
    region = cv2.GaussianBlur(region, (0, 0), max(1.0, 0.02 * max(height, width)))
    shadow = cv2.GaussianBlur(darkening * region, (0, 0), 2.0)
    # Noise-level darkening is texture, not shadow.
    return np.where(shadow > 0.04, np.clip(shadow * 1.5, 0.0, 0.85), 0.0).astype(np.float32)


def fit_box(
    box: tuple[int, int, int, int],
    target_width: int | None,
    target_height: int | None,
    margin: float,
) -> tuple[int, int, float, int, int]:
    """Output size, scale of the subject, and its offset so that it is centred with the margin."""
    x0, y0, x1, y1 = box
    box_width, box_height = x1 - x0, y1 - y0
    if target_width is None and target_height is None:
        raise ValueError("need target_width or target_height")
    if target_width is None:
        # Only the height is fixed: the width follows the subject's aspect ratio.
        target_width = max(
            1, round(box_width * (target_height * (1 - 2 * margin)) / box_height / (1 - 2 * margin))
        )
    if target_height is None:
        target_height = max(
            1, round(box_height * (target_width * (1 - 2 * margin)) / box_width / (1 - 2 * margin))
        )
    usable_width = max(1.0, target_width * (1 - 2 * margin))
    usable_height = max(1.0, target_height * (1 - 2 * margin))
    scale = min(usable_width / box_width, usable_height / box_height)
    scaled_width, scaled_height = max(1, round(box_width * scale)), max(1, round(box_height * scale))
    return (
        target_width,
        target_height,
        scale,
        (target_width - scaled_width) // 2,
        (target_height - scaled_height) // 2,
    )


def subject_bounds(alpha: np.ndarray, threshold: int = 8) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(alpha >= threshold)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def remove_background(
    image: Image.Image | np.ndarray,
    *,
    model_type: str = "general",
    background: str = "white",
    target_width: int | None = None,
    target_height: int | None = None,
    margin: float = 0.05,
    keep_shadow: bool = False,
    matte: np.ndarray | None = None,
) -> CutoutResult:
    """`matte` (uint8, the photo's size) replaces the model's: a matte refined by hand (refine.py) is
    composed exactly as the model's would be; the score is then 1, the merchant having checked it."""
    backdrop = background_colour(background)
    if not 0.0 <= margin < 0.5:
        raise ValueError("margin must be in [0, 0.5)")
    rgb = to_rgb_array(image)
    if matte is not None and matte.shape != rgb.shape[:2]:
        raise ValueError(
            f"the matte is {matte.shape[1]}x{matte.shape[0]}, the photo {rgb.shape[1]}x{rgb.shape[0]}"
        )
    analysis = pipeline.analyse(rgb, model_type) if matte is None else pipeline.Analysis(matte, 1.0, None)
    alpha = analysis.alpha.astype(np.float32) / 255.0
    box = subject_bounds(analysis.alpha)
    if box is not None:
        # Only the subject's neighbourhood needs colour estimation; this keeps it cheap.
        x0, y0, x1, y1 = box
        pad = 16
        y0, y1, x0, x1 = (
            max(0, y0 - pad),
            min(rgb.shape[0], y1 + pad),
            max(0, x0 - pad),
            min(rgb.shape[1], x1 + pad),
        )
        foreground = rgb.astype(np.float32) / 255.0
        foreground[y0:y1, x0:x1] = estimate_foreground(rgb[y0:y1, x0:x1], alpha[y0:y1, x0:x1])
    else:
        foreground = rgb.astype(np.float32) / 255.0
    shadow = contact_shadow(rgb, alpha) * (1.0 - alpha) if keep_shadow else None

    layer_alpha = alpha if shadow is None else alpha + shadow
    colour = foreground * 255.0
    if shadow is not None:
        # Shadow is black at its own opacity, under the subject.
        colour = colour * (alpha / np.maximum(layer_alpha, 1e-6))[..., None]

    if target_width is not None or target_height is not None:
        content = subject_bounds((np.clip(layer_alpha, 0, 1) * 255).astype(np.uint8)) or (
            0,
            0,
            rgb.shape[1],
            rgb.shape[0],
        )
        out_width, out_height, scale, offset_x, offset_y = fit_box(
            content, target_width, target_height, margin
        )
        x0, y0, x1, y1 = content
        scaled_size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        canvas_colour = np.zeros((out_height, out_width, 3), np.float32)
        canvas_alpha = np.zeros((out_height, out_width), np.float32)
        canvas_subject = np.zeros((out_height, out_width), np.float32)
        # Premultiplied resampling, so background colour cannot bleed into the edge.
        premultiplied = colour[y0:y1, x0:x1] * layer_alpha[y0:y1, x0:x1, None]
        sx, sy = scaled_size
        canvas_colour[offset_y : offset_y + sy, offset_x : offset_x + sx] = cv2.resize(
            premultiplied, scaled_size, interpolation=interpolation
        )
        canvas_alpha[offset_y : offset_y + sy, offset_x : offset_x + sx] = cv2.resize(
            layer_alpha[y0:y1, x0:x1], scaled_size, interpolation=interpolation
        )
        canvas_subject[offset_y : offset_y + sy, offset_x : offset_x + sx] = cv2.resize(
            alpha[y0:y1, x0:x1], scaled_size, interpolation=interpolation
        )
        layer_alpha = np.clip(canvas_alpha, 0.0, 1.0)
        colour = np.clip(canvas_colour / np.maximum(layer_alpha, 1e-6)[..., None], 0.0, 255.0)
        alpha = np.clip(canvas_subject, 0.0, 1.0)

    alpha_u8 = (np.clip(alpha, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    layer_u8 = (np.clip(layer_alpha, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if backdrop is not None:
        a = layer_u8.astype(np.float32)[..., None] / 255.0
        composed = colour * a + np.array(backdrop, np.float32) * (1.0 - a)
        pixels = np.clip(composed + 0.5, 0, 255).astype(np.uint8)
        # Exactly the backdrop where nothing of the subject (or shadow) is: no JPEG-ish off-white.
        pixels[layer_u8 == 0] = backdrop
        output = Image.fromarray(pixels, "RGB")
    else:
        pixels = np.dstack([np.clip(colour + 0.5, 0, 255).astype(np.uint8), layer_u8])
        pixels[layer_u8 == 0, :3] = 0
        output = Image.fromarray(pixels, "RGBA")
    return CutoutResult(
        image=output,
        alpha=alpha_u8,
        score=analysis.score,
        subject_box=subject_bounds(alpha_u8),
        width=output.width,
        height=output.height,
    )
