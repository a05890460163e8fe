"""The Aliyun-style image search API: SearchImageByPic, AddImage, DeleteImage, every error code, filters
(including hostile ones), paging limits and team isolation.

Runs the real image model (var/models/efficientnet_lite0.onnx from `make models`); all pictures are
generated here, and each test indexes only a handful so the suite stays quick.
"""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.test import Client
from PIL import Image

from catalog import search_index
from catalog.models import (
    ApiToken,
    ImageSearchEntry,
    Product,
    ProductImage,
    SearchDeletion,
    SearchInstance,
)
from processing.engines.categories import ALIYUN_CATEGORIES
from tests.conftest import make_product, make_team, make_user
from tests.test_engine_search import make_product_image, make_two_object_image

URL = "/api/imagesearch"


# ---- helpers shared by the search tests -----------------------------------------------------------------------
@pytest.fixture(autouse=True)
def fresh_search_engines(settings, tmp_path):
    """Engines are cached per process by team id, and ids repeat between tests: start each test empty."""
    settings.SEARCH_INDEX_DIR = tmp_path / "search-index"
    search_index.forget_engines()
    yield
    search_index.forget_engines()


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def reshoot(image: Image.Image) -> Image.Image:
    """The same product photographed again: a tighter crop, another size, a grey backdrop around it."""
    w, h = image.size
    crop = image.crop((int(w * 0.08), int(h * 0.06), int(w * 0.95), int(h * 0.97))).resize((360, 360))
    canvas = Image.new("RGB", (460, 420), (214, 214, 210))
    canvas.paste(crop, (60, 30))
    return canvas


def add_indexed_image(team, product, seed: int, name: str | None = None) -> ProductImage:
    picture = make_product_image(seed)
    image, _created = ProductImage.objects.ingest(
        team=team,
        data=jpeg(picture),
        original_filename=name or f"p{seed}.jpg",
        uploaded_by=None,
        product=product,
    )
    search_index.index_image(image)  # from the stored JPEG, as the upload job does
    return image


def token_for(team) -> str:
    _token, raw = ApiToken.objects.create_token(team, "search", None)
    return raw


def call(raw_token: str | None, *, query: str = "", json_body: bool = True, **params) -> tuple[int, dict]:
    headers = {"HTTP_AUTHORIZATION": f"APPCODE {raw_token}"} if raw_token else {}
    client = Client()
    if json_body:
        response = client.post(
            URL + query, data=json.dumps(params), content_type="application/json", **headers
        )
    else:
        response = client.post(URL + query, data=params, **headers)
    return response.status_code, response.json()


@pytest.fixture
def shop(team):
    """The team with an instance, a token and three indexed products with attributes."""
    SearchInstance.objects.create(team=team, name="shop1")
    team.api_rate_limit = 1000  # these tests call in quick succession; throttling has its own test
    team.save(update_fields=["api_rate_limit"])
    products = []
    for seed, (ia, sa) in enumerate([(10, "red"), (20, "blue"), (30, "red")], start=1):
        product = make_product(team, f"Product {seed}", sku=f"SKU-{seed}", int_attr=ia, str_attr=sa)
        add_indexed_image(team, product, seed)
        products.append(product)
    return {"team": team, "token": token_for(team), "products": products}


def search(shop, picture: Image.Image | None = None, **params) -> tuple[int, dict]:
    picture = picture if picture is not None else reshoot(make_product_image(1))
    return call(
        shop["token"],
        Action="SearchImageByPic",
        InstanceName="shop1",
        PicContent=b64(jpeg(picture)),
        **params,
    )


# ---- SearchImageByPic -----------------------------------------------------------------------------------------
def test_it_answers_in_the_seeds_shape_and_ranks_the_photographed_product_first(shop):
    status, body = search(shop)
    assert status == 200, body
    assert set(body) == {"Auctions", "Head", "PicInfo", "RequestId", "Msg", "Success", "Code"}
    assert body["Success"] is True and body["Code"] == 0 and body["Msg"] == "success"
    first = body["Auctions"][0]
    assert set(first) == {
        "ProductId", "PicName", "CategoryId", "Score", "CustomContent", "IntAttr", "IntAttr2", "StrAttr",
        "StrAttr2", "SortExprValues",
    }  # fmt: skip
    assert first["ProductId"] == "SKU-1" and first["PicName"] == "p1.jpg"
    assert first["IntAttr"] == 10 and first["StrAttr"] == "red"
    assert 0.0 <= first["Score"] <= 1.0
    assert first["Score"] > body["Auctions"][1]["Score"]
    head = body["Head"]
    assert head["DocsFound"] == 3 and head["DocsReturn"] == 3 and isinstance(head["SearchTime"], int)
    info = body["PicInfo"]
    assert [c["Id"] for c in info["AllCategories"]] == list(ALIYUN_CATEGORIES)
    assert info["CategoryId"] in ALIYUN_CATEGORIES
    x1, x2, y1, y2 = (int(v) for v in info["Region"].split(","))
    assert 0 <= x1 < x2 <= 460 and 0 <= y1 < y2 <= 420
    assert info["MultiRegion"][0]["Region"] == info["Region"]


def test_it_accepts_form_fields_and_the_action_in_the_query_string(shop):
    status, body = call(
        shop["token"],
        query="?Action=SearchImageByPic",
        json_body=False,
        InstanceName="shop1",
        PicContent=b64(jpeg(make_product_image(2))),
        Num="1",
    )
    assert status == 200, body
    assert [a["ProductId"] for a in body["Auctions"]] == ["SKU-2"]


def test_it_filters_by_attributes_through_the_parser(shop):
    status, body = search(shop, Filter='str_attr = "red" AND int_attr >= 20')
    assert status == 200, body
    assert [a["ProductId"] for a in body["Auctions"]] == ["SKU-3"]
    status, body = search(shop, Filter='int_attr < 25 OR str_attr != "red"')
    assert {a["ProductId"] for a in body["Auctions"]} == {"SKU-1", "SKU-2"}


@pytest.mark.parametrize(
    "hostile",
    [
        "int_attr = 1; DROP TABLE catalog_product",
        "int_attr = 1 OR 1=1",
        "str_attr = 'x' OR 'a'='a'",
        'str_attr = "x" -- comment',
        "team_id = 2",
        "product__team_id > 0",
        "int_attr >= 0 UNION SELECT * FROM auth_user",
        '(str_attr = "red")',
        "int_attr = 99999999999",
        "x" * 257,
        "int_attr = ",
        'str_attr > "a"',
    ],
)
def test_it_refuses_hostile_or_malformed_filters(shop, hostile):
    status, body = search(shop, Filter=hostile)
    assert status == 400
    assert body["Code"] == "InvalidFilterClause" and body["Success"] is False
    assert Product.objects.count() == 3  # nothing ran


def test_it_treats_a_quoted_injection_as_a_plain_value(shop):
    status, body = search(shop, Filter="str_attr = \"red' OR '1'='1\"")
    assert status == 200 and body["Auctions"] == []


def test_it_pages_and_enforces_the_seeds_limits(shop):
    _status, everything = search(shop, Num=3)
    status, body = search(shop, Num=1, Start=1)
    assert status == 200
    assert [a["ProductId"] for a in body["Auctions"]] == [everything["Auctions"][1]["ProductId"]]
    # The seed's table: DocsFound = results returned, DocsReturn = hits in the instance.
    assert body["Head"]["DocsFound"] == 1 and body["Head"]["DocsReturn"] == 3
    cases = {
        (101, 0): "OverflowMaxReturnNum",
        (0, 0): "InvalidNumParameter",
        ("ten", 0): "InvalidNumParameter",
        (10, 500): "OverflowMaxResultNum",
        (100, 401): "OverflowMaxResultNum",
        (10, -1): "BadRequest",
    }
    for (num, start), code in cases.items():
        status, body = search(shop, Num=num, Start=start)
        assert (status, body["Code"]) == (400, code), (num, start, body)
    status, body = search(shop, Num=100, Start=400)
    assert status == 200


def test_it_answers_every_error_code_with_the_seeds_status(shop):
    good = b64(jpeg(make_product_image(1)))
    tiny = io.BytesIO()
    Image.new("RGB", (60, 60), "red").save(tiny, "PNG")
    huge = io.BytesIO()
    Image.new("RGB", (4200, 120), "red").save(huge, "PNG")
    pdf = b"%PDF-1.4\n" + b"0" * 500
    cases = [
        (None, {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": good}, 403, "NoPermission"),
        ("vt_wrong", {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": good}, 403, "NoPermission"),
        (shop["token"], {"Action": "Nope", "InstanceName": "shop1"}, 500, "UnsupportedOperationType"),
        (shop["token"], {"Action": "SearchImageByPic", "InstanceName": "nope", "PicContent": good}, 400, "InvalidInstance"),
        (shop["token"], {"Action": "SearchImageByPic", "InstanceName": "shop1"}, 400, "BadRequest"),
        (shop["token"], {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": "@@not base64@@"}, 400, "BadRequest"),
        (shop["token"], {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": b64(pdf)}, 400, "UnsupportedPicFormat"),
        (shop["token"], {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": b64(b"\0" * (4 * 1024 * 1024 + 10))}, 400, "UnsupportedPicFormat"),
        (shop["token"], {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": b64(tiny.getvalue())}, 400, "UnsupportedPicPixels"),
        (shop["token"], {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": b64(huge.getvalue())}, 400, "UnsupportedPicPixels"),
        (shop["token"], {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": good, "CategoryId": 17}, 400, "InvalidCategory"),
        (shop["token"], {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": good, "Region": "1,2,3"}, 400, "BadRequest"),
        (shop["token"], {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": good, "Crop": "maybe"}, 400, "BadRequest"),
        (shop["token"], {"Action": "AddImage", "InstanceName": "shop1", "ProductId": "X", "PicName": "a", "PicContent": good, "IntAttr": "1.5"}, 400, "InvalidIntAttr"),
    ]  # fmt: skip
    for raw, params, status, code in cases:
        got_status, body = call(raw, **params)
        assert (got_status, body["Code"], body["Success"]) == (status, code, False), (
            params.get("Action"),
            body,
        )
        assert body["RequestId"] and body["Msg"]


def test_it_throttles_with_denied_request(shop):
    team = shop["team"]
    team.api_rate_limit = 1
    team.save(update_fields=["api_rate_limit"])
    bad = {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": "x", "Num": 0}
    answers = [call(shop["token"], **bad) for _ in range(3)]  # cheap requests: all within one second
    assert (403, "DeniedRequest") in {(status, body["Code"]) for status, body in answers}


def test_it_filters_by_category_id(shop):
    # As if AddImage had been given CategoryId 3 (Bag) for SKU-2 and 22 for the others.
    entry = ImageSearchEntry.objects.get(image__product=shop["products"][1])
    search_index.set_aliyun_category(entry.image, 3)
    for other in ImageSearchEntry.objects.exclude(pk=entry.pk):
        search_index.set_aliyun_category(other.image, 22)
    status, body = search(shop, CategoryId=3)
    assert status == 200
    assert [(a["ProductId"], a["CategoryId"]) for a in body["Auctions"]] == [("SKU-2", 3)]
    assert body["PicInfo"]["CategoryId"] == 3
    # Other (88888888) means every category, as in the seed.
    status, body = search(shop, CategoryId=88888888)
    assert len(body["Auctions"]) == 3


# ---- isolation and deletion ---------------------------------------------------------------------------------
def test_it_never_returns_another_teams_products(shop):
    rival_owner = make_user("rita")
    rival = make_team("Rival", rival_owner)
    SearchInstance.objects.create(team=rival, name="rival1")
    # The rival lists the very picture the query shows.
    add_indexed_image(rival, make_product(rival, "Copy", sku="RIVAL-1"), 1, name="copy.jpg")
    status, body = search(shop, Num=20)
    assert status == 200
    assert "RIVAL-1" not in {a["ProductId"] for a in body["Auctions"]}
    assert len(body["Auctions"]) == 3
    # Our token cannot reach the rival's instance, which reads as if it did not exist.
    status, body = call(
        shop["token"],
        Action="SearchImageByPic",
        InstanceName="rival1",
        PicContent=b64(jpeg(make_product_image(1))),
    )
    assert (status, body["Code"]) == (400, "InvalidInstance")
    rival_token = token_for(rival)
    status, body = call(
        rival_token,
        Action="SearchImageByPic",
        InstanceName="rival1",
        PicContent=b64(jpeg(make_product_image(1))),
    )
    assert [a["ProductId"] for a in body["Auctions"]] == ["RIVAL-1"]
    status, body = call(rival_token, Action="DeleteImage", InstanceName="shop1", ProductId="SKU-1")
    assert (status, body["Code"]) == (400, "InvalidInstance")
    assert Product.objects.filter(sku="SKU-1").exists()


def test_it_drops_a_product_deleted_in_the_studio_from_results(shop, owner):
    _status, before = search(shop)
    assert before["Auctions"][0]["ProductId"] == "SKU-1"
    client = Client()
    client.force_login(owner)
    response = client.post(f"/catalog/products/{shop['products'][0].pk}/delete/")
    assert response.status_code == 302
    assert SearchDeletion.objects.filter(team_id=shop["team"].pk).count() == 1
    _status, after = search(shop)
    assert "SKU-1" not in {a["ProductId"] for a in after["Auctions"]}
    assert after["Head"]["DocsReturn"] == 2


# ---- AddImage / DeleteImage -----------------------------------------------------------------------------------
def test_it_adds_searches_and_deletes_images(shop):
    token = shop["token"]
    picture = make_product_image(41)
    status, body = call(
        token,
        Action="AddImage",
        InstanceName="shop1",
        ProductId="NEW-41",
        PicName="front.jpg",
        PicContent=b64(jpeg(picture)),
        CategoryId=3,
        IntAttr=7,
        StrAttr="green",
        CustomContent="hello",
    )
    assert status == 200 and body["Success"] is True, body
    assert body["PicInfo"]["CategoryId"] == 3
    product = Product.objects.get(team=shop["team"], sku="NEW-41")
    assert (product.int_attr, product.str_attr, product.custom_content) == (7, "green", "hello")
    assert product.category == search_index.catalog_category_for(3)
    assert product.images.get().search_entry.aliyun_category == 3
    # Same ProductId + PicName replaces the picture.
    status, body = call(
        token, Action="AddImage", InstanceName="shop1", ProductId="NEW-41", PicName="front.jpg",
        PicContent=b64(jpeg(make_product_image(42))),
    )  # fmt: skip
    assert status == 200, body
    assert product.images.count() == 1
    status, body = search(shop, picture=reshoot(make_product_image(42)), Filter='str_attr = "green"')
    assert [(a["ProductId"], a["PicName"], a["CustomContent"]) for a in body["Auctions"]] == [
        ("NEW-41", "front.jpg", "hello")
    ]
    status, body = call(token, Action="DeleteImage", InstanceName="shop1", ProductId="NEW-41")
    assert status == 200 and body["Data"]["PicNames"] == ["front.jpg"]
    assert not Product.objects.filter(sku="NEW-41").exists()
    status, body = search(shop, picture=reshoot(make_product_image(42)), Filter='str_attr = "green"')
    assert body["Auctions"] == []


def test_it_keeps_the_rest_of_the_product_when_deleting_by_pic_name(shop):
    product = shop["products"][0]
    add_indexed_image(shop["team"], product, 7, name="side.jpg")
    status, body = call(
        shop["token"], Action="DeleteImage", InstanceName="shop1", ProductId="SKU-1", PicName="side.jpg"
    )
    assert status == 200 and body["Data"]["PicNames"] == ["side.jpg"]
    assert list(product.images.values_list("original_filename", flat=True)) == ["p1.jpg"]


# ---- subjects ---------------------------------------------------------------------------------------------------
def test_it_reports_both_subjects_of_a_two_object_photo(shop):
    picture, left, right = make_two_object_image()
    status, body = search(shop, picture=picture)
    assert status == 200, body
    regions = [tuple(int(v) for v in r["Region"].split(",")) for r in body["PicInfo"]["MultiRegion"]]
    assert len(regions) >= 2

    def covers(region, box) -> bool:
        x1, x2, y1, y2 = region
        cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
        return x1 <= cx <= x2 and y1 <= cy <= y2 and (x2 - x1) < 0.8 * picture.width

    assert any(covers(r, left) for r in regions) and any(covers(r, right) for r in regions)
    # Region overrides detection: searching the right object reports exactly that region.
    wanted = f"{right.x0},{right.x1},{right.y0},{right.y1}"
    status, body = search(shop, picture=picture, Region=wanted, Crop="false")
    assert status == 200 and body["PicInfo"]["Region"] == wanted
