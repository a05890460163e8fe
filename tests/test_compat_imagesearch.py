"""Aliyun Image Search compatibility, checked against seeds/aliyun-image-search-by-pic-zh.txt alone.

A client written from the seed's request and response tables (Chinese; each test quotes the line it checks)
must find every field with its type, every error code a client can trigger with its HTTP status, and the
odd-input classes (huge numbers, deep nesting, lone surrogates in any string that reaches the database or
the engine, the wrong framing, unknown paths and methods) answered in the envelope with the seed's codes.
Errors also carry `Message`, the field the Alibaba Cloud SDKs read. Runs the real image model (make models).
"""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.test import Client
from PIL import Image

from catalog.models import ApiToken, Product, ProductImage, SearchInstance
from processing.engines.embedding import ModelMissingError
from tests.compat_inputs import (
    ODD,
    ODD_JSON_VALUES,
    OTHER_METHODS,
    UNSTORABLE_TEXT,
    assert_json_answer,
    huge_png,
    json_with,
    rotated_jpeg,
    send,
    wrong_framings,
)
from tests.test_engine_search import make_product_image
from tests.test_search_api import add_indexed_image, jpeg, reshoot
from tests.test_search_api import fresh_search_engines as _fresh_search_engines  # noqa: F401 - autouse fixture
from tests.test_search_api import shop as _shop_fixture  # noqa: F401 - the `shop` fixture

URL = "/api/imagesearch"
# The seed's error table: code -> HTTP status.
SEED_ERRORS = {
    "BadRequest": 400, "InvalidInstance": 400, "NoCaretSeperator": 400, "EmptyMeta": 400,
    "InvalidMetaItem": 400, "NoPicList": 400, "InvalidPicList": 400, "InvalidCategory": 400,
    "OverflowMaxResultNum": 400, "OverflowMaxReturnNum": 400, "InvalidNumParameter": 400,
    "InvalidIntAttr": 400, "UnsupportedPicFormat": 400, "InvalidFilterClause": 400,
    "InstanceOverQuota": 400, "IncorrectOrientation": 400, "UnsupportedPicPixels": 400,
    "NoPermission": 403, "DeniedRequest": 403, "UnknownException": 500, "NetworkException": 500,
    "UnsupportedInstanceType": 500, "UnsupportedOperationType": 500, "AccessEngineFailed": 500,
    "InternalOssError": 500, "InternalSwiftError": 500, "InternalTableStoreError": 500,
}  # fmt: skip
# The sample response's AllCategories, in its order.
SEED_CATEGORIES = [
    ("Tops", 0), ("Dress", 1), ("Bottoms", 2), ("Bag", 3), ("Shoes", 4), ("Accessories", 5), ("Snack", 6),
    ("Makeup", 7), ("Bottle", 8), ("Furniture", 9), ("Toy", 20), ("Underwear", 21), ("Digital device", 22),
    ("Other", 88888888),
]  # fmt: skip


@pytest.fixture
def shop(_shop_fixture):  # noqa: F811
    """tests/test_search_api.py's team: instance "shop1", a token, SKU-1..3 indexed (IntAttr 10, 20, 30;
    StrAttr red, blue, red; IntAttr2 never set)."""
    return _shop_fixture


@pytest.fixture
def instance(team) -> dict:
    """Only the instance "shop1" and a token: for the checks that end before any catalog photo matters."""
    SearchInstance.objects.create(team=team, name="shop1")
    team.api_rate_limit = 1000
    team.save(update_fields=["api_rate_limit"])
    return {"team": team, "token": ApiToken.objects.create_token(team, "compat", None)[1]}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def post(shop_or_token, **params):
    token = shop_or_token["token"] if isinstance(shop_or_token, dict) else shop_or_token
    headers = {"Authorization": f"APPCODE {token}"} if token else {}
    return Client().post(URL, json.dumps(params), content_type="application/json", headers=headers)


def picture() -> str:
    return b64(jpeg(reshoot(make_product_image(1))))


def ok(response) -> dict:
    """Seed: "Msg String success", "RequestId String", "Code Integer 0：成功", "Success Boolean true"."""
    body = assert_json_answer(response)
    assert response.status_code == 200, body
    assert body["Msg"] == "success" and body["Code"] == 0 and body["Success"] is True
    assert isinstance(body["RequestId"], str)
    return body


def error(response, code: str) -> dict:
    """The seed's error table ("HttpCode 错误码 错误信息"), in the envelope; `Message` is `Msg` under the name
    the Alibaba Cloud SDKs read."""
    body = assert_json_answer(response)
    assert (response.status_code, body["Code"]) == (SEED_ERRORS[code], code), (response.status_code, body)
    assert body["Success"] is False and isinstance(body["Msg"], str) and body["Msg"]
    assert body["Message"] == body["Msg"]
    return body


# --- SearchImageByPic: the answer ------------------------------------------------------------------------------------
def test_it_answers_every_field_of_the_seeds_table_with_its_type(shop):
    """Seed, 返回数据: "ProductId String", "PicName String", "CategoryId Integer", "SortExprValues String
    5.37633353624177e+24;0", "CustomContent String", "Score Float 1 … 取值范围：0~1", "IntAttr Integer",
    "IntAttr2 Integer", "StrAttr String", "StrAttr2 String"; "Head Object": "DocsFound Integer",
    "DocsReturn Integer", "SearchTime Integer"; "PicInfo Object": "Region String 280,486,232,351",
    "CategoryId Integer", "MultiRegion Array of reg", "AllCategories Array of Category" ("Name String",
    "Id Integer")."""
    body = ok(post(shop, Action="SearchImageByPic", InstanceName="shop1", PicContent=picture()))
    assert body["Auctions"]
    for auction in body["Auctions"]:
        assert isinstance(auction["ProductId"], str) and isinstance(auction["PicName"], str)
        assert type(auction["CategoryId"]) is int
        similarity, inliers = auction["SortExprValues"].split(";")
        float(similarity), int(inliers)
        assert isinstance(auction["CustomContent"], str)
        assert isinstance(auction["Score"], float) and 0.0 <= auction["Score"] <= 1.0
        assert type(auction["IntAttr"]) is int and type(auction["IntAttr2"]) is int
        assert isinstance(auction["StrAttr"], str) and isinstance(auction["StrAttr2"], str)
    head = body["Head"]
    assert all(type(head[name]) is int for name in ("DocsFound", "DocsReturn", "SearchTime"))
    info = body["PicInfo"]
    x1, x2, y1, y2 = (int(value) for value in info["Region"].split(","))
    assert x1 < x2 and y1 < y2 and type(info["CategoryId"]) is int
    assert info["MultiRegion"] and all(isinstance(region["Region"], str) for region in info["MultiRegion"])
    assert [(c["Name"], c["Id"]) for c in info["AllCategories"]] == SEED_CATEGORIES


def test_it_counts_docsfound_as_returned_and_docsreturn_as_hits_in_the_instance(shop):
    """Seed: "DocsFound Integer 10 返回结果数目。" (the number of results returned) and "DocsReturn Integer
    10000 实例中命中结果数目。" (the number of hits in the instance); "Num Integer 10 返回结果的数目".
    With Num=1 over an instance where three products match: DocsFound 1, DocsReturn 3."""
    body = ok(post(shop, Action="SearchImageByPic", InstanceName="shop1", PicContent=picture(), Num=1))
    assert len(body["Auctions"]) == 1
    assert (body["Head"]["DocsFound"], body["Head"]["DocsReturn"]) == (1, 3)
    last = ok(
        post(shop, Action="SearchImageByPic", InstanceName="shop1", PicContent=picture(), Num=2, Start=2)
    )
    assert (len(last["Auctions"]), last["Head"]["DocsFound"], last["Head"]["DocsReturn"]) == (1, 1, 3)


def test_it_answers_zero_for_integer_attributes_never_set_and_filters_alike(shop):
    """Seed: "IntAttr Integer 2 整数类型属性。" and "IntAttr2 Integer 20 整数类型属性。": Integer, so a product
    that never had one answers 0 (not null), and `Filter` reads it as 0 too ("int_attr支持的操作符有大于号(>)、
    大于等于号(>=)、小于号(<)、小于等于号(<=)、等于号(=)")."""
    team = shop["team"]
    bare = Product.objects.create(team=team, title="No attributes", sku="SKU-BARE")
    add_indexed_image(team, bare, 4)
    body = ok(post(shop, Action="SearchImageByPic", InstanceName="shop1", PicContent=picture(), Num=10))
    by_id = {a["ProductId"]: a for a in body["Auctions"]}
    assert (by_id["SKU-BARE"]["IntAttr"], by_id["SKU-BARE"]["IntAttr2"]) == (0, 0)
    assert by_id["SKU-1"]["IntAttr"] == 10 and by_id["SKU-1"]["IntAttr2"] == 0

    def found(filter_text: str) -> set[str]:
        answer = post(
            shop, Action="SearchImageByPic", InstanceName="shop1", PicContent=picture(), Filter=filter_text
        )
        return {a["ProductId"] for a in ok(answer)["Auctions"]}

    assert found("int_attr = 0") == {"SKU-BARE"}
    assert found("int_attr < 15") == {"SKU-BARE", "SKU-1"}
    assert found("int_attr > 15") == {"SKU-2", "SKU-3"}
    assert found("int_attr2 = 0") == {"SKU-BARE", "SKU-1", "SKU-2", "SKU-3"}
    assert found('int_attr2 >= 1 OR str_attr = "blue"') == {"SKU-2"}


# --- pictures ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("action", ["SearchImageByPic", "AddImage"])
def test_it_answers_unsupportedpicpixels_for_a_30000_by_30000_png(instance, action):
    """Seed: "服务类型为商品图片搜索和通用图片搜索时，图片长和宽像素要求大于等于100PX且小于等于4096PX。" and
    "400 UnsupportedPicPixels The specified pixels is not supported. 图片像素值不支持" (not the format error:
    the PNG is valid, it has 900 million pixels)."""
    before = ProductImage.objects.count()
    response = post(
        instance,
        Action=action,
        InstanceName="shop1",
        ProductId="HUGE",
        PicName="huge.png",
        PicContent=b64(huge_png()),
    )
    error(response, "UnsupportedPicPixels")
    assert ProductImage.objects.count() == before and not Product.objects.filter(sku="HUGE").exists()


def test_it_applies_exif_rotation_instead_of_refusing_it(instance):
    """Seed, PicContent: "图片中不能包含旋转信息。" (pictures must not carry rotation information) and "400
    IncorrectOrientation The image contains incorrect rotation flags in the meta data." Vitrine applies the
    rotation instead (README, Compatibility notes): a phone photo is searched and stored upright."""
    rotated = b64(rotated_jpeg(320, 200, orientation=6))  # stored 320 x 200, upright 200 x 320
    searched = ok(
        post(instance, Action="SearchImageByPic", InstanceName="shop1", PicContent=rotated, Crop="false")
    )
    assert searched["PicInfo"]["Region"] == "0,200,0,320"
    added = ok(
        post(
            instance,
            Action="AddImage",
            InstanceName="shop1",
            ProductId="PHONE",
            PicName="p.jpg",
            PicContent=rotated,
        )
    )
    x1, x2, y1, y2 = (int(value) for value in added["PicInfo"]["Region"].split(","))
    assert x2 <= 200 and y2 <= 320  # the subject box of the upright picture
    stored = ProductImage.objects.get(product__sku="PHONE")
    assert (stored.width, stored.height) == (200, 320)  # recorded upright; the original bytes are kept
    assert stored.search_entry.region == added["PicInfo"]["Region"]


# --- errors ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": ""}, "BadRequest"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": "@@@"}, "BadRequest"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "Region": "1,2,3"}, "BadRequest"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "Crop": "sometimes"}, "BadRequest"),
        ({"Action": "SearchImageByPic", "InstanceName": "nope"}, "InvalidInstance"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1" + "x" * 16}, "InvalidInstance"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "CategoryId": 17}, "InvalidCategory"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "CategoryId": "9" * 5000}, "InvalidCategory"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "Start": 450, "Num": 100}, "OverflowMaxResultNum"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "Start": 500}, "OverflowMaxResultNum"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "Num": 101}, "OverflowMaxReturnNum"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "Num": 0}, "InvalidNumParameter"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "Num": "9" * 5000}, "InvalidNumParameter"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "Filter": "int_attr ~ 1"}, "InvalidFilterClause"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "Filter": "int_attr = 1 " * 30}, "InvalidFilterClause"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "Filter": 'str_attr > "a"'}, "InvalidFilterClause"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": b64(b"%PDF-1.4 " * 40)}, "UnsupportedPicFormat"),
        ({"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": "tiny"}, "UnsupportedPicPixels"),
        ({"Action": "AddImage", "InstanceName": "shop1", "ProductId": "X", "PicName": "x.jpg", "IntAttr": "ten"}, "InvalidIntAttr"),
        ({"Action": "AddImage", "InstanceName": "shop1", "ProductId": "X", "PicName": "x.jpg", "IntAttr2": 2**31}, "InvalidIntAttr"),
        ({"Action": "RemoveEverything", "InstanceName": "shop1"}, "UnsupportedOperationType"),
    ],
)  # fmt: skip
def test_it_answers_the_seeds_error_codes_with_their_http_status(instance, params, code):
    """Seed error table: "400 BadRequest The request has invalid parameters.", "400 InvalidInstance",
    "400 InvalidCategory", "400 OverflowMaxResultNum … exceeds the maximum of 500", "400
    OverflowMaxReturnNum … exceeds the maximum of 100", "400 InvalidNumParameter", "400 InvalidFilterClause",
    "400 InvalidIntAttr", "400 UnsupportedPicFormat", "400 UnsupportedPicPixels", "500
    UnsupportedOperationType The specified action is not supported."; InstanceName "最多支持20个字符",
    Filter "最多支持256个字符", Num "取值范围：1~100", Start "取值范围：0~499"."""
    tiny = io.BytesIO()
    Image.new("RGB", (60, 60), "red").save(tiny, "PNG")
    if params.get("PicContent") == "tiny":
        params = {**params, "PicContent": b64(tiny.getvalue())}
    params = {"PicContent": picture(), **params}
    before = (Product.objects.count(), ProductImage.objects.count())
    error(post(instance, **params), code)
    assert (Product.objects.count(), ProductImage.objects.count()) == before


def test_it_answers_nopermission_and_deniedrequest_with_403(instance):
    """Seed: "403 NoPermission You are not authorized to perform this operation." and "403 DeniedRequest
    Your request was denied due to instance flow control."."""
    params = {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": "x"}
    error(post(None, **params), "NoPermission")
    error(post("vt_wrong", **params), "NoPermission")
    team = instance["team"]
    team.api_rate_limit = 1
    team.save(update_fields=["api_rate_limit"])
    answers = [post(instance, **params, Num=0) for _ in range(3)]  # cheap requests, within one second
    denied = [answer for answer in answers if answer.status_code == 403]
    assert denied
    error(denied[0], "DeniedRequest")


def test_it_answers_accessenginefailed_without_the_model(shop, monkeypatch):
    """Seed: "500 AccessEngineFailed An error occurred while accessing the search engine." (the operator has
    not run `make models`)."""
    from catalog import search_index

    def missing(*args, **kwargs):
        raise ModelMissingError("run make models")

    monkeypatch.setattr(search_index, "engine_for_team", missing)
    error(
        post(shop, Action="SearchImageByPic", InstanceName="shop1", PicContent=picture()),
        "AccessEngineFailed",
    )


# --- odd input ---------------------------------------------------------------------------------------------------------
ODD_FIELDS = {
    # field: the action whose parameter it is (every string here reaches the database or the engine)
    "InstanceName": "SearchImageByPic",
    "PicContent": "SearchImageByPic",
    "Filter": "SearchImageByPic",
    "Region": "SearchImageByPic",
    "Num": "SearchImageByPic",
    "Start": "SearchImageByPic",
    "CategoryId": "SearchImageByPic",
    "Crop": "SearchImageByPic",
    "ProductId": "AddImage",
    "PicName": "AddImage",
    "StrAttr": "AddImage",
    "StrAttr2": "AddImage",
    "CustomContent": "AddImage",
    "IntAttr": "AddImage",
    "Action": "SearchImageByPic",
}


@pytest.mark.parametrize("odd", ODD_JSON_VALUES)
@pytest.mark.parametrize("field", ODD_FIELDS)
def test_it_answers_odd_json_as_badrequest(instance, field, odd):
    """Seed: "400 BadRequest The request has invalid parameters. 无效的参数": a 5,000-digit number, an array
    nested 100,000 levels deep, NaN or a lone surrogate (in InstanceName, ProductId, a StrAttr…) is an
    invalid parameter; nothing is stored."""
    params = {
        "Action": ODD_FIELDS[field], "InstanceName": "shop1", "ProductId": "ODD", "PicName": "odd.jpg",
        "PicContent": picture(), field: ODD,
    }  # fmt: skip
    before = (Product.objects.count(), ProductImage.objects.count())
    response = send(
        "POST", URL, json_with(params, ODD_JSON_VALUES[odd]), Authorization=f"APPCODE {instance['token']}"
    )
    body = error(response, "BadRequest")
    if odd in UNSTORABLE_TEXT:
        assert field in body["Msg"]
    assert (Product.objects.count(), ProductImage.objects.count()) == before


@pytest.mark.parametrize(
    "filter_json",
    ['"str_attr = \\"\\ud800\\""', '"str_attr2 != \\"blue \\udfff\\" AND int_attr > 1"'],
)
def test_it_answers_a_lone_surrogate_in_a_filter_value_as_badrequest(instance, filter_json):
    """Seed, Filter: "str_attr支持的操作符有等于号(=)和不等号(!=)" — a str_attr value holding a lone surrogate
    would reach the database query; it is "400 BadRequest The request has invalid parameters."."""
    params = {"Action": "SearchImageByPic", "InstanceName": "shop1", "PicContent": picture(), "Filter": ODD}
    response = send("POST", URL, json_with(params, filter_json), Authorization=f"APPCODE {instance['token']}")
    assert "Filter" in error(response, "BadRequest")["Msg"]


@pytest.mark.parametrize(
    "odd", ["an array nested 100,000 levels deep", "an object nested 100,000 levels deep"]
)
def test_it_answers_a_deeply_nested_body_as_badrequest(instance, odd):
    """Seed: "400 BadRequest The request has invalid parameters.": the whole body nested 100,000 levels."""
    error(
        send("POST", URL, ODD_JSON_VALUES[odd].encode(), Authorization=f"APPCODE {instance['token']}"),
        "BadRequest",
    )


@pytest.mark.parametrize("framing", list(wrong_framings({"Action": "SearchImageByPic"})))
def test_it_answers_the_wrong_framing_in_the_envelope(instance, framing):
    """Seed, 请求示例: a JSON object of the parameters; a form works too. Any other framing answers one of
    the seed's codes in the envelope (a missing Action is "500 UnsupportedOperationType")."""
    params = {"Action": "SearchImageByPic", "InstanceName": "shop1", "Num": 0}
    content_type, raw = wrong_framings(params)[framing]
    response = send("POST", URL, raw, content_type, Authorization=f"APPCODE {instance['token']}")
    body = assert_json_answer(response)
    assert response.status_code == SEED_ERRORS[body["Code"]], body
    assert body["Message"] == body["Msg"]


@pytest.mark.parametrize("path", [URL + "/", URL + "/SearchImageByPic", URL + "/v2/search"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_it_answers_unknown_paths_under_its_prefix_in_the_envelope(instance, path, method):
    """Seed: "Action String SearchImageByPic 系统规定参数" — the action is a parameter, not a path: a path under
    /api/imagesearch names no API and answers HTTP 404 with "UnsupportedOperationType The specified action is
    not supported." in the envelope."""
    response = send(
        method, path, b'{"Action": "SearchImageByPic"}', Authorization=f"APPCODE {instance['token']}"
    )
    body = assert_json_answer(response)
    assert response.status_code == 404 and body["Code"] == "UnsupportedOperationType" and body["Message"]


@pytest.mark.parametrize("method", OTHER_METHODS)
def test_it_answers_other_methods_in_the_envelope(instance, method):
    """The seed's calls are GET or POST (its OpenAPI Explorer signs either); another method answers HTTP
    405 with `Allow: GET, POST` and "400 BadRequest"'s envelope."""
    response = send(method, URL, b"{}", Authorization=f"APPCODE {instance['token']}")
    body = assert_json_answer(response)
    assert response.status_code == 405 and response["Allow"] == "GET, POST"
    assert body["Code"] == "BadRequest" and body["Message"] == body["Msg"]
    head = Client().head(URL)
    assert head.status_code == 405 and head["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("method", "query", "form", "field"),
    [
        ("GET", "Action=SearchImageByPic&InstanceName=shop1%00", "", "InstanceName"),
        ("POST", "Action=AddImage", "InstanceName=shop1&ProductId=P%00&PicName=a.jpg", "ProductId"),
        (
            "POST",
            "",
            "Action=AddImage&InstanceName=shop1&ProductId=P&PicName=a.jpg&StrAttr=red%00",
            "StrAttr",
        ),
        ("POST", "", "Action=SearchImageByPic&InstanceName=shop1&Filter=str_attr%3D%22%00%22", "Filter"),
    ],
)
def test_it_answers_a_nul_in_a_form_or_query_as_badrequest(instance, method, query, form, field):
    """Seed: "400 BadRequest The request has invalid parameters.": a %00 in the query string (`?Action=`
    works there too) or a form field, which no database column stores, names the field."""
    url = f"{URL}?{query}" if query else URL
    auth = {"Authorization": f"APPCODE {instance['token']}"}
    if method == "GET":
        response = Client().get(url, headers=auth)
    else:
        response = send("POST", url, form.encode(), "application/x-www-form-urlencoded", **auth)
    assert field in error(response, "BadRequest")["Msg"]
    assert not Product.objects.filter(sku__startswith="P").exists()
