"""Erase elements between the rows and the engine: the `erase` and `erase_detect` job kinds.

- `erase`: one item per photo. Without a hand mask the engine detects elements and removes the
  chosen types (`object_types` on the product, `non_object_types` elsewhere); with a hand mask
  (the editor, or the API's `mask`) only the painted pixels are filled, as the seed says the mask
  takes precedence over the type lists.
- `erase_detect`: the editor's first step. It stores the elements with their pixel masks (RLE)
  and the subject mask in a JSON file, so the editor can draw them and the later erase does not
  have to run the cut-out model again.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from ..engines.erase import InvalidMask, decode_rle_mask, detect_elements, encode_rle_mask, remove_elements
from ..engines.imageio import encode_image
from ..models import Result
from . import ItemError, ItemOutcome, handles, load_item_image

if TYPE_CHECKING:
    from ..engines.erase import Element
    from ..models import JobItem

logger = logging.getLogger(__name__)

ERASE = "erase"
# Not in JobKind: kinds are validated by their handler, and a detection job is only the editor's
# helper (its label falls back to the raw kind on the jobs page).
ERASE_DETECT = "erase_detect"

TYPE_LABELS = {
    1: "Semi-transparent element",
    2: "Specific name",
    3: "Character",
    4: "Colour block with characters",
}
# A hand mask above this many characters of RLE goes to storage instead of the item's JSON params.
INLINE_MASK_CHARS = 4096


def parse_types(values: Any) -> list[int]:
    """Element types as a sorted list of 1-4; raises ValueError on anything else."""
    if values is None or values == "":
        return []
    if isinstance(values, str):
        text = values.strip()
        if text.startswith("["):
            try:
                values = json.loads(text)
            except (ValueError, RecursionError):  # also a number past Python's digit limit, deep nesting
                raise ValueError("must be a list of element types such as [1, 2, 4]") from None
        else:
            values = [part for part in text.replace(",", " ").split() if part]
    if isinstance(values, (int, float)) and not isinstance(values, bool):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise ValueError("must be a list of element types such as [1, 2, 4]")
    types: set[int] = set()
    for value in values:
        if isinstance(value, bool):
            raise ValueError("element types are numbers from 1 to 4")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"{str(value)[:20]!r} is not an element type (1 to 4)") from None
        if number not in TYPE_LABELS or str(value).strip() not in (str(number), f"{number}.0"):
            raise ValueError(f"{str(value)[:20]!r} is not an element type (1 to 4)")
        types.add(number)
    return sorted(types)


def element_dict(element: Element, removed: bool | None = None) -> dict:
    """What the API, the results page and the editor show of an element (no pixel mask)."""
    data = {
        "type": element.type,
        "typeName": element.type_name,
        "label": TYPE_LABELS[element.type],
        "box": [int(v) for v in element.box],
        "text": element.text,
        "confidence": round(float(element.confidence), 3),
        "onSubject": bool(element.on_subject),
    }
    if removed is not None:
        data["removed"] = removed
    return data


# --- subject -------------------------------------------------------------------------------------------
def subject_alpha_for(rgb: np.ndarray, *, required: bool) -> np.ndarray | None:
    """The product's alpha from the cut-out model. Scope by type needs it (without it printed
    product text would count as background and be erased); a hand mask only uses it to keep
    product and backdrop colours apart while filling, so there it may be missing."""
    try:
        from ..engines.cutout import ModelMissingError, predict_alpha
    except ImportError as error:
        if required:
            raise ItemError("model_missing", f"The cut-out engine is unavailable: {error}") from None
        return None
    try:
        # Only where the product is matters here, not its edge: skipping the cut-out's crop pass
        # keeps erase under 2 s a photo (bench/erase.py --predicted-alpha: 2.17 -> 1.68 s median,
        # same recall and on-product text kept, masked PSNR 23.35 -> 23.28 dB).
        return predict_alpha(rgb, model_type="general", refine=False)
    except ModelMissingError as error:
        if required:
            raise ItemError("model_missing", str(error)) from None
        logger.warning("erase: no subject mask (%s); filling without it", error)
        return None


def _rgb_and_alpha(image: Image.Image) -> tuple[np.ndarray, Image.Image | None]:
    """RGB pixels, and the photo's own transparency to put back on the result."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    alpha = image.convert("RGBA").getchannel("A") if has_alpha else None
    return np.asarray(image.convert("RGB")), alpha


# --- the erase outcome, shared by the worker and the synchronous API ------------------------------
def erase_outcome(
    image: Image.Image,
    params: dict,
    *,
    hand_mask: np.ndarray | None = None,
    subject_alpha: np.ndarray | None = None,
) -> ItemOutcome:

    rgb, own_alpha = _rgb_and_alpha(image)
    height, width = rgb.shape[:2]
    object_types = set(params.get("object_types") or ())
    non_object_types = set(params.get("non_object_types") or ())
    if subject_alpha is None:
        subject_alpha = subject_alpha_for(rgb, required=hand_mask is None)
    try:
        result = remove_elements(
            rgb,
            subject_alpha=subject_alpha,
            object_types=object_types,
            non_object_types=non_object_types,
            extra_mask=hand_mask,
        )
    except InvalidMask as error:
        raise ItemError("invalid_mask", f"The mask does not fit the image: {error}") from None
    output = result.image
    if own_alpha is not None:
        output = output.convert("RGBA")
        output.putalpha(own_alpha)
    erased = int(np.count_nonzero(result.mask))
    elements = [
        element_dict(
            element,
            removed=element.type in (object_types if element.on_subject else non_object_types),
        )
        for element in result.elements
    ]
    return ItemOutcome(
        width=width,
        height=height,
        metadata={
            "mode": "mask" if hand_mask is not None else "types",
            "object_types": sorted(object_types),
            "non_object_types": sorted(non_object_types),
            "elements": elements,
            "erased_pixels": erased,
            "erased_percent": round(100 * erased / (width * height), 2),
            # Nothing found to erase is worth a look: a missed watermark is the usual reason.
            "needs_review": erased == 0,
        },
        file_bytes=encode_image(output, "PNG"),
        extension="png",
        content_type="image/png",
    )


# --- hand masks through the job ------------------------------------------------------------------
def store_hand_mask(team_id: int, rle: str) -> dict:
    """Item params for a painted mask: inline when small, otherwise a file in storage."""
    if len(rle) <= INLINE_MASK_CHARS:
        return {"mask": rle}
    name = default_storage.save(
        f"teams/{team_id}/erase-masks/{secrets.token_hex(8)}.rle", ContentFile(rle.encode("ascii"))
    )
    return {"mask_file": name}


def load_hand_mask(item: JobItem, width: int, height: int) -> np.ndarray | None:

    params = item.params
    if "mask" in params:
        text = params["mask"]
    elif params.get("mask_file"):
        name = params["mask_file"]
        # Only this team's folder: item params are ours, but a mask path is still a path.
        if not name.startswith(f"teams/{item.job.team_id}/erase-masks/"):
            raise ItemError("invalid_mask", "The mask file is not this team's.")
        try:
            with default_storage.open(name, "rb") as handle:
                text = handle.read().decode("ascii")
        except FileNotFoundError:
            raise ItemError("mask_missing", "The painted mask is missing from storage.") from None
    else:
        return None
    try:
        return decode_rle_mask(text, width, height)
    except InvalidMask as error:
        raise ItemError("invalid_mask", f"The painted mask is invalid: {error}") from None


def stored_subject(item: JobItem, width: int, height: int) -> np.ndarray | None:
    """The subject mask saved by the editor's detection job, if it fits this photo."""

    result_id = item.params.get("detection_result")
    if not result_id:
        return None
    result = Result.objects.filter(pk=result_id, team_id=item.job.team_id).exclude(file="").first()
    if result is None:
        return None
    try:
        payload = read_detection(result)
        if payload.get("subject") is None or (payload["width"], payload["height"]) != (width, height):
            return None
        return decode_rle_mask(payload["subject"], width, height)
    except (FileNotFoundError, KeyError, ValueError, InvalidMask):
        logger.warning("erase: detection result %s unusable, recomputing the subject", result_id)
        return None


def read_detection(result) -> dict:
    with result.file.storage.open(result.file.name, "rb") as handle:
        return json.loads(handle.read())


@handles(ERASE)
def erase_item(item: JobItem) -> ItemOutcome:
    decoded = load_item_image(item)
    params = {**item.job.params, **{k: v for k, v in item.params.items() if k not in ("url", "mask")}}
    hand_mask = load_hand_mask(item, decoded.width, decoded.height)
    subject = stored_subject(item, decoded.width, decoded.height) if hand_mask is not None else None
    outcome = erase_outcome(decoded.image, params, hand_mask=hand_mask, subject_alpha=subject)
    if item.image_id:
        outcome.metadata["source_image"] = item.image_id
    return outcome


@handles(ERASE_DETECT)
def detect_item(item: JobItem) -> ItemOutcome:

    decoded = load_item_image(item)
    rgb, _alpha = _rgb_and_alpha(decoded.image)
    subject = subject_alpha_for(rgb, required=False)
    elements = detect_elements(rgb, subject)
    listed = [element_dict(element) for element in elements]
    payload = {
        "width": decoded.width,
        "height": decoded.height,
        "subject": encode_rle_mask(subject > 127) if subject is not None else None,
        "elements": [
            # One image-size mask at a time, only while it is encoded.
            {**data, "index": index, "mask": encode_rle_mask(element.full_mask(rgb.shape))}
            for index, (data, element) in enumerate(zip(listed, elements, strict=True))
        ],
    }
    return ItemOutcome(
        width=decoded.width,
        height=decoded.height,
        metadata={"elements": listed, "subject_found": subject is not None},
        file_bytes=json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode(),
        extension="json",
        content_type="application/json",
    )
