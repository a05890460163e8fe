"""Aidge compatibility, checked against the seed texts alone: seeds/aidge-background-removal.txt,
aidge-elements-removal.txt and aidge-scene-query.txt (plus our scene generation, in the same envelope).

A merchant's integration written from those pages must keep working: the parameters, the envelope's
fields and types, every error code a client can trigger, and whatever odd input it sends (huge numbers,
deep nesting, lone surrogates, the wrong content type, an unknown path or method) answered in the
envelope, never as a server error or an HTML page. Each test's docstring quotes the seed line it checks.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from django.test import Client
from PIL import Image, ImageDraw

from catalog.models import ApiToken
from processing.models import Job, Status
from tests.compat_inputs import (
    ODD,
    ODD_JSON_VALUES,
    OTHER_METHODS,
    UNSTORABLE_TEXT,
    assert_json_answer,
    json_with,
    send,
    wrong_framings,
)
from tests.test_scenes_helpers import presets  # noqa: F401

CUT_OUT = "/ai/image/cut/out"
REMOVAL = "/ai/image/removal"
SCENE_QUERY = "/ai/image/background/generation/scene/query"
GENERATION = "/ai/image/background/generation"
# The seeds' codes for errors (plus 200 success); 401 only for the token, 404/405 only for the call itself.
AIDGE_CODES = {200, 500, 501, 700, 701, 702, 703, 704, 705, 801}


@pytest.fixture
def token(team, owner) -> str:
    team.api_rate_limit = 1000  # many calls in a row; throttling has its own test
    team.save(update_fields=["api_rate_limit"])
    return ApiToken.objects.create_token(team, "compat", owner)[1]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def photo(width: int = 480, height: int = 360, image_format: str = "JPEG", box=None) -> bytes:
    """A red product on a light grey studio backdrop; `box` is where the product is drawn."""
    image = Image.new("RGB", (width, height), (236, 236, 232))
    box = box or (int(width * 0.35), int(height * 0.25), int(width * 0.65), int(height * 0.8))
    ImageDraw.Draw(image).rounded_rectangle(box, radius=12, fill=(190, 30, 40))
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def envelope(response, status: int = 200) -> dict:
    """The seeds' response table: "resCode Number", "data Object", "requestId String", "success
    Boolean", "resMessage String"; the sample response also carries `code` ("0") and `request_id`."""
    body = assert_json_answer(response)
    assert response.status_code == status, (response.status_code, body)
    assert type(body["resCode"]) is int and type(body["success"]) is bool
    assert isinstance(body["requestId"], str) and isinstance(body["resMessage"], str)
    assert isinstance(body["data"], dict | list)
    assert body["success"] is (body["resCode"] == 200)
    assert body["code"] == ("0" if body["success"] else str(body["resCode"]))
    assert body["request_id"] == body["requestId"]
    return body


def result_image(data: dict) -> Image.Image:
    downloaded = Client().get(data["imageUrl"].replace("http://testserver", ""))
    assert downloaded.status_code == 200
    return Image.open(io.BytesIO(b"".join(downloaded.streaming_content)))


# --- background removal: success -----------------------------------------------------------------------------
def test_it_answers_the_seeds_fields_and_keeps_the_size_without_targets(token):
    """Seed: "ImageBase64 is preferred when both imageUrl and imageBase64 exist." and, for targetWidth,
    "If not, it will output original width without changing the subject's position." The sample
    response's data: "score", "imageUrl", "usage", "width", "height"."""
    drawn = (170, 90, 310, 290)
    response = Client().post(
        CUT_OUT,
        {
            "backGroundType": "TRANSPARENT",
            "imageBase64": b64(photo(box=drawn)),
            "imageUrl": "http://10.0.0.1/would-be-refused.jpg",
        },
        headers=auth(token),
    )
    body = envelope(response)
    assert body["resCode"] == 200 and body["resMessage"] == "success", body
    data = body["data"]
    assert isinstance(data["score"], float) and 0.0 <= data["score"] <= 1.0
    assert isinstance(data["imageUrl"], str) and data["imageUrl"].startswith("http")
    assert (data["width"], data["height"], data["usage"]) == (480, 360, 1)
    result = result_image(data)
    assert result.mode == "RGBA" and result.size == (480, 360)
    ys, xs = np.nonzero(np.asarray(result.getchannel("A")) > 128)
    # The subject stays where it was photographed.
    assert abs(xs.min() - drawn[0]) <= 6 and abs(xs.max() - drawn[2]) <= 6
    assert abs(ys.min() - drawn[1]) <= 6 and abs(ys.max() - drawn[3]) <= 6


def test_it_keeps_the_photos_own_size_on_the_side_without_a_target(token):
    """Seed, targetHeight: "Set the height of the output image. After setting, it returns an image with
    automatically cropped edge blank areas and scaled to the target size. If not, it will output original
    height without changing the subject's position." (and the same for targetWidth)."""
    for params, size in (({"targetWidth": 300}, (300, 360)), ({"targetHeight": 200}, (480, 200))):
        response = Client().post(
            CUT_OUT,
            {"backGroundType": "WHITE_BACKGROUND", "imageBase64": b64(photo()), **params},
            headers=auth(token),
        )
        data = envelope(response)["data"]
        assert (data["width"], data["height"]) == size, data
        result = np.asarray(result_image(data).convert("RGB")).astype(int)
        assert result.shape[:2] == (size[1], size[0])
        assert (result[2, 2] >= 250).all() and (result[-3, -3] >= 250).all()  # "WHITE_BACKGROUND"
        red = np.nonzero((result[..., 0] > 150) & (result[..., 1] < 90))
        # Cropped to the subject, fitted with the margin and centred on both axes.
        assert abs((red[1].min() + red[1].max()) / 2 - size[0] / 2) <= 3
        assert abs((red[0].min() + red[0].max()) / 2 - size[1] / 2) <= 3


# --- background removal: errors ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"imageBase64": "x"}, "backGroundType"),
        ({"backGroundType": "BLUE"}, "backGroundType"),
        ({"backGroundType": "TRANSPARENT"}, "imageUrl"),
        ({"backGroundType": "TRANSPARENT", "targetWidth": 99}, "targetWidth"),
        ({"backGroundType": "TRANSPARENT", "targetHeight": 3001}, "targetHeight"),
        ({"backGroundType": "TRANSPARENT", "targetWidth": "wide"}, "targetWidth"),
        ({"backGroundType": "TRANSPARENT", "targetWidth": "9" * 5000}, "targetWidth"),
        ({"backGroundType": "TRANSPARENT", "imageBase64": "small"}, "imageBase64"),
        ({"backGroundType": "TRANSPARENT", "imageUrl": "http://169.254.169.254/latest"}, "imageUrl"),
    ],
)
def test_it_answers_700_naming_the_field(token, params, field):
    """Seed: "700 invalid input The format of the input parameters does not meet the requirements, and
    resMessage will return detailed fields that do not meet the requirements." Also "Input image size
    should be between 100×100 pixels(minimum) and 3000×3000 pixels(maximum)." and "Pixel Range:100-3000"."""
    if params.get("imageBase64") == "small":
        params = {**params, "imageBase64": b64(photo(99, 140))}
    body = envelope(Client().post(CUT_OUT, params, headers=auth(token)))
    assert body["resCode"] == 700 and body["resMessage"].startswith("invalid input"), body
    assert field in body["resMessage"]
    assert body["data"] == {} and not Job.objects.exists()


def test_it_answers_501_over_the_rate_limit(token, team):
    """Seed: "501 rate limit exceed The current interface has reached the current limit." """
    team.api_rate_limit = 2
    team.save(update_fields=["api_rate_limit"])
    codes = [
        envelope(Client().post(CUT_OUT, {"backGroundType": "NONE"}, headers=auth(token)))["resCode"]
        for _ in range(6)
    ]
    assert 501 in codes and set(codes) <= {700, 501}


def test_it_answers_801_when_the_model_fails(token, monkeypatch, tmp_path):
    """Seed: "801 model failed Internal call exception"."""
    from processing.engines import cutout

    monkeypatch.setenv("VITRINE_MODEL_DIR", str(tmp_path / "no-models"))
    cutout.clear_sessions()
    try:
        response = Client().post(
            CUT_OUT, {"backGroundType": "TRANSPARENT", "imageBase64": b64(photo())}, headers=auth(token)
        )
    finally:
        cutout.clear_sessions()
    body = envelope(response)
    assert body["resCode"] == 801 and body["resMessage"].startswith("model failed")
    assert Job.objects.get().status == Status.FAILED


def test_it_answers_500_system_error_in_the_envelope_when_something_unexpected_breaks(token, monkeypatch):
    """Seed: "500 system error System error." An exception no view expected answers the envelope with
    resCode 500 (HTTP 200, like the other business errors), never Django's HTML error page."""
    from processing.views import api_cutout

    def broken(params):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api_cutout, "_sync_job_params", broken)
    client = Client(raise_request_exception=False)
    body = envelope(client.post(CUT_OUT, {"backGroundType": "TRANSPARENT"}, headers=auth(token)))
    assert body["resCode"] == 500 and body["resMessage"].startswith("system error")
    assert "a bug" not in body["resMessage"]  # internals stay in the log


def test_it_refuses_a_missing_token_in_the_envelope_whatever_the_body(db):
    """The sample request authenticates every call (`IopClientImp(url, appkey, appSecret)`): without a
    valid token the answer is HTTP 401 in the envelope, before the body is even read."""
    for body in (b"{}", ("[" * 100_000).encode(), b"\xff\xfe"):
        answer = envelope(send("POST", CUT_OUT, body), status=401)
        assert answer["resCode"] == 401


# --- elements removal ------------------------------------------------------------------------------------------
def test_it_accepts_the_seeds_other_names_for_the_element_lists(token):
    """Seed, mask: "If provided, it will take precedence over the remove_non_product_area_elements and
    remove_product_area_elements parameters." Those names are read as object_remove_elements and
    non_object_remove_elements (README, Compatibility notes)."""
    image = photo(640, 640, "PNG")
    mask = "0 4096"  # the first rows' pixels, as RLE "start length"
    body = envelope(
        Client().post(
            REMOVAL,
            {"image_Base64": b64(image), "remove_product_area_elements": "[]", "mask": mask},
            headers=auth(token),
        )
    )
    assert body["resCode"] == 200, body
    data = body["data"]
    assert (data["width"], data["height"]) == (640, 640) and isinstance(data["imageUrl"], str)
    assert isinstance(data["elements"], list) and data["maskUsed"] is True
    assert result_image(data).size == (640, 640)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        # Read as the lists: both empty is the seed's "cannot be empty at the same time" error.
        ({"remove_product_area_elements": "[]", "remove_non_product_area_elements": "[]"}, "non_object_remove_elements"),
        ({"object_remove_elements": "[1]", "remove_product_area_elements": "[2]"}, "remove_product_area_elements"),
        ({"remove_product_area_elements": "[9]"}, "remove_product_area_elements"),
        ({"object_remove_elements": "[]", "remove_non_product_area_elements": "[0]"}, "remove_non_product_area_elements"),
        ({"non_object_remove_elements": "[1]"}, "object_remove_elements"),
    ],
)  # fmt: skip
def test_it_reads_the_other_names_like_the_lists(token, params, named):
    """Seed, non_object_remove_elements: "Cannot be empty at the same time as
    remove_non_product_area_elements." and object_remove_elements: "Number[] Yes" (1..4)."""
    body = envelope(Client().post(REMOVAL, {"image_Base64": "AAAA", **params}, headers=auth(token)))
    assert body["resCode"] == 700 and named in body["resMessage"], body


def _big_base64() -> str:
    return "A" * (4 * ((10 * 1024 * 1024 + 3000) // 3))  # just over 10 MB once decoded


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"image_Base64": "AAAA"}, 700),  # object_remove_elements missing
        ({"object_remove_elements": "[5]", "image_Base64": "AAAA"}, 700),
        ({"object_remove_elements": "[1]", "image_url": "http://127.0.0.1:9/a.jpg", "image_Base64": "good"}, 701),
        ({"object_remove_elements": "[1]", "image_Base64": "@@@"}, 702),
        ({"object_remove_elements": "[1]", "image_Base64": "small"}, 703),
        ({"object_remove_elements": "[1]", "image_Base64": "webp"}, 704),
        ({"object_remove_elements": "[1]", "image_Base64": "big"}, 705),
    ],
)  # fmt: skip
def test_it_answers_the_removal_seeds_error_codes(token, params, code):
    """Seed errors: "700 invalid input", "701 image url error", "702 image base64 error", "703 image size
    exceeds the limit", "704 invalid image form", "705 image file size exceeds the limit"; the image
    "should be in JPG, JPEG, PNG, or BMP format, with a resolution between 512x512 and 3000x3000 pixels,
    and a file size of no more than 10MB", and the URL "will be prioritized if provided"."""
    replacements = {
        "good": b64(photo(640, 640, "PNG")),
        "small": b64(photo(500, 640, "PNG")),
        "webp": b64(photo(640, 640, "WEBP")),
        "big": _big_base64(),
    }
    params = {key: replacements.get(value, value) for key, value in params.items()}
    body = envelope(Client().post(REMOVAL, params, headers=auth(token)))
    assert body["resCode"] == code, body
    assert not Job.objects.exists()


# --- scene query ------------------------------------------------------------------------------------------------
def test_it_answers_scenes_with_the_seeds_field_types(token, presets):  # noqa: F811
    """Seed response: "modelNum String", "coverUrl String", "name String", "categoryNameList list",
    "sceneNameList list"; categoryType "3=Home & Garden", sceneType "1=Indoor", count "Value range: 1-100"."""
    response = Client().post(
        SCENE_QUERY,
        {"productTitle": "ceramic mug", "categoryType": "3", "sceneType": "1", "count": 3},
        content_type="application/json",
        headers=auth(token),
    )
    body = envelope(response)
    assert body["resCode"] == 200 and isinstance(body["data"], list) and 1 <= len(body["data"]) <= 3
    for scene in body["data"]:
        assert isinstance(scene["modelNum"], str) and isinstance(scene["coverUrl"], str)
        assert isinstance(scene["name"], str) and scene["name"]
        assert isinstance(scene["categoryNameList"], list) and "Home & Garden" in scene["categoryNameList"]
        assert isinstance(scene["sceneNameList"], list) and "Indoor" in scene["sceneNameList"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"categoryType": 12}, "categoryType"), ({"sceneType": 5}, "sceneType"), ({"count": 101}, "count"),
     ({"count": 0}, "count"), ({"categoryType": "9" * 5000}, "categoryType")],
)  # fmt: skip
def test_it_answers_700_for_scene_filters_outside_the_seeds_ranges(token, presets, params, field):  # noqa: F811
    """Seed: categoryType "Currently, 11 product categories are supported", sceneType "Currently, 4 types
    of scenes are supported", count "Value range: 1-100"; "700 invalid input"."""
    body = envelope(Client().get(SCENE_QUERY, params, headers=auth(token)))
    assert body["resCode"] == 700 and field in body["resMessage"], body


# --- odd input on every Aidge endpoint ---------------------------------------------------------------------------
ENDPOINTS = {
    # endpoint: a body with the odd value in a field the seed names
    CUT_OUT: {"backGroundType": "TRANSPARENT", "targetWidth": ODD},
    REMOVAL: {"image_url": ODD, "object_remove_elements": [1]},
    SCENE_QUERY: {"productTitle": ODD, "count": 3},
    GENERATION: {"modelNum": ODD, "imageBase64": "AAAA"},
}


@pytest.mark.parametrize("odd", ODD_JSON_VALUES)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_it_answers_odd_json_as_invalid_input(token, path, odd):
    """Seed: "700 invalid input The format of the input parameters does not meet the requirements, and
    resMessage will return detailed fields that do not meet the requirements." A 5,000-digit number, an
    array nested 100,000 levels deep, NaN or a lone surrogate is such input, never a server error."""
    body = envelope(send("POST", path, json_with(ENDPOINTS[path], ODD_JSON_VALUES[odd]), **auth(token)))
    assert body["resCode"] == 700 and body["resMessage"].startswith("invalid input"), body
    if odd in UNSTORABLE_TEXT:
        field = next(name for name, value in ENDPOINTS[path].items() if value == ODD)
        assert field in body["resMessage"]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "odd", ["an array nested 100,000 levels deep", "an object nested 100,000 levels deep"]
)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_it_answers_a_deeply_nested_body_as_invalid_input(token, path, odd):
    """Seed: "700 invalid input": the whole body nested 100,000 levels deep."""
    body = envelope(send("POST", path, ODD_JSON_VALUES[odd].encode(), **auth(token)))
    assert body["resCode"] == 700, body


@pytest.mark.parametrize("framing", list(wrong_framings({"backGroundType": "TRANSPARENT"})))
@pytest.mark.parametrize("path", ENDPOINTS)
def test_it_answers_the_wrong_content_type_in_the_envelope(token, path, framing):
    """Seed: "GET/POST /ai/image/cut/out", "GET/POST /ai/image/removal", "POST
    /ai/image/background/generation/scene/query": whatever framing a POST arrives in, the answer is the
    envelope with one of the seed's codes (a body it cannot read is "700 invalid input")."""
    content_type, raw = wrong_framings({"backGroundType": "TRANSPARENT", "count": 2})[framing]
    body = envelope(send("POST", path, raw, content_type, **auth(token)))
    assert body["resCode"] in AIDGE_CODES, body
    assert body["resCode"] != 500


@pytest.mark.parametrize(
    "path",
    ["/ai/", "/ai/image", "/ai/image/cut", "/ai/image/cut/out/", "/ai/image/cutout", "/ai/image/removal/v2",
     "/ai/image/background", "/ai/image/background/generation/scene", "/ai/text/translate"],
)  # fmt: skip
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_it_answers_unknown_paths_under_ai_in_the_envelope(token, path, method):
    """The seeds name each API by its path ("GET/POST /ai/image/cut/out"); a path under /ai/ that names
    none answers HTTP 404 in the envelope (resCode 404, the seeds have no code for it)."""
    body = envelope(send(method, path, b'{"backGroundType": "TRANSPARENT"}', **auth(token)), status=404)
    assert body["resCode"] == 404 and path in body["resMessage"]


@pytest.mark.parametrize("method", OTHER_METHODS)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_it_answers_other_methods_in_the_envelope(token, path, method):
    """Seed: "GET/POST /ai/image/cut/out" (and GET/POST for removal and the scene query; the generation
    takes POST): another method answers HTTP 405 with an Allow header, in the envelope."""
    response = send(method, path, b"{}", **auth(token))
    body = envelope(response, status=405)
    assert body["resCode"] == 405
    assert "POST" in response["Allow"] and method not in response["Allow"]


def test_it_answers_get_on_the_post_only_generation_and_head_in_the_envelope(token):
    """The generation is "POST /ai/image/background/generation": GET answers 405 in the envelope; HEAD,
    which carries no body, is 405 with the JSON content type."""
    response = Client().get(GENERATION, headers=auth(token))
    assert envelope(response, status=405)["resCode"] == 405 and response["Allow"] == "POST"
    head = Client().head(CUT_OUT, headers=auth(token))
    assert head.status_code == 405 and head["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("method", "path", "query", "field"),
    [
        ("POST", CUT_OUT, "backGroundType=TRANSPARENT&imageUrl=http://a.example/%00.jpg", "imageUrl"),
        ("GET", CUT_OUT, "backGroundType=TRANSPARENT&imageBase64=%ED%A0%80%00", "imageBase64"),
        ("GET", SCENE_QUERY, "productTitle=mug%00", "productTitle"),
        ("POST", REMOVAL, "object_remove_elements=1&image_url=%00", "image_url"),
    ],
)
def test_it_answers_a_nul_in_a_form_or_query_as_invalid_input(token, method, path, query, field):
    """Seed: "700 invalid input … resMessage will return detailed fields that do not meet the
    requirements": a %00 in a form field or the query string (which no database column stores) too."""
    if method == "GET":
        response = Client().get(f"{path}?{query}", headers=auth(token))
    else:
        response = send("POST", path, query.encode(), "application/x-www-form-urlencoded", **auth(token))
    body = envelope(response)
    assert body["resCode"] == 700 and field in body["resMessage"], body
