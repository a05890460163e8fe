"""Job kinds: what each kind of job does with one item, a thin layer between JobItem rows and the engines.

This package's top is the registry only. Each capability's kind is one module beside it, registering its
handler with `@handles(kind)`; `ProcessingConfig.ready()` imports them at app start, so the registry
never imports its kinds and `models.py` can import the registry without a circle:

- `facts.py`: `image_facts`, run on every upload (size, colours, thumbnail, the search index entry;
  search by picture has no job kind of its own);
- `cutout.py`: `cutout` (also a new version from a hand-refined matte);
- `refine.py`: the refine editor's `cutout_matte` and `cutout_refine`;
- `erase.py`: `erase` and the editor's `erase_detect`;
- `scenes.py`: `scene_render`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings

from ..engines.imageio import DecodedImage, ImageDecodeError, decode_image
from ..fetch import FetchError, fetch_image

if TYPE_CHECKING:
    from ..models import JobItem


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


Discarder = Callable[["JobItem"], None]
_DISCARDERS: dict[str, Discarder] = {}


def discards_lost_files(kind: str) -> Callable[[Discarder], Discarder]:
    """Register what deletes the files a kind writes outside its Result when an attempt dies mid-item."""

    def register(discarder: Discarder) -> Discarder:
        _DISCARDERS[kind] = discarder
        return discarder

    return register


def get_discarder(kind: str) -> Discarder | None:
    return _DISCARDERS.get(kind)


def get_handler(kind: str) -> Handler:
    try:
        return _HANDLERS[kind]
    except KeyError:
        raise ItemError("unknown_kind", f"No handler for job kind {kind!r}.") from None


def load_item_image(
    item: JobItem, *, min_side: int | None = None, max_side: int | None = None
) -> DecodedImage:
    """The item's input: a catalog image, or an image URL fetched behind the SSRF guard."""
    min_side = min_side or settings.MIN_IMAGE_SIDE
    max_side = max_side or settings.MAX_IMAGE_SIDE
    if item.params.get("url"):
        try:
            data = fetch_image(
                item.params["url"],
                max_bytes=settings.API_MAX_IMAGE_BYTES,
                timeout=settings.IMAGE_FETCH_TIMEOUT_SECONDS,
                max_redirects=settings.IMAGE_FETCH_MAX_REDIRECTS,
                allowed_hosts=settings.IMAGE_FETCH_ALLOWED_HOSTS,
            ).data
        except FetchError as error:
            raise ItemError(f"url_{error.code}", error.message) from None
    elif item.image is None:
        raise ItemError("image_deleted", "The image was deleted before it could be processed.")
    else:
        try:
            data = item.image.read_bytes()
        except FileNotFoundError:
            raise ItemError("file_missing", "The image file is missing from storage.") from None
    try:
        return decode_image(
            data, min_side=min_side, max_side=max_side, max_pixels=min(settings.MAX_IMAGE_PIXELS, max_side**2)
        )
    except ImageDecodeError as error:
        raise ItemError(error.code, error.message) from None
