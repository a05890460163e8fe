"""What each job kind does with one item: a thin layer between JobItem rows and the engines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.storage import default_storage
from PIL import Image

from .engines.imagefacts import compute_facts, make_thumbnail
from .engines.imageio import DecodedImage, ImageDecodeError, decode_image, encode_image
from .fetch import FetchError, fetch_image

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


@handles("image_facts")
def compute_image_facts(item: JobItem) -> ItemOutcome:
    decoded = load_item_image(item)
    facts = compute_facts(decoded.image).as_dict()
    item.image.store_thumbnail(make_thumbnail(decoded.image), facts)
    from catalog.search_index import index_after_facts  # late: catalog imports processing at load time

    index_after_facts(item.image, decoded.image)
    return ItemOutcome(width=decoded.width, height=decoded.height, metadata=facts)


@discards_lost_files("image_facts")
def discard_unrecorded_thumbnails(item: JobItem) -> None:
    """Thumbnails the dead attempt stored but never recorded on the image (the row keeps its own)."""
    from catalog.models import ProductImage

    image = ProductImage.objects.filter(pk=item.image_id).only("team_id", "sha256", "thumbnail").first()
    if image is None:
        return
    directory = image.thumbnail.field.upload_to(image, "x").rsplit("/", 1)[0]
    try:
        _dirs, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return
    for name in files:
        if name.startswith(f"{image.sha256}-") and f"{directory}/{name}" != image.thumbnail.name:
            default_storage.delete(f"{directory}/{name}")


def cutout_outcome(image: Image.Image, params: dict) -> ItemOutcome:
    """Run the cut-out engine with a job's parameters; shared by the worker and the sync API."""
    from .engines.cutout import ModelMissingError, remove_background

    try:
        result = remove_background(
            image,
            model_type=params.get("model_type", "general"),
            background=params.get("background", "white"),
            target_width=params.get("target_width"),
            target_height=params.get("target_height"),
            margin=params.get("margin", 0.05),
            keep_shadow=bool(params.get("keep_shadow", False)),
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
    return cutout_outcome(decoded.image, params)


from . import kinds_erase  # noqa: E402,F401,I001
from . import kinds_scenes  # noqa: E402,F401
