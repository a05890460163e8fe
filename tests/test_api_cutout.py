"""The background-removal APIs: Aidge's synchronous call and Aliyun's asynchronous submit/query."""

import base64
import io
import json
import uuid
from unittest import mock

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client
from PIL import Image, ImageDraw

from catalog.models import ApiToken
from processing.models import Job, Status
from tests.http_fixtures import image_server

SYNC_URL = "/ai/image/cut/out"
SUBMIT_URL = "/api/v1/bg-remove/submit"
QUERY_URL = "/api/v1/bg-remove/query"


def make_product_photo(width: int = 480, height: int = 480) -> bytes:
    """A red mug-like shape on a light grey studio background."""
    image = Image.new("RGB", (width, height), (236, 236, 232))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (width * 0.3, height * 0.25, width * 0.7, height * 0.8), radius=int(width * 0.05), fill=(190, 30, 40)
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def api_token(team, owner):
    _token, raw = ApiToken.objects.create_token(team, "tests", owner)
    return raw


@pytest.fixture
def outsider_token(outsider):
    team = outsider.memberships.get().team
    return ApiToken.objects.create_token(team, "rival", outsider)[1]


def sync_call(token: str | None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return Client().post(SYNC_URL, params, headers=headers)


def aliyun_call(url: str, token: str | None, body, nonce: str | None = "fresh"):
    headers = {}
    if token:
        headers["Authorization"] = f"APPCODE {token}"
    if nonce == "fresh":
        nonce = uuid.uuid4().hex
    if nonce:
        headers["X-Ca-Nonce"] = nonce
    payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return Client().post(url, payload, content_type="application/json", headers=headers)


# --- synchronous: errors --------------------------------------------------------------------------
def test_it_refuses_a_sync_call_without_a_token(db):
    response = sync_call(None, backGroundType="WHITE_BACKGROUND", imageBase64=b64(make_product_photo()))
    assert response.status_code == 401
    assert response.json()["resCode"] == 401 and response.json()["success"] is False


def test_it_refuses_a_revoked_token(team, owner):
    token, raw = ApiToken.objects.create_token(team, "old", owner)
    token.revoke()
    assert sync_call(raw, backGroundType="TRANSPARENT").status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"imageBase64": "AAAA"}, "backGroundType"),
        ({"backGroundType": "PURPLE", "imageBase64": "AAAA"}, "backGroundType"),
        ({"backGroundType": "TRANSPARENT"}, "imageUrl or imageBase64"),
        ({"backGroundType": "TRANSPARENT", "imageBase64": "%%% not base64 %%%"}, "imageBase64"),
        ({"backGroundType": "TRANSPARENT", "imageBase64": b64(b"plain text")}, "imageBase64"),
        ({"backGroundType": "TRANSPARENT", "imageBase64": "AAAA", "targetWidth": "50"}, "targetWidth"),
        ({"backGroundType": "TRANSPARENT", "imageBase64": "AAAA", "targetHeight": "tall"}, "targetHeight"),
        ({"backGroundType": "TRANSPARENT", "imageUrl": "ftp://example.com/a.jpg"}, "imageUrl"),
        ({"backGroundType": "TRANSPARENT", "imageUrl": "http://127.0.0.1/a.jpg"}, "imageUrl"),
        ({"backGroundType": "TRANSPARENT", "imageUrl": "http://10.0.0.1/a.jpg"}, "imageUrl"),
    ],
)
def test_it_answers_700_naming_the_bad_field(api_token, params, field):
    body = sync_call(api_token, **params).json()
    assert body["resCode"] == 700 and body["success"] is False
    assert field in body["resMessage"]
    assert not Job.objects.exists()


def test_it_answers_700_for_images_outside_100_to_3000_pixels(api_token):
    for width, height in ((80, 400), (3200, 200)):
        body = sync_call(
            api_token, backGroundType="TRANSPARENT", imageBase64=b64(make_product_photo(width, height))
        ).json()
        assert body["resCode"] == 700 and "imageBase64" in body["resMessage"]


def test_it_refuses_a_redirect_to_a_private_address(api_token, settings):
    settings.IMAGE_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    with image_server({"/a.jpg": (302, {"Location": "http://10.0.0.1/a.jpg"}, b"")}) as base:
        body = sync_call(api_token, backGroundType="TRANSPARENT", imageUrl=f"{base}/a.jpg").json()
    assert body["resCode"] == 700 and "private" in body["resMessage"]


def test_it_answers_501_when_the_team_exceeds_its_rate(api_token, settings):
    settings.API_RATE_LIMIT_QPS = 2
    with mock.patch("processing.api.time.time", return_value=1_000_000.0):
        codes = [sync_call(api_token, backGroundType="PURPLE").json()["resCode"] for _ in range(4)]
    assert codes == [700, 700, 501, 501]


def test_it_answers_801_when_the_model_is_missing(api_token, monkeypatch, tmp_path):
    monkeypatch.setenv("VITRINE_MODEL_DIR", str(tmp_path / "no-models"))
    from processing.engines import cutout

    cutout.clear_sessions()
    try:
        body = sync_call(
            api_token, backGroundType="TRANSPARENT", imageBase64=b64(make_product_photo())
        ).json()
    finally:
        cutout.clear_sessions()
    assert body["resCode"] == 801 and "make models" in body["resMessage"]
    assert Job.objects.get().status == Status.FAILED


# --- synchronous: success -------------------------------------------------------------------------
def test_it_cuts_out_a_product_and_returns_a_signed_url(api_token, team):
    photo = make_product_photo()
    response = sync_call(
        api_token,
        backGroundType="TRANSPARENT",
        imageBase64=b64(photo),
        imageUrl="http://10.0.0.1/ignored.jpg",
        targetWidth="400",
        targetHeight="300",
    )
    body = response.json()
    assert body["success"] is True and body["resCode"] == 200, body
    data = body["data"]
    assert (data["width"], data["height"]) == (400, 300) and data["usage"] == 1
    assert 0.0 <= data["score"] <= 1.0
    downloaded = Client().get(data["imageUrl"].replace("http://testserver", ""))
    assert downloaded.status_code == 200
    result = Image.open(io.BytesIO(b"".join(downloaded.streaming_content)))
    assert result.mode == "RGBA" and result.size == (400, 300)
    alpha = np.asarray(result.getchannel("A"))
    assert alpha[150, 200] > 200 and alpha[5, 5] == 0  # the product is kept, the studio corner is gone
    job = Job.objects.get()
    assert job.team == team and job.status == Status.SUCCESS and job.params["source"] == "api"


def test_it_refuses_tampered_and_expired_result_urls(api_token, settings):
    body = sync_call(
        api_token, backGroundType="WHITE_BACKGROUND", imageBase64=b64(make_product_photo())
    ).json()
    path = body["data"]["imageUrl"].replace("http://testserver", "")
    assert Client().get(path[:-3] + "xyz/").status_code == 404
    settings.SIGNED_URL_MAX_AGE = 60
    import time as real_time

    with mock.patch("django.core.signing.time.time", return_value=real_time.time() + 3600):
        assert Client().get(path).status_code == 404


# --- asynchronous ---------------------------------------------------------------------------------
def test_it_refuses_async_calls_without_a_token(db):
    response = aliyun_call(SUBMIT_URL, None, {"data": {"task_list": []}})
    assert response.status_code == 401 and response.json()["code"] == "23500001"


def test_it_requires_a_nonce_and_refuses_a_replay(api_token):
    missing = aliyun_call(QUERY_URL, api_token, {"data": {"result_key": "x"}}, nonce=None)
    assert missing.status_code == 400 and missing.json()["code"] == "23500009"
    first = aliyun_call(QUERY_URL, api_token, {"data": {"result_key": "x"}}, nonce="n-1")
    replay = aliyun_call(QUERY_URL, api_token, {"data": {"result_key": "x"}}, nonce="n-1")
    assert first.json()["code"] == "23500008"
    assert (
        replay.status_code == 400
        and replay.json()["code"] == "23500013"
        and "Nonce" in replay.json()["message"]
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 400, "23500012"),
        (b"{not json", 400, "23500013"),
        ({"data": {}}, 400, "23500009"),
        ({"data": {"task_list": [{"image": "https://example.com/a.jpg"}] * 11}}, 400, "23500013"),
        ({"data": {"task_list": [{"model_type": "general"}]}}, 400, "23500009"),
        ({"data": {"task_list": [{"image": "ftp://example.com/a.jpg"}]}}, 400, "23500006"),
        ({"data": {"task_list": [{"image": "http://127.0.0.1:8000/a.jpg"}]}}, 400, "23500006"),
        ({"data": {"task_list": [{"image": "http://10.0.0.1/a.jpg"}]}}, 400, "23500006"),
        (
            {"data": {"task_list": [{"image": "http://93.184.216.34/a.jpg", "model_type": "cat"}]}},
            400,
            "23500014",
        ),
    ],
)
def test_it_answers_submit_errors_with_the_seed_codes(api_token, body, status, code):
    response = aliyun_call(SUBMIT_URL, api_token, body)
    assert (response.status_code, response.json()["code"]) == (status, code), response.json()
    assert response.json()["success"] is False
    assert not Job.objects.exists()


def test_it_throttles_with_403_23500004(api_token, settings):
    settings.API_RATE_LIMIT_QPS = 1
    with mock.patch("processing.api.time.time", return_value=2_000_000.0):
        aliyun_call(QUERY_URL, api_token, {"data": {"result_key": "x"}})
        throttled = aliyun_call(QUERY_URL, api_token, {"data": {"result_key": "x"}})
    assert throttled.status_code == 403 and throttled.json()["code"] == "23500004"


def test_it_hides_another_teams_result_key(api_token, outsider_token):
    body = {"data": {"task_list": [{"image": "http://93.184.216.34/a.jpg"}]}}
    result_key = aliyun_call(SUBMIT_URL, outsider_token, body).json()["data"]["result_key"]
    response = aliyun_call(QUERY_URL, api_token, {"data": {"result_key": result_key}})
    assert response.status_code == 400 and response.json()["code"] == "23500008"


@pytest.mark.django_db(transaction=True)
def test_it_runs_an_async_batch_end_to_end_with_the_worker(api_token, settings):
    settings.IMAGE_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    routes = {
        "/mug.jpg": (200, {"Content-Type": "image/jpeg"}, make_product_photo(600, 600)),
        "/tiny.jpg": (200, {"Content-Type": "image/jpeg"}, make_product_photo(200, 200)),
    }
    with image_server(routes) as base:
        submitted = aliyun_call(
            SUBMIT_URL,
            api_token,
            {
                "data": {
                    "task_list": [
                        {"image": f"{base}/mug.jpg", "model_type": "general"},
                        {"image": f"{base}/tiny.jpg"},
                    ]
                }
            },
        ).json()
        assert submitted["success"] is True and submitted["code"] == 0
        assert [task["status"] for task in submitted["data"]["task_list"]] == ["WAITING", "WAITING"]
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)

    queried = aliyun_call(
        QUERY_URL, api_token, {"data": {"result_key": submitted["data"]["result_key"]}}
    ).json()
    mug, tiny = queried["data"]["task_list"]
    assert mug["status"] == "SUCCESS" and len(mug["results"]) == 1
    assert tiny["status"] == "FAILED" and "400" in tiny["message"]  # below the async minimum of 400 px
    downloaded = Client().get(mug["results"][0].replace("http://testserver", ""))
    image = Image.open(io.BytesIO(b"".join(downloaded.streaming_content)))
    assert image.mode == "RGBA" and image.size == (600, 600)


def test_it_answers_501_when_the_engines_stay_busy_and_records_nothing(api_token, settings):
    from processing import api

    settings.SYNC_ENGINE_WAIT_SECONDS = 0.05
    slots = api._engine_slots()
    held = 0
    while slots.acquire(blocking=False):  # every slot taken, as by long-running calls in other threads
        held += 1
    try:
        jobs_before = Job.objects.count()
        answer = sync_call(
            api_token, imageBase64=b64(make_product_photo()), backGroundType="WHITE_BACKGROUND"
        ).json()
        assert answer["resCode"] == 501 and answer["success"] is False
        assert Job.objects.count() == jobs_before
    finally:
        for _ in range(held):
            slots.release()
    assert held >= 1
    answer = sync_call(
        api_token, imageBase64=b64(make_product_photo()), backGroundType="WHITE_BACKGROUND"
    ).json()
    assert answer["resCode"] == 200 and answer["success"] is True
