"""Thumbnails and the facts a merchant wants to see about a photo: size, colours, sharpness."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
from PIL import Image

from .imageio import encode_image

THUMBNAIL_SIDE = 480
# Sharpness is the ratio of the strongest second derivative to the strongest gradient at 512 px:
# about 1/edge-width, so it does not depend on contrast. Sharp product photos score 0.55 and up,
# the same photos blurred by a 3 px Gaussian score 0.2-0.4.
BLUR_THRESHOLD = 0.4


@dataclass(frozen=True)
class DominantColour:
    hex: str
    share: float


@dataclass(frozen=True)
class ImageFacts:
    width: int
    height: int
    has_alpha: bool
    dominant_colours: list[DominantColour]
    sharpness: float  # roughly 1 / edge width in pixels, at 512 px
    is_blurry: bool

    def as_dict(self) -> dict:
        return asdict(self)


def make_thumbnail(image: Image.Image, side: int = THUMBNAIL_SIDE) -> bytes:
    thumbnail = image.copy()
    thumbnail.thumbnail((side, side), Image.Resampling.LANCZOS)
    return encode_image(thumbnail, "WEBP", quality=82)


def compute_facts(image: Image.Image, colour_count: int = 5) -> ImageFacts:
    sharpness = _sharpness(image)
    return ImageFacts(
        width=image.width,
        height=image.height,
        has_alpha=image.mode == "RGBA",
        dominant_colours=dominant_colours(image, colour_count),
        sharpness=round(sharpness, 2),
        is_blurry=sharpness < BLUR_THRESHOLD,
    )


def dominant_colours(image: Image.Image, count: int = 5) -> list[DominantColour]:
    small = image.copy()
    small.thumbnail((96, 96), Image.Resampling.BILINEAR)
    if small.mode == "RGBA":
        rgba = np.asarray(small)
        # Transparent pixels are not the product's colour.
        opaque = rgba[rgba[..., 3] > 127][:, :3]
        if len(opaque) == 0:
            return []
        small = Image.fromarray(np.ascontiguousarray(opaque.reshape(1, -1, 3)))
    else:
        small = small.convert("RGB")
    quantized = small.quantize(colors=count, method=Image.Quantize.MEDIANCUT)
    palette = quantized.getpalette() or []
    histogram = np.bincount(np.asarray(quantized).ravel(), minlength=count)
    total = int(histogram.sum()) or 1
    colours = []
    for index in np.argsort(histogram)[::-1]:
        if histogram[index] == 0:
            continue
        red, green, blue = palette[index * 3 : index * 3 + 3]
        colours.append(
            DominantColour(hex=f"#{red:02x}{green:02x}{blue:02x}", share=round(histogram[index] / total, 3))
        )
    return colours


def _sharpness(image: Image.Image) -> float:
    grey = image.convert("L")
    grey.thumbnail((512, 512), Image.Resampling.BILINEAR)
    pixels = np.asarray(grey, dtype=np.float32)
    laplacian = np.abs(cv2.Laplacian(pixels, cv2.CV_32F))
    # Sobel's 3x3 kernel weighs the gradient 4x; scale it back to grey levels per pixel.
    gradient = np.hypot(cv2.Sobel(pixels, cv2.CV_32F, 1, 0), cv2.Sobel(pixels, cv2.CV_32F, 0, 1)) / 4
    strongest_gradient = _mean_of_strongest(gradient)
    if strongest_gradient < 1.0:  # no edges at all: a flat image is not "blurry"
        return 1.0
    return _mean_of_strongest(laplacian) / strongest_gradient


def _mean_of_strongest(values: np.ndarray, fraction: float = 0.001) -> float:
    flat = values.ravel()
    count = max(1, int(flat.size * fraction))
    return float(np.partition(flat, -count)[-count:].mean())
