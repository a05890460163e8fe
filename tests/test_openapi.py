"""The OpenAPI document describes every API URL, and schemathesis fuzzes every operation against it.

The fuzzing runs the Django app in-process (WSGI) with a valid team token. Every response must be
documented: its status, its content type and its body (the seed's envelope and one of its codes);
no operation may answer a server error, except the image-search codes the seed itself sends with
HTTP 500 (UnsupportedOperationType, AccessEngineFailed) in their envelope. A further pass swaps one value
of each generated request for JSON that json.dumps never writes (5,000-digit numbers, nesting 100,000
levels deep, lone surrogates, NUL, NaN), which the plain generation cannot reach.

Cost is kept bounded: generated image data almost never decodes, so most examples are refused before
any engine runs; host names never reach DNS (the resolver below answers only for local names).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import socket

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.models import ApiToken, SearchInstance
from processing.openapi import DOCUMENT_PATH, load_document

DOCUMENT = load_document()
# Examples per operation and generation mode; 12 operations, most examples end before any engine.
# VITRINE_FUZZ_EXAMPLES raises it for a longer local run.
MAX_EXAMPLES = int(os.environ.get("VITRINE_FUZZ_EXAMPLES", "25"))


# --- the document itself --------------------------------------------------------------------------
def api_url_patterns() -> dict[str, object]:
    """Every URL pattern served by an API view (processing.views.api_* and this document), as
    OpenAPI paths."""
    found: dict[str, object] = {}

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                module = getattr(pattern.callback, "__module__", "")
                if module.startswith("processing.views.api_") or module == "processing.openapi":
                    found["/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)] = pattern.callback

    walk(get_resolver().url_patterns, "")
    return found


def test_it_is_a_valid_openapi_3_document():
    validate(DOCUMENT)
    assert DOCUMENT["openapi"].startswith("3.") and DOCUMENT["info"]["version"]


def test_it_describes_every_api_url_and_nothing_else():
    served = api_url_patterns()
    assert "/ai/image/cut/out" in served and "/jobs/results/signed/{token}/" in served
    missing = set(served) - set(DOCUMENT["paths"])
    assert not missing, f"API URLs missing from processing/openapi.json: {sorted(missing)}"
    stale = set(DOCUMENT["paths"]) - set(served)
    assert not stale, f"processing/openapi.json describes URLs that no longer exist: {sorted(stale)}"


def test_it_documents_the_three_token_schemes():
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["appCode"] == {**schemes["appCode"], "in": "header", "name": "Authorization"}
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["apiToken"]["name"] == "X-Api-Token"
    for path, operations in DOCUMENT["paths"].items():
        for operation in operations.values():
            public = path.startswith("/jobs/results/signed/") or path == "/api/openapi.json"
            assert (operation.get("security") == []) == public, path


def test_it_serves_the_document_as_written(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response.content == DOCUMENT_PATH.read_bytes()
    assert client.post("/api/openapi.json").status_code == 405


# --- fuzzing ----------------------------------------------------------------------------------------
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(
    max_examples=MAX_EXAMPLES, deterministic=True, database="none", no_shrink=False
)
_nonces = itertools.count()
_real_getaddrinfo = socket.getaddrinfo
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _local_only_getaddrinfo(host, *args, **kwargs):
    """Generated URLs name random hosts; answer for local names and IP literals, never ask DNS."""
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        literal = True
    except (OSError, ValueError):
        literal = False
    if literal or name.lower().rstrip(".") in _LOCAL_NAMES:
        return _real_getaddrinfo(host, *args, **kwargs)
    raise socket.gaierror(socket.EAI_NONAME, "test resolver: no DNS in tests")


@pytest.fixture
def fuzz_token(db, team, owner, settings, monkeypatch):
    settings.API_RATE_LIMIT_QPS = 1_000_000
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    SearchInstance.objects.create(team=team, name="fuzzshop")
    monkeypatch.setattr(socket, "getaddrinfo", _local_only_getaddrinfo)
    # A WSGI request would close the test's database connection (and its transaction) the way a real
    # server does between requests; the test client detaches the same handlers.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield ApiToken.objects.create_token(team, "fuzz", owner)[1]
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def no_undocumented_server_error(ctx, response, case):
    """5xx only where the seed answers with it (image search), and then in its envelope."""
    if response.status_code >= 500:
        body = _json(response)
        assert case.operation.path in ("/api/imagesearch", "/"), (
            f"HTTP {response.status_code}: {response.text[:500]}"
        )
        assert body and body.get("Code") in ("UnsupportedOperationType", "AccessEngineFailed"), response.text
    return None


def seed_envelope(ctx, response, case):
    """Every API answer carries its dialect's request id: the X-Request-ID of the log lines."""
    if (
        case.operation.path.startswith(("/jobs/results/signed/", "/api/openapi.json"))
        and response.status_code < 400
    ):
        return None  # an image, or this document
    body = _json(response)
    assert isinstance(body, dict), f"not a JSON envelope: {response.text[:300]}"
    request_id = body.get("requestId") or body.get("RequestId")
    headers = {name.lower(): values for name, values in response.headers.items()}
    assert request_id and [request_id] == headers.get("x-request-id"), body
    return None


def _json(response):
    try:
        return json.loads(response.content)
    except ValueError:
        return None


CHECKS = [
    no_undocumented_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    seed_envelope,
]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_it_answers_every_generated_request_within_the_document(case, fuzz_token):
    headers = {"Authorization": f"Bearer {fuzz_token}"}
    nonce = (case.headers or {}).get("X-Ca-Nonce")
    if nonce:
        # Keep the generated nonce but make it unique, so most requests get past the replay check.
        headers["X-Ca-Nonce"] = f"{nonce[:100]}-{next(_nonces)}"
    response = case.call(app=WSGIHandler(), headers=headers)
    case.validate_response(response, checks=CHECKS)


# --- valid calls: the success envelopes match the document too ------------------------------------------
def _picture(width: int, height: int, image_format: str = "JPEG") -> str:
    import base64
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (236, 236, 232))
    ImageDraw.Draw(image).ellipse((width * 0.3, height * 0.25, width * 0.7, height * 0.8), fill=(190, 30, 40))
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return base64.b64encode(buffer.getvalue()).decode()


def test_it_documents_the_answers_to_valid_calls(fuzz_token, settings):
    settings.IMAGE_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    app = WSGIHandler()
    headers = {"Authorization": f"APPCODE {fuzz_token}"}
    checks = [check for check in CHECKS if check is not no_undocumented_server_error]

    def call(path: str, method: str, *, body=None, media_type="application/json", query=None, extra=None):
        operation = schema[path][method]
        given = {"body": body, "media_type": media_type} if body is not None else {}
        case = operation.Case(query=query, **given)
        response = case.call(app=app, headers={**headers, **(extra or {})})
        case.validate_response(response, checks=[no_undocumented_server_error, *checks])
        return response.json() if "json" in (response.headers.get("content-type") or [""])[0] else response

    picture = _picture(240, 200)
    search = {"InstanceName": "fuzzshop", "ProductId": "MUG-1", "PicName": "mug.jpg", "PicContent": picture}
    added = call("/api/imagesearch", "POST", body={"Action": "AddImage", **search, "IntAttr": 5})
    assert added["Success"] is True and added["Data"]["ProductId"] == "MUG-1"
    found = call(
        "/api/imagesearch", "POST", body={"Action": "SearchImageByPic", **search, "Filter": "int_attr>=5"}
    )
    assert found["Head"]["DocsFound"] == len(found["Auctions"]) >= 1
    deleted = call(
        "/api/imagesearch", "POST", body={"Action": "DeleteImage", "InstanceName": "fuzzshop", "ProductId": "MUG-1"},
        media_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert deleted["Data"]["PicNames"] == ["mug.jpg"]

    submitted = call(
        "/api/v1/bg-remove/submit", "POST",
        body={"data": {"task_list": [{"image": "http://127.0.0.1:9/a.jpg", "model_type": "human"}]}},
        extra={"X-Ca-Nonce": "valid-1"},
    )  # fmt: skip
    key = submitted["data"]["result_key"]
    queried = call(
        "/api/v1/bg-remove/query", "POST", body={"data": {"result_key": key}}, extra={"X-Ca-Nonce": "valid-2"}
    )
    assert queried["data"]["task_list"][0]["status"] == "WAITING"

    scenes = call(
        "/ai/image/background/generation/scene/query",
        "GET",
        query={"productTitle": "ceramic mug", "count": 3},
    )
    assert scenes["success"] is True and isinstance(scenes["data"], list)
    unknown = call(
        "/ai/image/background/generation", "POST", body={"modelNum": "nope", "imageBase64": picture}
    )
    assert unknown["resCode"] == 700

    cut = call(
        "/ai/image/cut/out", "POST", body={"imageBase64": _picture(160, 160), "backGroundType": "TRANSPARENT"}
    )
    assert cut["resCode"] in (200, 801)  # 801 only where `make models` has not installed the cut-out model
    if cut["resCode"] == 200:
        token = cut["data"]["imageUrl"].rstrip("/").rsplit("/", 1)[1]
        operation = schema["/jobs/results/signed/{token}/"]["GET"]
        case = operation.Case(path_parameters={"token": token})
        response = case.call(app=app)
        case.validate_response(response, checks=checks)
        assert response.status_code == 200

    erased = call(
        "/ai/image/removal", "POST",
        body={"image_Base64": _picture(512, 512, "PNG"), "object_remove_elements": [], "mask": "0 2048"},
    )  # fmt: skip
    assert erased["resCode"] in (200, 801)


# --- deeper: valid pictures, fuzzed parameters, engines stubbed ----------------------------------------
# Generated base64 almost never decodes, so the fuzzing above stops at the picture. This pass swaps a
# valid picture into every image field and stubs the engines (their own tests cover them), so the
# fuzzed parameters reach everything after the decode: masks, element types, sizes, placements, the
# search parameters and Filter, the job records and the answers.
deep_schema = schemathesis.openapi.from_dict(DOCUMENT)
deep_schema.config.generation.update(
    max_examples=max(5, MAX_EXAMPLES // 2), deterministic=True, database="none"
)
_IMAGE_FIELDS = {"imageBase64": (128, "JPEG"), "image_Base64": (512, "PNG"), "PicContent": (128, "JPEG")}


@pytest.fixture
def stubbed_engines(monkeypatch):
    import io

    from PIL import Image

    from processing import scene_library
    from processing.kinds import ItemOutcome
    from processing.kinds import scenes as scene_kind
    from processing.views import api_cutout, api_erase

    buffer = io.BytesIO()
    Image.new("RGBA", (64, 48), (10, 20, 30, 128)).save(buffer, "PNG")
    png = buffer.getvalue()

    def outcome(*args, hand_mask=None, **kwargs):
        metadata = {"elements": [], "mode": "mask" if hand_mask is not None else "types", "erased_pixels": 0}
        return ItemOutcome(
            width=64, height=48, score=0.9, metadata=metadata, file_bytes=png, content_type="image/png"
        )

    monkeypatch.setattr(api_cutout, "cutout_outcome", outcome)
    monkeypatch.setattr(api_erase, "erase_outcome", outcome)
    monkeypatch.setattr(scene_kind, "render_outcome", outcome)
    monkeypatch.setattr(scene_library, "cut_out", lambda image: image.convert("RGBA"))
    monkeypatch.setattr(scene_library, "image_signals", lambda image, cache_key=None: {})
    monkeypatch.setattr(scene_library, "image_category_probs", lambda image: (None, 3))


def _with_valid_pictures(container):
    if not isinstance(container, dict):
        return
    for name, (side, image_format) in _IMAGE_FIELDS.items():
        if isinstance(container.get(name), str):
            container[name] = _picture(side, side, image_format)


@deep_schema.parametrize()
@settings(max_examples=max(5, MAX_EXAMPLES // 2), deadline=None, suppress_health_check=list(HealthCheck))
def test_it_answers_fuzzed_parameters_on_valid_pictures_within_the_document(
    case, fuzz_token, stubbed_engines
):
    _with_valid_pictures(case.body)
    _with_valid_pictures(case.query)
    headers = {"X-Api-Token": fuzz_token}
    nonce = (case.headers or {}).get("X-Ca-Nonce")
    if nonce:
        headers["X-Ca-Nonce"] = f"{nonce[:100]}-{next(_nonces)}"
    response = case.call(app=WSGIHandler(), headers=headers)
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        (path, media_type)
        for path, operations in DOCUMENT["paths"].items()
        if "post" in operations and "requestBody" in operations["post"]
        for media_type in operations["post"]["requestBody"]["content"]
    ],
)
def test_it_answers_an_oversized_body_in_the_envelope(path, media_type, fuzz_token, settings):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is the API's error in its own envelope, not Django's 400 page."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    padding = "A" * 3000
    body = (
        {"data": {"task_list": [{"image": padding}], "result_key": padding}}
        if path.startswith("/api/v1/")
        else {}
    )
    body = body or {
        "imageBase64": padding,
        "image_Base64": padding,
        "PicContent": padding,
        "Action": "AddImage",
    }
    case = schema[path]["POST"].Case(body=body, media_type=media_type)
    response = case.call(
        app=WSGIHandler(), headers={"Authorization": f"APPCODE {fuzz_token}", "X-Ca-Nonce": path}
    )
    case.validate_response(response, checks=CHECKS)
    assert response.status_code in (200, 400), response.text[:300]


UNREADABLE = {
    "multipart without a boundary": (
        "",
        "multipart/form-data",
        b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n",
    ),
    "too many form fields": (
        "",
        "application/x-www-form-urlencoded",
        "&".join(f"f{n}=1" for n in range(1200)).encode(),
    ),
    "too many query fields": (
        "&".join(f"q{n}=1" for n in range(1200)),
        "application/x-www-form-urlencoded",
        b"a=1",
    ),
}


@pytest.mark.parametrize(
    "path",
    [path for path, operations in DOCUMENT["paths"].items() if "requestBody" in operations.get("post", {})],
)
@pytest.mark.parametrize("problem", UNREADABLE)
def test_it_answers_an_unreadable_request_in_the_envelope(path, problem, fuzz_token):
    """Bodies Django cannot parse are the API's own errors, in the document's envelopes and codes."""
    query, content_type, raw = UNREADABLE[problem]
    case = schema[path]["POST"].Case(query=query)
    response = case.call(
        app=WSGIHandler(),
        headers={
            "Authorization": f"APPCODE {fuzz_token}",
            "X-Ca-Nonce": problem,
            "Content-Type": content_type,
        },
        data=raw,
    )
    case.validate_response(response, checks=CHECKS)
    assert response.status_code in (200, 400), response.text[:300]


# --- odd JSON: what the generated bodies above never hold -------------------------------------------------------
# Schemathesis writes bodies with json.dumps: its numbers are small, its nesting shallow and its strings valid
# Unicode, so it never found the 500s a 5,000-digit number, an array nested 100,000 levels deep or a lone
# surrogate caused. This run takes each generated case and swaps one of its values (anywhere in the body, or a
# query parameter) for such raw JSON text, then holds the answer to the document like every other.
ODD_JSON = st.one_of(
    st.integers(min_value=4301, max_value=6000).map(lambda digits: "9" * digits),
    st.integers(min_value=4301, max_value=6000).map(lambda digits: "-1" + "0" * digits + ".5e3"),
    st.sampled_from([40, 1000, 5000, 100_000]).map(lambda depth: "[" * depth + "]" * depth),
    st.sampled_from([40, 5000, 100_000]).map(lambda depth: '{"a":' * depth + "0" + "}" * depth),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF).map(lambda half: json.dumps(f"x{half}y")),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e400", '"a\\u0000b"']),
)
_ODD = "<odd value>"


def _value_paths(value, path=()) -> list[tuple]:
    """Every place in a JSON value a client could put something: each key's value, each list item."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _value_paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _value_paths(child, (*path, index))
    return found


def _with_placeholder(body, path: tuple):
    if not path:
        return _ODD
    body = json.loads(json.dumps(body))
    target = body
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = _ODD
    return body


@schema.parametrize()
@schema.given(odd=ODD_JSON, where=st.integers(min_value=0, max_value=10_000))
@settings(max_examples=max(5, MAX_EXAMPLES // 2), deadline=None, suppress_health_check=list(HealthCheck))
def test_it_answers_odd_json_in_generated_requests_within_the_document(case, odd, where, fuzz_token):
    headers = {"Authorization": f"APPCODE {fuzz_token}", "X-Ca-Nonce": f"odd-{next(_nonces)}"}
    content = (case.operation.definition.raw.get("requestBody") or {}).get("content", {})
    if "application/json" in content:
        body = case.body if isinstance(case.body, dict) else {}
        paths = _value_paths(body) + [("odd",)]  # a key of its own, when the body has none to spare
        raw = json.dumps(_with_placeholder(body, paths[where % len(paths)])).replace(json.dumps(_ODD), odd)
        case.media_type = "application/json"
        response = case.call(
            app=WSGIHandler(), headers={**headers, "Content-Type": "application/json"}, data=raw.encode()
        )
    else:
        # No body to carry JSON: the odd text goes in a query parameter, where it is only a long string.
        query = dict(case.query or {})
        names = sorted(query) or ["odd"]
        query[names[where % len(names)]] = odd[:8000]
        case.query = query
        response = case.call(app=WSGIHandler(), headers=headers)
    case.validate_response(response, checks=CHECKS)
    assert isinstance(_json(response), dict), response.text[:300]
