"""Refining a cut-out by hand, between the rows and the engine: the `cutout_matte` and `cutout_refine` kinds.

The refine editor (views/refine.py) works on the photo a cut-out result was made from, at full resolution:

- `cutout_matte`: the model's matte of the photo (a greyscale PNG the photo's size), the editor's "before".
  The cut-out is deterministic, so it is the matte the result was composed from.
- `cutout_refine`: that matte (or an earlier refined one) corrected by the merchant's keep and remove
  strokes and box (engines/cutout/refine.py); its greyscale PNG is the editor's "after".
- Saving makes a new version: an ordinary `cutout` job whose item names the refined matte
  (`matte_result`), so the model is not run and the result is composed with the first result's settings.
  The old result stays.
"""

from __future__ import annotations

import io
import json
import secrets
from typing import TYPE_CHECKING

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from ..engines.cutout import ModelMissingError, predict_alpha, refine_matte_report
from ..engines.cutout.pipeline import to_rgb_array
from ..engines.erase import InvalidMask, decode_rle_mask
from ..engines.imageio import encode_image
from ..models import Result
from . import ItemError, ItemOutcome, handles, load_item_image

if TYPE_CHECKING:
    from ..models import JobItem

CUTOUT_MATTE = "cutout_matte"
CUTOUT_REFINE = "cutout_refine"
MATTE_KINDS = (CUTOUT_MATTE, CUTOUT_REFINE)
# Strokes above this many characters of RLE go to storage instead of the item's JSON params.
INLINE_STROKES_CHARS = 4096
STROKES_FOLDER = "refine-strokes"


def matte_outcome(alpha: np.ndarray, metadata: dict) -> ItemOutcome:
    height, width = alpha.shape
    return ItemOutcome(
        width=width,
        height=height,
        metadata=metadata,
        file_bytes=encode_image(Image.fromarray(alpha, "L"), "PNG"),
        extension="png",
        content_type="image/png",
    )


def load_matte(team_id: int, result_id: int, image_id: int | None, width: int, height: int) -> np.ndarray:
    """A matte result of this team, made from this very photo, as a uint8 array the photo's size."""
    result = (
        Result.objects.filter(
            pk=result_id, team_id=team_id, job__kind__in=MATTE_KINDS, item__image_id=image_id
        )
        .exclude(file="")
        .first()
    )
    if result is None or image_id is None:
        raise ItemError("matte_missing", "The refined cut-out it was made from is gone; refine it again.")
    try:
        with result.file.storage.open(result.file.name, "rb") as handle:
            matte = Image.open(io.BytesIO(handle.read()))
            matte.load()
    except FileNotFoundError:
        raise ItemError(
            "matte_missing", "The refined matte is missing from storage; refine it again."
        ) from None
    if matte.size != (width, height):
        raise ItemError("matte_mismatch", "The refined matte does not fit the photo any more.")
    return np.asarray(matte.convert("L"))


# --- strokes through the job ----------------------------------------------------------------------------
def store_strokes(team_id: int, keep: str, remove: str) -> dict:
    """Item params for the painted strokes (RLE, as the erase editor's mask): inline when small, otherwise
    a file in storage (deleted with the item, see signals.py)."""
    strokes = {"keep": keep, "remove": remove}
    if len(keep) + len(remove) <= INLINE_STROKES_CHARS:
        return {"strokes": strokes}
    name = default_storage.save(
        f"teams/{team_id}/{STROKES_FOLDER}/{secrets.token_hex(8)}.json",
        ContentFile(json.dumps(strokes).encode("ascii")),
    )
    return {"strokes_file": name}


def load_strokes(item: JobItem, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    params = item.params
    if "strokes" in params:
        strokes = params["strokes"]
    elif params.get("strokes_file"):
        name = params["strokes_file"]
        # Only this team's folder: item params are ours, but a path is still a path.
        if not name.startswith(f"teams/{item.job.team_id}/{STROKES_FOLDER}/"):
            raise ItemError("invalid_strokes", "The strokes file is not this team's.")
        try:
            with default_storage.open(name, "rb") as handle:
                strokes = json.loads(handle.read())
        except FileNotFoundError:
            raise ItemError("strokes_missing", "The painted strokes are missing from storage.") from None
    else:
        strokes = {}
    try:
        keep = decode_rle_mask(strokes.get("keep") or "", width, height) > 0
        remove = decode_rle_mask(strokes.get("remove") or "", width, height) > 0
    except InvalidMask as error:
        raise ItemError("invalid_strokes", f"The painted strokes are invalid: {error}") from None
    return keep, remove


# --- the kinds ----------------------------------------------------------------------------------------------
@handles(CUTOUT_MATTE)
def matte_item(item: JobItem) -> ItemOutcome:
    decoded = load_item_image(item)
    model_type = item.job.params.get("model_type", "general")
    try:
        alpha = predict_alpha(to_rgb_array(decoded.image), model_type)
    except ModelMissingError as error:
        raise ItemError("model_missing", str(error)) from None
    return matte_outcome(alpha, {"model_type": model_type})


@handles(CUTOUT_REFINE)
def refine_item(item: JobItem) -> ItemOutcome:
    decoded = load_item_image(item)
    width, height = decoded.width, decoded.height
    base_id = item.params.get("base_matte")
    base = load_matte(item.job.team_id, base_id, item.image_id, width, height)
    keep, remove = load_strokes(item, width, height)
    box = item.params.get("box")
    try:
        report = refine_matte_report(
            to_rgb_array(decoded.image), base, keep=keep, remove=remove, box=tuple(box) if box else None
        )
    except ValueError as error:
        raise ItemError("invalid_strokes", f"The strokes do not fit the photo: {error}") from None
    return matte_outcome(
        report.alpha,
        {
            "base_matte": base_id,
            "added_pixels": report.added,
            "removed_pixels": report.removed,
            "changed_percent": round(100 * (report.added + report.removed) / (width * height), 2),
            "keep_pixels": int(keep.sum()),
            "remove_pixels": int(remove.sum()),
            "box": list(box) if box else None,
        },
    )
