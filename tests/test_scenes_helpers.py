"""Shared helpers for the scene tests: presets in the database and product photos that are cut-outs."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from PIL import Image, ImageDraw

from catalog.models import ApiToken, ProductImage


def make_cutout_png(width: int = 400, height: int = 600, colour=(200, 30, 40), wide: bool = False) -> bytes:
    """A product that is already cut out: an opaque rounded shape on full transparency."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    box = (
        (width * 0.1, height * 0.35, width * 0.9, height * 0.9)
        if wide
        else (width * 0.25, height * 0.1, width * 0.75, height * 0.95)
    )
    draw.rounded_rectangle(box, radius=int(min(width, height) * 0.06), fill=(*colour, 255))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def make_scene_photo(width: int = 1200, height: int = 800) -> bytes:
    """A team's own background: a wall above a table line at two thirds of the height."""
    image = Image.new("RGB", (width, height), (214, 222, 228))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, int(height * 0.66), width, height), fill=(150, 110, 80))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def add_photo(team, product, data: bytes | None = None, name: str = "product.png") -> ProductImage:
    image, _created = ProductImage.objects.ingest(
        team=team, data=data or make_cutout_png(), original_filename=name, uploaded_by=None, product=product
    )
    return image


def token_for(team, user) -> str:
    return ApiToken.objects.create_token(team, "scenes", user)[1]


@pytest.fixture
def presets(db):
    """The preset rows (covers render lazily on first view, which keeps the tests quick)."""
    call_command("load_scene_presets", "--no-covers", "--no-text-cache", verbosity=0)
