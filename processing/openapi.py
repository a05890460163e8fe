"""The OpenAPI document of the HTTP API, served at `/api/openapi.json`.

The document is written by hand in `processing/openapi.json` (versioned with the code, its
`info.version` bumped on every change of the API). tests/test_openapi.py fails when an API URL
pattern is missing from it and fuzzes every operation against it with schemathesis.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")


@cache
def document_bytes() -> bytes:
    # Parsed once to fail loudly on a broken file, then served byte for byte.
    raw = DOCUMENT_PATH.read_bytes()
    json.loads(raw)
    return raw


def load_document() -> dict:
    return json.loads(document_bytes())


@require_GET
def openapi_document(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(document_bytes(), content_type="application/json")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response
