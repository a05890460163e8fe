"""The data the erase pipeline passes along: element types, text lines, elements and the result.

Element types follow the Aidge "Image Elements Removal" API: 1 semi-transparent element, 2 specific
name, 3 character, 4 colour block with characters. A `TextBox` is one line the text detector found
(`ocr.py`); an `Element` is one removable thing with its pixel mask kept inside its box (`masks.py`);
an `EraseResult` is what `remove_elements` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from processing.engines.erase.masks import Box, window_of

SEMI_TRANSPARENT, SPECIFIC_NAME, CHARACTER, COLOUR_BLOCK = 1, 2, 3, 4
TYPE_NAMES = {
    SEMI_TRANSPARENT: "semi_transparent",
    SPECIFIC_NAME: "specific_name",
    CHARACTER: "character",
    COLOUR_BLOCK: "colour_block_with_characters",
}
ALL_TYPES = frozenset(TYPE_NAMES)


@dataclass
class TextBox:
    quad: np.ndarray  # 4x2 float, full-resolution pixel coordinates
    text: str
    score: float


@dataclass
class Element:
    """One removable element. Its pixel mask is stored only inside `box` (a full-size mask per
    element would cost height x width bytes each: 9 MB on a 3000 px photo); `full_mask` and
    `paint_into` give it at image size when needed."""

    type: int
    box: Box  # x0, y0, x1, y1 (exclusive) of the mask's set pixels
    polygon: list[tuple[float, float]]
    text: str
    confidence: float
    on_subject: bool
    local_mask: np.ndarray = field(repr=False)  # bool (y1 - y0) x (x1 - x0): the mask inside `box`
    features: dict[str, float] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.box
        if self.local_mask.shape != (y1 - y0, x1 - x0):
            raise ValueError(f"local_mask shape {self.local_mask.shape} does not match box {self.box}")

    @property
    def type_name(self) -> str:
        return TYPE_NAMES[self.type]

    def paint_into(self, canvas: np.ndarray) -> None:
        """Set the element's pixels in a bool HxW image-size canvas (or-ed in, nothing cleared)."""
        x0, y0, x1, y1 = self.box
        canvas[y0:y1, x0:x1] |= self.local_mask

    def full_mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """The element's pixels as a new bool HxW mask for an image of `shape` (height, width, ...).
        Image size: build it when needed and let it go."""
        mask = np.zeros(shape[:2], bool)
        self.paint_into(mask)
        return mask

    def mask_in(self, window: Box) -> np.ndarray:
        """The element's pixels inside `window` (x0, y0, x1, y1 exclusive), as a new bool array."""
        return window_of(self.box, self.local_mask, window)


@dataclass
class EraseResult:
    image: Image.Image
    mask: np.ndarray  # uint8 HxW, 255 = erased
    elements: list[Element]


def to_rgb_array(image: Image.Image | np.ndarray) -> np.ndarray:
    if isinstance(image, Image.Image):
        return np.array(image.convert("RGB"))
    array = np.asarray(image)
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2).astype(np.uint8)
    return np.ascontiguousarray(array[..., :3]).astype(np.uint8, copy=False)
