"""The studio's search page (the API's answers are unchanged: tests/test_search_api.py): it searches the
detected product when it does not fill the picture and says so, with one click to search the whole picture;
when detection keeps most of the picture it searches the clearest smaller object instead; it shows and counts
only matches at or above a minimum score the merchant can change, saying how many it hides; its filters use
the product form's words for the API's attributes."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image, ImageDraw

from catalog import search_index
from catalog.models import ATTRIBUTE_LABELS, ProductImage
from processing.engines.search import SIMILAR_PRODUCT_THRESHOLD, Box
from tests.conftest import client_for, make_product
from tests.test_engine_search import make_product_image
from tests.test_search_api import add_indexed_image, fresh_search_engines, jpeg  # noqa: F401
from tests.test_search_web import QUERY, SEARCH, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(team):
    for seed, (price, colour, brand) in enumerate([(1, "red", "Acme"), (3, "blue", "Borealis")] * 2, start=1):
        product = make_product(
            team, f"Product {seed}", sku=f"SKU-{seed}", int_attr=price, str_attr=colour, str_attr2=brand
        )
        add_indexed_image(team, product, seed)


def hits(response) -> list[tuple[str, float]]:
    """(SKU, score) of each match shown, in order."""
    html = response.content.decode()
    found = []
    for chunk in html.split('class="tile search-hit')[1:]:
        sku = re.search(r"SKU ([A-Z]+-\d+)", chunk).group(1)
        score = float(re.search(r"score (\d\.\d\d)", chunk).group(1))
        found.append((sku, score))
    return found


def searched_region(response) -> Box:
    x0, x1, y0, y1 = (
        int(v)
        for v in re.search(r'class="query-preview"[^>]*data-region="([\d,]+)"', response.content.decode())
        .group(1)
        .split(",")
    )
    return Box(x0, y0, x1, y1)


def product_on_plain_wall() -> tuple[Image.Image, Box]:
    """Product 3, small, on a wide plain wall: the detected box is a tenth of the picture."""
    picture = Image.new("RGB", (900, 700), (235, 233, 228))
    picture.paste(make_product_image(3).resize((220, 220)), (620, 380))
    return picture, Box(620, 380, 840, 600)


def product_on_a_dresser() -> Image.Image:
    """Product 4 in front of a big chest of drawers: detection's main region is most of the picture."""
    picture = Image.new("RGB", (900, 700), (235, 233, 228))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((40, 60, 860, 660), fill=(120, 80, 50))
    for k in range(6):
        draw.rectangle((60 + k * 135, 90, 170 + k * 135, 630), fill=(150 + 10 * k, 100, 60))
    picture.paste(make_product_image(4).resize((160, 160)), (380, 250))
    return picture


def post(client, picture: Image.Image, **fields):
    return client.post(QUERY, {"picture": upload(picture), "crop": "1", **fields}, HTTP_HX_REQUEST="true")


def test_it_searches_the_detected_product_by_default_and_the_whole_picture_in_one_click(owner, catalog):
    client = client_for(owner)
    picture, product_box = product_on_plain_wall()
    response = post(client, picture)
    html = response.content.decode()
    assert "Searched the product detected in the pink box." in html
    assert searched_region(response).iou(product_box) > 0.6
    assert "data-whole-picture" in html and "Search the whole picture instead" in html
    assert hits(response)[0][0] == "SKU-3" and hits(response)[0][1] >= 0.5

    # The link: the page's script sends crop=0 and no region, as this request does.
    whole = post(client, picture, crop="0", region="", min_score="0")
    html = whole.content.decode()
    assert "Searched the whole picture." in html and "data-detected" in html  # and one click back
    assert searched_region(whole) == Box(0, 0, 900, 700)
    whole_score = dict(hits(whole))["SKU-3"]
    assert whole_score < hits(response)[0][1]  # why the box is the default


def test_it_searches_the_clearest_object_when_detection_keeps_most_of_the_picture(owner, team, catalog):
    picture = product_on_a_dresser()
    width, height = picture.size
    sent = Image.open(io.BytesIO(jpeg(picture))).convert("RGB")  # what the page receives
    # What the engine does by itself (the API's answer): its main region is most of the picture.
    default = search_index.search_team(team, sent, num=100).result
    assert default.region.area >= 0.75 * width * height
    smaller = [box for box in default.multi_region[1:] if box.area < 0.75 * width * height][:2]
    tries = {
        box.to_region(): search_index.search_team(team, sent, num=100, region=box.to_region()).result
        for box in smaller
    }
    best_region, best = max(tries.items(), key=lambda kv: kv[1].hits[0].score)
    assert best.hits[0].score > default.hits[0].score  # this picture is such a case

    response = post(client_for(owner), picture)
    html = response.content.decode()
    assert "the clearest object in it was searched (pink box)" in html
    assert searched_region(response).to_region() == best_region
    assert "Search the whole picture instead" in html
    shown = hits(response)
    assert shown[0][0] == ProductImage.objects.get(pk=best.hits[0].image_id).product.sku
    assert shown[0][1] == pytest.approx(best.hits[0].score, abs=0.005)


def unlike_any_product(seed: int) -> Image.Image:
    """A photo nothing like the made-up products: a soft two-colour gradient with a few thin rings."""
    picture = Image.linear_gradient("L").resize((320, 320)).convert("RGB")
    picture = Image.merge("RGB", [picture.getchannel(0).point(lambda v, s=seed: (v * (s + 1)) % 256)] * 3)
    draw = ImageDraw.Draw(picture)
    for radius in range(30, 160, 40 + 10 * seed):
        draw.ellipse((160 - radius, 160 - radius, 160 + radius, 160 + radius), outline=(20, 140, 90), width=2)
    return picture


def test_it_shows_only_matches_above_the_minimum_score_and_says_how_many_it_hides(owner, team, catalog):
    for seed in (1, 2):
        image, _created = ProductImage.objects.ingest(
            team=team,
            data=jpeg(unlike_any_product(seed)),
            original_filename=f"other{seed}.jpg",
            uploaded_by=None,
            product=make_product(team, f"Other {seed}", sku=f"OTHER-{seed}"),
        )
        search_index.index_image(image)
    client = client_for(owner)
    picture, _box = product_on_plain_wall()
    everything = hits(post(client, picture, min_score="0"))
    assert len(everything) == 6  # the whole catalog, weakest included
    strong = [(sku, score) for sku, score in everything if score >= SIMILAR_PRODUCT_THRESHOLD]
    weak = len(everything) - len(strong)
    assert strong and weak  # this query has both

    response = post(client, picture)  # the default minimum
    html = response.content.decode()
    assert hits(response) == strong
    assert f"{len(strong)} match" in html and f"scoring {SIMILAR_PRODUCT_THRESHOLD:.2f} or more" in html
    assert f"{weak} weaker one{'s' if weak > 1 else ''} hidden" in html and 'data-min-score="0"' in html

    top = strong[0][1]
    above_all = post(client, picture, min_score=f"{min(1.0, top + 0.01):.2f}")
    html = above_all.content.decode()
    assert hits(above_all) == [] and "No catalog photo scores" in html and "Show the 6 weaker ones" in html
    page = client.get(SEARCH).content.decode()
    assert f'name="min_score" value="{SIMILAR_PRODUCT_THRESHOLD:.2f}"' in page  # the default, changeable
    bad = post(client, picture, min_score="2")
    assert bad.status_code == 400 and 'id="search-error"' in bad.content.decode()


def test_it_names_the_filters_as_the_product_form_does_and_filters_by_brand(owner, team, catalog):
    client = client_for(owner)
    page = client.get(SEARCH).content.decode()
    for label in (
        f"{ATTRIBUTE_LABELS['int_attr']} from",
        ATTRIBUTE_LABELS["str_attr"],
        ATTRIBUTE_LABELS["str_attr2"],
    ):
        assert f"{label}:</label>" in page
    assert "int_attr from" not in page and "str_attr is" not in page
    assert '<option value="Acme">' in page and '<option value="blue">' in page  # the team's own values
    form = client.get("/catalog/products/new/").content.decode()
    assert all(
        f"{ATTRIBUTE_LABELS[name]}:</label>" in form
        for name in ("int_attr", "int_attr2", "str_attr", "str_attr2")
    )
    product = team.products.get(sku="SKU-2")
    detail = client.get(product.get_absolute_url()).content.decode()
    assert (
        f"<dt>{ATTRIBUTE_LABELS['int_attr']}</dt><dd>3</dd>" in detail
        and "<dt>Colour</dt><dd>blue</dd>" in detail
    )

    picture, _box = product_on_plain_wall()
    response = post(client, picture, str_attr2="Borealis", min_score="0")
    assert sorted(sku for sku, _score in hits(response)) == ["SKU-2", "SKU-4"]
    assert "str_attr2 = &quot;Borealis&quot;" in response.content.decode()  # shown as an API filter
    response = post(client, picture, int_min="2", str_attr="blue", str_attr2="Acme", min_score="0")
    assert hits(response) == []
