"""processing/middleware.py: which dialect answers which path, and what it does with what goes wrong
around the views. The per-dialect behaviour seen by clients is in tests/test_compat_*.py."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from processing import api
from processing.middleware import ApiEnvelopeMiddleware


@pytest.mark.parametrize(
    ("path", "dialect"),
    [
        ("/ai/image/cut/out", "aidge"),
        ("/ai/anything/else", "aidge"),
        ("/api/v1/bg-remove/submit", "aliyun-async"),
        ("/api/v1/other", "aliyun-async"),
        ("/api/imagesearch", "image-search"),
        ("/api/imagesearch/x", "image-search"),
        ("/api/imagesearchx", "plain"),
        ("/api/openapi.json", "plain"),
        ("/jobs/results/signed/abc/", "plain"),
        ("/jobs/1/", None),
        ("/catalog/", None),
        ("/aim/", None),
        ("/", None),
    ],
)
def test_it_picks_the_dialect_by_path(rf, path, dialect):
    found = api.dialect_for(rf.get(path))
    assert (found.name if found else None) == dialect


@pytest.mark.parametrize(
    ("path", "status", "code_field", "code"),
    [
        ("/ai/image/cut/out", 200, "resCode", 700),
        ("/api/v1/bg-remove/query", 400, "code", "23500013"),
        ("/api/imagesearch", 400, "Code", "BadRequest"),
        ("/api/openapi.json", 400, "code", 400),
    ],
)
def test_it_answers_an_uncaught_problem_in_the_paths_dialect(rf, path, status, code_field, code):
    """An endpoint may raise the neutral problem instead of answering it: the dialect answers it."""
    request = rf.post(path)
    request.request_id = "0123456789abcdef"
    middleware = ApiEnvelopeMiddleware(lambda request: None)
    response = middleware.process_exception(request, api.ApiProblem(api.INVALID_INPUT, "Num is odd.", "Num"))
    body = json.loads(response.content)
    assert response.status_code == status and body[code_field] == code
    assert "Num is odd." in json.dumps(body) and "0123456789abcdef" in json.dumps(body)


def test_it_leaves_the_studio_pages_alone(rf, owner_client):
    """Only API paths are answered in an envelope: a page's 404 stays the studio's own page."""
    response = owner_client.get("/catalog/products/999999/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
    request = rf.get("/catalog/")
    assert ApiEnvelopeMiddleware(lambda request: None).process_exception(request, RuntimeError()) is None


def test_it_logs_an_unexpected_exception_and_answers_the_system_error(db, monkeypatch, caplog):
    """The traceback goes to the log (as Django's own handler would write it), not to the client."""
    from processing.views import api_search

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api_search.api, "authenticate", broken)
    response = Client(raise_request_exception=False).post("/api/imagesearch", {"Action": "SearchImageByPic"})
    body = response.json()
    assert response.status_code == 500 and body["Code"] == "UnknownException" and body["Message"]
    assert "secret internals" not in response.content.decode()
    assert any(record.exc_info and "secret internals" in str(record.exc_info[1]) for record in caplog.records)
