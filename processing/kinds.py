"""What each job kind does with one item: a thin layer between JobItem rows and the engines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings

from .engines.imagefacts import compute_facts, make_thumbnail
from .engines.imageio import ImageDecodeError, decode_image

if TYPE_CHECKING:
    from .models import JobItem


class ItemError(Exception):
    """An expected, explainable failure of one item; the message is shown to the merchant."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ItemOutcome:
    width: int | None = None
    height: int | None = None
    score: float | None = None
    metadata: dict = field(default_factory=dict)
    file_bytes: bytes | None = None
    extension: str = "png"
    content_type: str = ""


Handler = Callable[["JobItem"], ItemOutcome | None]
_HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _HANDLERS[kind] = handler
        return handler

    return register


def get_handler(kind: str) -> Handler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise ItemError("unknown_kind", f"No handler for job kind {kind!r}.") from None


def load_item_image(item: JobItem):
    if item.image is None:
        raise ItemError("image_deleted", "The image was deleted before it could be processed.")
    try:
        data = item.image.read_bytes()
    except FileNotFoundError:
        raise ItemError("file_missing", "The image file is missing from storage.") from None
    try:
        return decode_image(
            data,
            min_side=settings.MIN_IMAGE_SIDE,
            max_side=settings.MAX_IMAGE_SIDE,
            max_pixels=settings.MAX_IMAGE_PIXELS,
        )
    except ImageDecodeError as error:
        raise ItemError(error.code, error.message) from None


@handles("image_facts")
def compute_image_facts(item: JobItem) -> ItemOutcome:
    decoded = load_item_image(item)
    facts = compute_facts(decoded.image).as_dict()
    item.image.store_thumbnail(make_thumbnail(decoded.image), facts)
    return ItemOutcome(width=decoded.width, height=decoded.height, metadata=facts)
