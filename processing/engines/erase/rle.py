"""Run-length codec for hand-painted erase masks (the `mask` parameter of the removal API).

Format, as in the reference example: whitespace-separated "start length" pairs over the row-major
flattened image (index = y * width + x). The example (runs of 160 every 800 pixels, i.e. one
rectangle on an 800-wide image) fits 0-based and 1-based starts equally; we use 0-based starts,
the natural numpy flat index, and accept `base=1` for editors that count from one.
"""

from __future__ import annotations

import re

import numpy as np

_TOKEN = re.compile(r"\d+")


class InvalidMask(ValueError):
    """The RLE text is malformed, overlapping, out of range or does not fit the image."""


def decode_rle_mask(text: str, width: int, height: int, *, base: int = 0) -> np.ndarray:
    """Decode "start length ..." into a uint8 HxW mask of 0/255.

    Strict on purpose: a silently wrong mask would erase the wrong part of a merchant's photo.
    """
    if base not in (0, 1):
        raise ValueError("base must be 0 or 1")
    if width <= 0 or height <= 0:
        raise InvalidMask(f"image size must be positive, got {width}x{height}")
    if not isinstance(text, str):
        raise InvalidMask("mask must be a string of 'start length' pairs")
    tokens = text.split()
    total = width * height
    flat = np.zeros(total, np.uint8)
    if not tokens:
        return flat.reshape(height, width)
    for position, token in enumerate(tokens):
        if not _TOKEN.fullmatch(token):
            raise InvalidMask(f"token {position + 1} ({token[:20]!r}) is not a non-negative integer")
    if len(tokens) % 2:
        raise InvalidMask(f"odd number of values ({len(tokens)}): every start needs a length")
    # Python ints: a 20-digit value must be refused as out of range, not overflow int64.
    values = [int(token) for token in tokens]
    starts, lengths = [value - base for value in values[0::2]], values[1::2]
    previous_end = 0
    for index, (start, length) in enumerate(zip(starts, lengths, strict=True)):
        run = index + 1
        if start < 0:
            raise InvalidMask(f"run {run}: start {start + base} is below the first pixel ({base})")
        if length <= 0:
            raise InvalidMask(f"run {run}: length must be positive, got {length}")
        if start + length > total:
            raise InvalidMask(
                f"run {run}: pixels {start + base}..{start + base + length - 1} exceed the "
                f"{width}x{height} image ({total} pixels)"
            )
        if start < previous_end:
            raise InvalidMask(
                f"run {run}: start {start + base} overlaps or precedes the previous run "
                f"(runs must be sorted and disjoint)"
            )
        flat[start : start + length] = 255
        previous_end = start + length
    return flat.reshape(height, width)


def encode_rle_mask(mask: np.ndarray, *, base: int = 0) -> str:
    """Encode a 2-D mask (non-zero = erase) as sorted, maximal "start length" pairs."""
    if base not in (0, 1):
        raise ValueError("base must be 0 or 1")
    array = np.asarray(mask)
    if array.ndim != 2:
        raise InvalidMask(f"mask must be 2-D, got shape {array.shape}")
    flat = (array.reshape(-1) != 0).astype(np.int8)
    if not flat.any():
        return ""
    edges = np.diff(np.concatenate(([0], flat, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    pairs = np.empty(starts.size * 2, np.int64)
    pairs[0::2] = starts + base
    pairs[1::2] = ends - starts
    return " ".join(map(str, pairs.tolist()))
