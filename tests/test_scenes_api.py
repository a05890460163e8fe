"""The scene APIs in the Aidge envelope: the seed's query parameters and errors, and our generation call."""

import base64
import io
from unittest import mock

import pytest
from django.test import Client
from PIL import Image

from processing.engines.scenes import CATEGORIES, SCENE_TYPES
from processing.models import Job, Status
from tests.test_scenes_helpers import make_cutout_png, presets, token_for  # noqa: F401

QUERY_URL = "/ai/image/background/generation/scene/query"
GENERATE_URL = "/ai/image/background/generation"


@pytest.fixture
def api_token(team, owner, presets):  # noqa: F811
    return token_for(team, owner)


def query(token, method="post", **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client = Client()
    if method == "get":
        return client.get(QUERY_URL, params, headers=headers)
    return client.post(QUERY_URL, params, content_type="application/json", headers=headers)


def generate(token, **params):
    return Client().post(
        GENERATE_URL, params, content_type="application/json", headers={"Authorization": f"Bearer {token}"}
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_it_refuses_a_query_without_a_token(presets):  # noqa: F811
    response = query(None, productTitle="mug")
    assert response.status_code == 401 and response.json()["resCode"] == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 101}, "count"),
        ({"count": "many"}, "count"),
        ({"categoryType": 12}, "categoryType"),
        ({"categoryType": "0"}, "categoryType"),
        ({"sceneType": 5}, "sceneType"),
        ({"sceneType": "indoor"}, "sceneType"),
        ({"productTitle": "x" * 600}, "productTitle"),
        ({"imageUrl": "http://10.0.0.1/a.jpg"}, "imageUrl"),
        ({"imageUrl": "ftp://example.com/a.jpg"}, "imageUrl"),
    ],
)
def test_it_answers_700_naming_the_bad_field(api_token, params, field):
    body = query(api_token, **params).json()
    assert body["resCode"] == 700 and body["success"] is False
    assert field in body["resMessage"]


def test_it_answers_501_when_the_team_exceeds_its_rate(api_token, settings):
    settings.API_RATE_LIMIT_QPS = 2
    with mock.patch("processing.api.time.time", return_value=3_000_000.0):
        codes = [query(api_token, method="get", count=1).json()["resCode"] for _ in range(3)]
    assert codes == [200, 200, 501]


def test_it_lists_the_whole_library_without_parameters(api_token):
    body = query(api_token, method="get").json()
    assert body["resCode"] == 200 and body["success"] is True
    assert len(body["data"]) == 60
    first = body["data"][0]
    assert set(first) >= {"modelNum", "coverUrl", "name", "categoryNameList", "sceneNameList"}
    assert first["coverUrl"].startswith("http://testserver/") and first["modelNum"] in first["coverUrl"]


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_it_has_scenes_for_every_category(api_token, category):
    body = query(api_token, categoryType=str(category)).json()
    assert body["resCode"] == 200 and body["data"]
    assert all(CATEGORIES[category][0] in item["categoryNameList"] for item in body["data"])


@pytest.mark.parametrize("scene_type", sorted(SCENE_TYPES))
def test_it_has_scenes_for_every_type(api_token, scene_type):
    body = query(api_token, method="get", sceneType=scene_type).json()
    assert body["resCode"] == 200 and body["data"]
    assert all(SCENE_TYPES[scene_type][0] in item["sceneNameList"] for item in body["data"])


def test_it_recommends_from_chinese_and_english_titles_with_reasons(api_token):
    for title in ("无线蓝牙耳机 降噪", "Wireless noise-cancelling earbuds"):
        body = query(api_token, productTitle=title, count=5).json()
        assert body["resCode"] == 200 and len(body["data"]) == 5
        scores = [item["score"] for item in body["data"]]
        assert scores == sorted(scores, reverse=True)
        signals = {reason["signal"] for reason in body["data"][0]["reasons"]}
        assert {"category", "title_similarity"} <= signals
    # electronics scenes rank above clothing-only ones for earbuds
    top = body["data"][0]
    assert (
        "Consumer Electronics" in top["categoryNameList"]
        or "Phones & Telecommunications" in top["categoryNameList"]
    )


def test_it_combines_the_filters_with_the_title(api_token):
    body = query(api_token, productTitle="summer dress", categoryType="7", sceneType="2", count=3).json()
    assert body["resCode"] == 200
    for item in body["data"]:
        assert "Clothing" in item["categoryNameList"] and "Outdoor" in item["sceneNameList"]
        assert {"signal": "filter", "categoryType": 7} in item["reasons"]


def test_it_recommends_from_an_image_by_palette(api_token):
    body = query(api_token, imageBase64=b64(make_cutout_png(colour=(30, 60, 200))), count=3).json()
    assert body["resCode"] == 200 and len(body["data"]) == 3
    assert any(reason["signal"] == "palette" for reason in body["data"][0]["reasons"])


def test_it_answers_a_list_even_when_nothing_matches(api_token, team, owner):
    """Every type and category has presets, so an empty answer needs a library without outdoor scenes."""
    from processing.models import Scene

    Scene.objects.filter(pk__in=[s.pk for s in Scene.objects.all() if 2 in s.scene_types]).delete()
    body = query(api_token, sceneType=2).json()
    assert body["resCode"] == 200 and body["data"] == []


# --- generation ---------------------------------------------------------------------------------
def test_it_generates_a_product_on_a_scene(api_token, client):
    body = generate(
        api_token, imageBase64=b64(make_cutout_png()), modelNum="10001", targetWidth=600, targetHeight=800
    ).json()
    assert body["resCode"] == 200, body
    assert body["data"]["width"] == 600 and body["data"]["height"] == 800
    response = Client().get(body["data"]["imageUrl"].replace("http://testserver", ""))
    assert response.status_code == 200
    image = Image.open(io.BytesIO(b"".join(response.streaming_content)))
    assert image.size == (600, 800)
    job = Job.objects.get()
    assert job.kind == "scene_render" and job.status == Status.SUCCESS
    assert job.results.get().metadata["scene"] == "10001"


def test_it_honours_a_placement_in_the_generation(api_token):
    body = generate(
        api_token,
        imageBase64=b64(make_cutout_png()),
        modelNum="10009",
        targetWidth=500,
        targetHeight=500,
        placement={"x": 0.3, "y": 0.9, "scale": 0.5},
    ).json()
    assert body["resCode"] == 200
    geometry = Job.objects.get().results.get().metadata["geometry"]
    x0, _y0, x1, y1 = geometry["subject_box"]
    assert abs((x0 + x1) / 2 - 150) <= 2 and abs(y1 - 450) <= 2


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"modelNum": ""}, "modelNum"),
        ({"modelNum": "99999"}, "modelNum"),
        ({"modelNum": "10001", "targetWidth": 5000}, "targetWidth"),
        ({"modelNum": "10001", "targetHeight": "tall"}, "targetHeight"),
        ({"modelNum": "10001", "placement": {"x": 2}}, "placement"),
        ({"modelNum": "10001", "placement": "not json"}, "placement"),
        ({"modelNum": "10001", "imageBase64": "%%%"}, "imageBase64"),
        ({"modelNum": "10001", "imageBase64": None}, "imageUrl"),
    ],
)
def test_it_answers_700_for_a_bad_generation(api_token, params, field):
    params = {"imageBase64": b64(make_cutout_png()), **params}
    if params["imageBase64"] is None:
        del params["imageBase64"]
    body = generate(api_token, **params).json()
    assert body["resCode"] == 700 and field in body["resMessage"]
    assert not Job.objects.exists()
