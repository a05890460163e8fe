"""The `cutout` job kind: remove a photo's background, shared by the worker and the synchronous API."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings
from PIL import Image

from ..engines.cutout import ModelMissingError, remove_background
from ..engines.imageio import encode_image
from . import ItemError, ItemOutcome, handles, load_item_image
from .refine import load_matte

if TYPE_CHECKING:
    from ..models import JobItem


def cutout_outcome(image: Image.Image, params: dict, *, matte: np.ndarray | None = None) -> ItemOutcome:
    """Run the cut-out engine with a job's parameters; shared by the worker and the sync API.

    `matte` (a refined one, see kinds/refine.py) replaces the model's."""
    try:
        result = remove_background(
            image,
            model_type=params.get("model_type", "general"),
            background=params.get("background", "white"),
            target_width=params.get("target_width"),
            target_height=params.get("target_height"),
            margin=params.get("margin", 0.05),
            keep_shadow=bool(params.get("keep_shadow", False)),
            matte=matte,
        )
    except ModelMissingError as error:
        raise ItemError("model_missing", str(error)) from None
    score = round(float(result.score), 4)
    return ItemOutcome(
        width=result.width,
        height=result.height,
        score=score,
        metadata={
            "subject_box": list(result.subject_box) if result.subject_box else None,
            "background": params.get("background", "white"),
            "model_type": params.get("model_type", "general"),
            "needs_review": score < settings.CUTOUT_REVIEW_SCORE,
            # A fitted result is cropped and rescaled, so it cannot be laid over the original.
            "fitted": bool(params.get("target_width") or params.get("target_height")),
        },
        file_bytes=encode_image(result.image, "PNG"),
        extension="png",
        content_type="image/png",
    )


@handles("cutout")
def remove_item_background(item: JobItem) -> ItemOutcome:
    limits = item.job.params.get("input_limits") or {}
    decoded = load_item_image(item, min_side=limits.get("min_side"), max_side=limits.get("max_side"))
    params = {**item.job.params, **{key: value for key, value in item.params.items() if key != "url"}}
    if not params.get("matte_result"):
        return cutout_outcome(decoded.image, params)
    # A new version of a cut-out refined by hand: its matte instead of the model's.
    matte = load_matte(item.job.team_id, params["matte_result"], item.image_id, decoded.width, decoded.height)
    outcome = cutout_outcome(decoded.image, params, matte=matte)
    outcome.metadata.update(
        matte_result=params["matte_result"], refined_from=params.get("refined_from"), needs_review=False
    )
    return outcome
