"""Aliyun asynchronous background removal, checked against seeds/aliyun-async-bg-remove-zh.txt alone.

The seed is a Chinese PDF turned into text; each test quotes the line it checks. A client written from it
sends `POST /api/v1/bg-remove/submit` and `/query` with `Authorization: APPCODE …` and a fresh
`X-Ca-Nonce`, and reads `code`, `message`, `requestId`, `success` and `data`. Every odd input (huge numbers,
deep nesting, lone surrogates, the wrong framing, an unknown path or method) must come back in that
envelope with one of the seed's codes, never a server error or an HTML page.
"""

from __future__ import annotations

import io
import json
import uuid
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client
from PIL import Image, ImageDraw

from catalog.models import ApiToken
from processing.models import Job
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
from tests.http_fixtures import image_server

SUBMIT = "/api/v1/bg-remove/submit"
QUERY = "/api/v1/bg-remove/query"
PUBLIC_IMAGE = "http://93.184.216.34/mug.png"  # a public address: vetted at submit, fetched only by a worker
# The seed's status table: HTTP status -> codes.
SEED_CODES = {
    400: {"23500006", "23500007", "23500008", "23500009", "23500012", "23500013", "23500014"},
    401: {"23500001"},
    403: {"23500003", "23500004", "23500005"},
    404: {"23500002"},
    500: {"23500000", "23500011"},
}


@pytest.fixture
def token(team, owner) -> str:
    team.api_rate_limit = 1000  # many calls in a row; throttling has its own test
    team.save(update_fields=["api_rate_limit"])
    return ApiToken.objects.create_token(team, "compat", owner)[1]


def headers(token: str | None, nonce: str | None = "fresh") -> dict[str, str]:
    """The seed's headers: "Authorization … APPCODE d1**2a（固定前缀为"APPCODE "）" and "X-Ca-Nonce … 每次请求都不能重复"."""
    found = {}
    if token:
        found["Authorization"] = f"APPCODE {token}"
    if nonce:
        found["X-Ca-Nonce"] = uuid.uuid4().hex if nonce == "fresh" else nonce
    return found


def call(
    path: str, token: str | None, body, nonce: str | None = "fresh", content_type: str = "application/json"
):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return send("POST", path, raw, content_type, **headers(token, nonce))


def envelope(response, status: int) -> dict:
    """The seed's response fields: "success boolean", "code String", "message String", "requestId String"
    and `data`; on success the sample answers `"code": 0`, `"message": "success"`, `"severity": "info"`."""
    body = assert_json_answer(response)
    assert response.status_code == status, (response.status_code, body)
    assert type(body["success"]) is bool and isinstance(body["message"], str)
    assert isinstance(body["requestId"], str) and isinstance(body["data"], dict)
    if status == 200:
        assert body["success"] is True and body["code"] == 0 and body["message"] == "success"
        assert body["severity"] == "info"
    else:
        assert body["success"] is False and body["severity"] == "error" and body["data"] == {}
        assert body["code"] in SEED_CODES[status], body
    return body


def product_photo(side: int) -> bytes:
    image = Image.new("RGB", (side, side), (236, 236, 232))
    ImageDraw.Draw(image).ellipse((side * 0.3, side * 0.2, side * 0.7, side * 0.85), fill=(190, 30, 40))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# --- submit and query ---------------------------------------------------------------------------------------------
def test_it_submits_and_queries_in_the_seeds_shape(token):
    """Seed: "data.result_key String 本次创建任务的唯⼀id，任务查询接⼝需要使⽤该值", "data.task_list[x].status
    String ⼦任务的执⾏状态 WAITING：等待调度运⾏；RUNNING：运⾏中；SUCCESS：已完成；FAILED：运⾏失败" and
    "data.task_list[x].results Array status = SUCCESS时，该字段代表⽣成结果图⽚地址，其他情况下为空";
    model_type "‒ general：通⽤抠图模型 ‒ human: ⼈像抠图模型" (optional: "必选 否")."""
    tasks = [{"image": PUBLIC_IMAGE, "model_type": "human"}, {"image": PUBLIC_IMAGE}]
    submitted = envelope(call(SUBMIT, token, {"data": {"task_list": tasks}}), 200)
    data = submitted["data"]
    assert isinstance(data["result_key"], str) and data["result_key"]
    assert [(t["image"], t["model_type"], t["status"], t["results"]) for t in data["task_list"]] == [
        (PUBLIC_IMAGE, "human", "WAITING", []),
        (PUBLIC_IMAGE, "general", "WAITING", []),
    ]
    queried = envelope(call(QUERY, token, {"data": {"result_key": data["result_key"]}}), 200)
    assert queried["data"] == data


@pytest.mark.django_db(transaction=True)
def test_it_runs_tasks_to_success_and_failure_with_result_urls(token, settings):
    """Seed: "图⽚分辨率：单边不少于400px，不超过4096px" and "data.task_list[x].results Array status =
    SUCCESS时，该字段代表⽣成结果图⽚地址". An image below 400 px fails its own task (23500007, "The uploaded
    image does not meet the requirements", is checked when the worker fetches it), not the batch."""
    settings.IMAGE_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    routes = {
        "/ok.png": (200, {"Content-Type": "image/png"}, product_photo(420)),
        "/small.png": (200, {"Content-Type": "image/png"}, product_photo(300)),
    }
    with image_server(routes) as base:
        tasks = [{"image": f"{base}/ok.png"}, {"image": f"{base}/small.png"}]
        key = envelope(call(SUBMIT, token, {"data": {"task_list": tasks}}), 200)["data"]["result_key"]
        call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    ok, small = envelope(call(QUERY, token, {"data": {"result_key": key}}), 200)["data"]["task_list"]
    assert ok["status"] == "SUCCESS" and len(ok["results"]) == 1 and isinstance(ok["results"][0], str)
    downloaded = Client().get(ok["results"][0].replace("http://testserver", ""))
    result = Image.open(io.BytesIO(b"".join(downloaded.streaming_content)))
    assert result.format == "PNG" and result.mode == "RGBA" and result.size == (420, 420)
    assert small["status"] == "FAILED" and small["results"] == [] and "400" in small["message"]


# --- the seed's status codes --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (SUBMIT, b"", 400, "23500012"),
        (QUERY, b"", 400, "23500012"),
        (SUBMIT, {"data": {}}, 400, "23500009"),
        (SUBMIT, {"data": {"task_list": []}}, 400, "23500009"),
        (SUBMIT, {"data": {"task_list": [{"model_type": "general"}]}}, 400, "23500009"),
        (QUERY, {"data": {}}, 400, "23500009"),
        (QUERY, {"task": 1}, 400, "23500009"),
        (SUBMIT, {"data": {"task_list": [{"image": "ftp://example.com/a.png"}]}}, 400, "23500006"),
        (SUBMIT, {"data": {"task_list": [{"image": "http://10.0.0.1/a.png"}]}}, 400, "23500006"),
        (SUBMIT, {"data": {"task_list": [{"image": "http://[::1]/a.png"}]}}, 400, "23500006"),
        (QUERY, {"data": {"result_key": "c215416960a7437b8f3a034104529bcb"}}, 400, "23500008"),
        (SUBMIT, {"data": {"task_list": [{"image": PUBLIC_IMAGE}] * 11}}, 400, "23500013"),
        (SUBMIT, {"data": {"task_list": ["not an object"]}}, 400, "23500013"),
        (SUBMIT, {"data": {"task_list": {"image": PUBLIC_IMAGE}}}, 400, "23500013"),
        (SUBMIT, b"{not json", 400, "23500013"),
        (
            SUBMIT,
            {"data": {"task_list": [{"image": PUBLIC_IMAGE, "model_type": "cartoon"}]}},
            400,
            "23500014",
        ),
    ],
)
def test_it_answers_the_seeds_status_codes(token, path, body, status, code):
    """Seed table: "400 23500006 The image url provided is invalid or non-accessible", "400 23500008 No
    records found related to the specified resultKey parameter", "400 23500009 Required parameters cannot
    be empty", "400 23500012 Required request body is missing", "400 23500013 Illegal input parameter
    found", "400 23500014 Illegal service name"; and "task_list为数组结构，最多⽀持批量提交10个任务"."""
    answer = envelope(call(path, token, body), status)
    assert answer["code"] == code and answer["message"].startswith(
        {
            "23500006": "The image url provided is invalid or non-accessible",
            "23500008": "No records found related to the specified resultKey parameter",
            "23500009": "Required parameters cannot be empty",
            "23500012": "Required request body is missing",
            "23500013": "Illegal input parameter found",
            "23500014": "Illegal service name",
        }[code]
    )
    assert not Job.objects.exists()


def test_it_refuses_a_missing_token_and_a_missing_or_repeated_nonce(token, db):
    """Seed: "401 23500001 Authorization required to perform current operation"; "X-Ca-Nonce String 是
    随机串（防⽌重放攻击），每次请求都不能重复" (required, never repeated)."""
    body = {"data": {"result_key": "abc"}}
    assert envelope(call(QUERY, None, body), 401)["code"] == "23500001"
    assert envelope(call(QUERY, "vt_not_a_token", body), 401)["code"] == "23500001"
    assert envelope(call(QUERY, token, body, nonce=None), 400)["code"] == "23500009"
    assert envelope(call(QUERY, token, body, nonce="once"), 400)["code"] == "23500008"
    replay = envelope(call(QUERY, token, body, nonce="once"), 400)
    assert replay["code"] == "23500013" and "Nonce" in replay["message"]
    assert envelope(call(QUERY, token, body, nonce="n" * 129), 400)["code"] == "23500013"
    assert envelope(call(QUERY, token, body, nonce="a\x00b"), 400)["code"] == "23500013"


def test_it_throttles_with_403_23500004(token, team):
    """Seed: "403 23500004 Request was denied due to request throttling"."""
    team.api_rate_limit = 1
    team.save(update_fields=["api_rate_limit"])
    with mock.patch("processing.api.time.time", return_value=2_000_000.0):  # both calls in one second
        first = call(QUERY, token, {"data": {"result_key": "abc"}})
        throttled = call(QUERY, token, {"data": {"result_key": "abc"}})
    assert envelope(first, 400)["code"] == "23500008"
    assert envelope(throttled, 403)["code"] == "23500004"


# --- odd input ---------------------------------------------------------------------------------------------------
ODD_BODIES = {
    "data.result_key": (QUERY, {"data": {"result_key": ODD}}),
    "data.task_list[0].image": (SUBMIT, {"data": {"task_list": [{"image": ODD}]}}),
    "data.task_list[0].model_type": (SUBMIT, {"data": {"task_list": [{"image": PUBLIC_IMAGE, "model_type": ODD}]}}),
    "data.task_list": (SUBMIT, {"data": {"task_list": ODD}}),
}  # fmt: skip


@pytest.mark.parametrize("odd", ODD_JSON_VALUES)
@pytest.mark.parametrize("field", ODD_BODIES)
def test_it_answers_odd_json_as_an_illegal_parameter(token, field, odd):
    """Seed: "400 23500013 Illegal input parameter found 请求参数不正确": a 5,000-digit number, an array nested
    100,000 levels deep, NaN or a lone surrogate in result_key, an image URL or model_type is an illegal
    parameter, and nothing is created."""
    path, body = ODD_BODIES[field]
    answer = envelope(call(path, token, json_with(body, ODD_JSON_VALUES[odd])), 400)
    assert answer["code"] == "23500013", answer
    if odd in UNSTORABLE_TEXT:
        assert field in answer["message"]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "odd", ["an array nested 100,000 levels deep", "an object nested 100,000 levels deep"]
)
@pytest.mark.parametrize("path", [SUBMIT, QUERY])
def test_it_answers_a_deeply_nested_body_as_an_illegal_parameter(token, path, odd):
    """Seed: "400 23500013 Illegal input parameter found": the whole body nested 100,000 levels deep."""
    assert envelope(call(path, token, ODD_JSON_VALUES[odd].encode()), 400)["code"] == "23500013"


@pytest.mark.parametrize(
    "framing", list(wrong_framings({"data": {"result_key": "x", "task_list": [{"image": "ftp://x/a.png"}]}}))
)
@pytest.mark.parametrize("path", [SUBMIT, QUERY])
def test_it_answers_the_wrong_framing_in_the_envelope(token, path, framing):
    """Seed: "Content-Type String 是 请求类型：application/json". Another framing is read if it holds the JSON
    body, else answered with a 400 code of the seed's table."""
    body = {"data": {"result_key": "nope", "task_list": [{"image": "ftp://example.com/a.png"}]}}
    content_type, raw = wrong_framings(body)[framing]
    answer = envelope(call(path, token, raw, content_type=content_type), 400)
    assert answer["code"] in SEED_CODES[400]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "path",
    ["/api/v1/bg-remove", "/api/v1/bg-remove/", "/api/v1/bg-remove/status", "/api/v1/bg-remove/submit/",
     "/api/v1/bg-remove/query/extra", "/api/v1/", "/api/v1/image-upscale/submit"],
)  # fmt: skip
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_it_answers_unknown_paths_with_404_23500002(token, path, method):
    """Seed: "404 23500002 Specified service does not exist 系统不⽀持当前操作"."""
    response = send(method, path, b'{"data": {}}', **headers(token))
    answer = envelope(response, 404)
    assert answer["code"] == "23500002" and answer["message"].startswith("Specified service does not exist")


@pytest.mark.parametrize("method", ["GET", *OTHER_METHODS])
@pytest.mark.parametrize("path", [SUBMIT, QUERY])
def test_it_answers_other_methods_in_the_envelope(token, path, method):
    """Seed: "Method: POST" for both calls, and "23500002 … 系统不⽀持当前操作" (the system does not
    support the current operation): another method answers HTTP 405 with `Allow: POST` and 23500002."""
    response = send(method, path, b"", **headers(token))
    assert response.status_code == 405 and response["Allow"] == "POST"
    body = assert_json_answer(response)
    assert body["code"] == "23500002" and body["success"] is False and body["data"] == {}
    head = Client().head(path, headers=headers(token))
    assert head.status_code == 405 and head["Content-Type"].startswith("application/json")
