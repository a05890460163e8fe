"""The demo shop that `make run` creates: a login, and sample products with photos drawn by our own code."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from catalog.demo_photos import demo_products
from catalog.models import Product, ProductImage, Team
from processing.models import Job, Status


@pytest.fixture
def var_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path / "var"
    return settings.VAR_DIR


def test_it_creates_the_demo_shop_with_sample_products_and_photos(db, var_dir, media_root):
    call_command("ensure_demo_team", verbosity=0)
    team = Team.objects.get(name="Demo shop")
    assert team.memberships.get().user.username == "demo"
    username, password = (var_dir / "demo-login.txt").read_text().split()
    assert username == "demo" and len(password) >= 12
    products = list(Product.objects.for_team(team).order_by("sku"))
    assert len(products) == 5 and all(product.sku.startswith("DEMO-") for product in products)
    assert all(product.int_attr and product.str_attr for product in products)
    images = list(ProductImage.objects.for_team(team))
    assert len(images) == sum(len(sample.photos) for sample in demo_products())
    assert all(image.product_id for image in images)
    assert len({image.sha256 for image in images}) == len(images)
    for image in images:
        decoded = Image.open(io.BytesIO(image.read_bytes()))
        assert decoded.format == "JPEG" and decoded.size == (1200, 1200)
        pixels = np.asarray(decoded.convert("L"), np.float32)
        assert pixels.std() > 15  # a product on a background, not a flat fill

    # The photos get thumbnails and facts from the worker, as any upload does.
    job = Job.objects.get(team=team, kind="image_facts")
    assert job.items.count() == len(images)
    assert job.claim()
    job.run()
    job.refresh_from_db()
    assert job.status == Status.SUCCESS
    assert all(image.thumbnail for image in ProductImage.objects.for_team(team))


def test_it_adds_the_samples_once_and_respects_their_deletion(db, var_dir, media_root):
    call_command("ensure_demo_team", verbosity=0)
    team = Team.objects.get(name="Demo shop")
    call_command("ensure_demo_team", verbosity=0)
    assert Product.objects.for_team(team).count() == 5
    Product.objects.for_team(team).delete()
    call_command("ensure_demo_team", verbosity=0)
    assert not Product.objects.for_team(team).exists()


def test_it_leaves_an_existing_site_alone(db, var_dir, owner, team):
    call_command("ensure_demo_team", verbosity=0)
    assert not Team.objects.filter(name="Demo shop").exists()
    assert not Product.objects.exists()


def test_it_can_make_the_team_without_samples(db, var_dir):
    call_command("ensure_demo_team", "--no-samples", verbosity=0)
    assert Team.objects.filter(name="Demo shop").exists() and not Product.objects.exists()


def test_it_draws_the_same_photos_every_time():
    first, second = demo_products()[0].photos[0].jpeg(), demo_products()[0].photos[0].jpeg()
    assert first == second
