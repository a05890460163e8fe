"""Thumbnails and the facts a merchant wants to see about a photo: size, colours, sharpness."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np
from PIL import Image

from .imageio import encode_image

THUMBNAIL_SIDE = 480
# Variance of the Laplacian at 512 px; product photos below this look soft on a marketplace.
BLUR_THRESHOLD = 60.0


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
    sharpness: float  # variance of the Laplacian on a 512 px grey copy
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
    return float(cv2.Laplacian(pixels, cv2.CV_32F).var())
