"""The `image_facts` job kind: run on every upload to record the photo's size and colours, store its
thumbnail and put it into the team's search index."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.files.storage import default_storage

from catalog.models import ProductImage
from catalog.search_index import index_after_facts

from ..engines.imagefacts import compute_facts, make_thumbnail
from . import ItemOutcome, discards_lost_files, handles, load_item_image

if TYPE_CHECKING:
    from ..models import JobItem


@handles("image_facts")
def compute_image_facts(item: JobItem) -> ItemOutcome:
    decoded = load_item_image(item)
    facts = compute_facts(decoded.image).as_dict()
    item.image.store_thumbnail(make_thumbnail(decoded.image), facts)

    index_after_facts(item.image, decoded.image)
    return ItemOutcome(width=decoded.width, height=decoded.height, metadata=facts)


@discards_lost_files("image_facts")
def discard_unrecorded_thumbnails(item: JobItem) -> None:
    """Thumbnails the dead attempt stored but never recorded on the image (the row keeps its own)."""
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
