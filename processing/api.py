"""What every HTTP API endpoint shares: team tokens, rate limits, request ids and input parsing.

The endpoints speak the dialects of the hosted services they replace (Aidge, Aliyun), each with
its own envelope and codes; those live with the views. This module raises `ApiProblem`s with a
neutral `kind`, and each dialect maps kinds onto its own codes.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.filebased import FileBasedCache
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.signing import TimestampSigner
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import reverse
from django.utils.module_loading import import_string

from catalog.models import ApiToken, Team

from . import signing
from .engines.imageio import DecodedImage, ImageDecodeError, decode_image
from .fetch import FetchError, fetch_image, vet_url
from .kinds import ItemError, ItemOutcome
from .models import ApiNonce, Job, JobItem, Result

# Neutral problem kinds; each API dialect maps them to its own codes.
UNAUTHORIZED = "unauthorized"
RATE_LIMITED = "rate_limited"
INVALID_INPUT = "invalid_input"
MISSING_INPUT = "missing_input"
BAD_URL = "bad_url"
BAD_BASE64 = "bad_base64"
BAD_IMAGE = "bad_image"
BAD_IMAGE_SIZE = "bad_image_size"
BAD_FORMAT = "bad_format"
TOO_LARGE = "too_large"
NOT_FOUND = "not_found"
REPLAYED = "replayed"
MODEL_FAILED = "model_failed"
INTERNAL = "internal"
UNKNOWN_PATH = "unknown_path"  # no API at this path under a dialect's prefix
FORBIDDEN = "forbidden"  # HTTP 403 from around the views (CSRF on the paths that are no endpoint)
METHOD_NOT_ALLOWED = "method_not_allowed"


class ApiProblem(Exception):
    def __init__(self, kind: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field


def new_request_id(request: HttpRequest | None = None) -> str:
    """The request's own id (see project.requestid), so API answers and log lines match."""
    request_id = getattr(request, "request_id", None)
    return request_id or uuid.uuid4().hex


# --- the Aidge envelope, shared by every /ai/image/... endpoint -----------------------------------
AIDGE_CODES = {
    UNAUTHORIZED: (401, "unauthorized"),
    FORBIDDEN: (401, "unauthorized"),
    RATE_LIMITED: (501, "rate limit exceed"),
    MODEL_FAILED: (801, "model failed"),
    INTERNAL: (500, "system error"),
    # The seed has no code for these; like 401 they are about the call itself, not its content, so
    # they answer with the matching HTTP status too.
    UNKNOWN_PATH: (404, "api not found"),
    METHOD_NOT_ALLOWED: (405, "method not allowed"),
}
# resCodes answered with the same HTTP status; every other error answers HTTP 200, as the gateway does.
_AIDGE_HTTP_STATUSES = (401, 404, 405)


def aidge_response(
    request_id: str,
    *,
    data: dict | None = None,
    problem: ApiProblem | None = None,
    codes: dict[str, tuple[int, str]] | None = None,
) -> JsonResponse:
    """The Aidge envelope; `codes` adds an endpoint's own problem-kind → (resCode, label) entries."""
    if problem is None:
        code, message = 200, "success"
    else:
        code, label = {**AIDGE_CODES, **(codes or {})}.get(problem.kind, (700, "invalid input"))
        # 700's message names the offending field, as the seed promises.
        message = f"{label}: {problem.message}"
    body = {
        "data": data if data is not None else {},
        "requestId": request_id,
        "success": problem is None,
        "resCode": code,
        "resMessage": message,
        "code": "0" if problem is None else str(code),
        "request_id": request_id,
    }
    status = code if code in _AIDGE_HTTP_STATUSES else 200
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


def aidge_problem_response(request_id: str, problem: ApiProblem) -> JsonResponse:
    return aidge_response(request_id, problem=problem)


def plain_problem_response(request_id: str, problem: ApiProblem) -> JsonResponse:
    """API paths that belong to no hosted service (the OpenAPI document, signed result links)."""
    status = {
        UNKNOWN_PATH: 404,
        NOT_FOUND: 404,
        METHOD_NOT_ALLOWED: 405,
        UNAUTHORIZED: 401,
        FORBIDDEN: 403,
    }.get(problem.kind, 500 if problem.kind == INTERNAL else 400)
    body = {"success": False, "code": status, "message": problem.message, "requestId": request_id}
    return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})


# --- which dialect answers a request ----------------------------------------------------------------
@dataclass(frozen=True)
class Dialect:
    """One hosted service's way of answering, chosen by the request's path.

    `answer` names a `(request_id, ApiProblem) -> HttpResponse` function by its dotted path: the
    envelopes live with their views, and this module must not import the views (they import it)."""

    name: str
    prefixes: tuple[str, ...]
    answer: str
    label: str

    def matches(self, path: str) -> bool:
        return any(
            path.startswith(prefix)
            if prefix.endswith("/")
            else path == prefix or path.startswith(prefix + "/")
            for prefix in self.prefixes
        )

    def respond(self, request: HttpRequest, problem: ApiProblem) -> HttpResponse:
        return import_string(self.answer)(new_request_id(request), problem)


# First match wins: the narrower prefixes come first.
DIALECTS: tuple[Dialect, ...] = (
    Dialect("aliyun-async", ("/api/v1/",), "processing.views.api_cutout.aliyun_problem_response", "background-removal"),
    Dialect("image-search", ("/api/imagesearch",), "processing.views.api_search.search_problem_response", "image-search"),
    Dialect("aidge", ("/ai/", "/rest/"), "processing.api.aidge_problem_response", "Aidge"),
    Dialect("plain", ("/api/", "/jobs/results/signed/"), "processing.api.plain_problem_response", ""),
)  # fmt: skip
IMAGE_SEARCH_DIALECT = next(dialect for dialect in DIALECTS if dialect.name == "image-search")


def dialect_for(request: HttpRequest) -> Dialect | None:
    """The dialect that answers this request, or None for the studio's own pages."""
    path = request.path_info
    if path == "/" and (
        request.method not in ("GET", "HEAD")
        or "x-acs-action" in request.headers
        or query_has(request, "Action")
    ):
        # The Alibaba Cloud SDK's path (views/api_search.py `root`): only a browser's plain GET is the studio.
        return IMAGE_SEARCH_DIALECT
    return next((dialect for dialect in DIALECTS if dialect.matches(path)), None)


# --- authentication and limits ------------------------------------------------------------------
def authenticate(request: HttpRequest) -> ApiToken:
    """The request's team token, from whichever credential its client sends.

    - A token: `Authorization: APPCODE <token>` (Aliyun), `Bearer <token>`, `Token <token>`, `X-Api-Token`, or
      `x-acs-bearer-token` (the Alibaba Cloud SDK configured with `bearer_token`).
    - An access key's signature: `Authorization: ACS3-HMAC-SHA256 …` (the Alibaba Cloud SDK's default) or an
      RPC v2 `Signature` in the query string (its `signature_algorithm='v2'`).
    - A signature the open-platform gateway (views/api_iop.py) already verified, left on the request.
    """
    verified = getattr(request, "api_token", None)
    if verified is not None:
        return verified
    header = request.headers.get("Authorization", "").strip()
    if header.upper().startswith("ACS3-"):
        return _verify_acs3(request, header)
    if query_has(request, "Signature") and query_has(request, "AccessKeyId"):
        return _verify_rpc(request)
    raw = ""
    for prefix in ("APPCODE ", "Bearer ", "Token "):
        if header[: len(prefix)].lower() == prefix.lower():
            raw = header[len(prefix) :].strip()
            break
    raw = raw or request.headers.get("X-Api-Token", "").strip()
    raw = raw or request.headers.get("x-acs-bearer-token", "").strip()
    token = ApiToken.objects.authenticate(raw) if raw else None
    if token is None:
        raise ApiProblem(UNAUTHORIZED, "A valid team API token is required (Authorization: APPCODE <token>).")
    return token


# Why a signed request was refused; each dialect names these with its own codes.
SIGNATURE_MISSING = "missing"
SIGNATURE_MALFORMED = "malformed"
SIGNATURE_UNKNOWN_KEY = "unknown_key"
SIGNATURE_INACTIVE_KEY = "inactive_key"
SIGNATURE_MISMATCH = "mismatch"
SIGNATURE_EXPIRED = "expired"
SIGNATURE_REPLAYED = "replayed"
MAX_NONCE_LENGTH = 64


class SignatureProblem(ApiProblem):
    """A signed request that does not verify. Its kind stays UNAUTHORIZED (every dialect's 401 or 403);
    `reason` lets the signing dialects name the exact failure as their client libraries expect.
    Messages never contain a secret or a signature."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(UNAUTHORIZED, message)
        self.reason = reason


def _read_or_problem(read: Callable[[], object]) -> object:
    """Query string, form or body, with Django's refusals turned into the API's own errors, as
    `request_params` does: a signature check may need them before the view reads its parameters."""
    try:
        return read()
    except RequestDataTooBig:
        raise ApiProblem(TOO_LARGE, "The request body is too large for the image limit.") from None
    except (MultiPartParserError, SuspiciousOperation) as error:
        raise ApiProblem(INVALID_INPUT, f"The request could not be read ({error}).") from None


def query_has(request: HttpRequest, name: str) -> bool:
    try:
        return name in request.GET
    except SuspiciousOperation:  # too many fields: `request_params` answers it in the dialect's envelope
        return False


def _single_values(fields, where: str) -> dict[str, str]:
    """A signed request's fields, each once: a repeated field would leave values the signature
    (which sees one value per name, as the client libraries build it) does not cover."""
    values: dict[str, str] = {}
    for key, items in fields.lists():
        if len(items) != 1:
            raise SignatureProblem(SIGNATURE_MALFORMED, f"{key[:40]} appears more than once in the {where}.")
        values[key] = items[0]
    return values


def _is_json(request: HttpRequest) -> bool:
    return (request.content_type or "").startswith("application/json")


def _signing_token(access_key_id: str, field: str) -> ApiToken:
    if not access_key_id:
        raise SignatureProblem(SIGNATURE_MISSING, f"{field} is required.")
    token = ApiToken.objects.for_access_key(access_key_id.strip())
    if token is None:
        raise SignatureProblem(SIGNATURE_UNKNOWN_KEY, f"No access key {access_key_id[:40]!r} exists.")
    if token.revoked_at is not None:
        raise SignatureProblem(SIGNATURE_INACTIVE_KEY, f"The access key {access_key_id[:40]!r} was revoked.")
    return token


def _check_clock(moment: float) -> None:
    window = settings.API_SIGNATURE_MAX_SKEW_SECONDS
    drift = moment - time.time()
    if abs(drift) > window:
        side = "ahead of" if drift > 0 else "behind"
        raise SignatureProblem(
            SIGNATURE_EXPIRED,
            f"The request's timestamp is {abs(drift):.0f} s {side} the server's clock; "
            f"at most {window} s either way is accepted.",
        )


def _check_signature(token: ApiToken, compute: Callable[[str], str | set[str]], given: str) -> None:
    for secret in token.access_key_secrets():
        expected = compute(secret)
        candidates = expected if isinstance(expected, set) else {expected}
        # Every candidate is compared, so timing says nothing about which one came close.
        if any([signing.matches(candidate, given) for candidate in candidates]):
            return
    raise SignatureProblem(
        SIGNATURE_MISMATCH, "The signature does not match the request and the access key's secret."
    )


def _claim_nonce(token: ApiToken, scheme: str, nonce: str) -> None:
    nonce = nonce.strip()
    if not nonce:
        raise SignatureProblem(SIGNATURE_MISSING, "The request's nonce is required.")
    if len(nonce) > MAX_NONCE_LENGTH or not nonce.isprintable():
        raise SignatureProblem(
            SIGNATURE_MALFORMED, f"The nonce must be 1 to {MAX_NONCE_LENGTH} printable characters."
        )
    if not ApiNonce.objects.claim(token.team, f"{scheme}:{token.access_key_id}:{nonce}"):
        raise SignatureProblem(
            SIGNATURE_REPLAYED, "This request was already received; each one needs a new nonce."
        )


def _verify_acs3(request: HttpRequest, header: str) -> ApiToken:
    """ACS3-HMAC-SHA256, as `alibabacloud_tea_openapi.utils.Utils.get_authorization` signs it."""
    # The body is read before any refusal: a server that answers without reading it cannot keep the
    # connection, and a pooling client's next call on it would fail.
    body = _read_or_problem(lambda: request.body)
    try:
        authorization = signing.parse_acs3_authorization(header)
    except signing.SignatureFormatError as error:
        raise SignatureProblem(SIGNATURE_MALFORMED, str(error)) from None
    token = _signing_token(authorization.access_key_id, "Credential")
    signed = set(authorization.signed_headers)
    unsigned = [name for name in signing.ACS3_REQUIRED_HEADERS if name not in signed]
    unsigned += [name.lower() for name in request.headers if name.lower().startswith("x-acs-")]
    unsigned = sorted({name for name in unsigned if name not in signed})
    if unsigned:
        raise SignatureProblem(SIGNATURE_MALFORMED, f"SignedHeaders must include {', '.join(unsigned)}.")
    headers = {name: request.headers.get(name) for name in signed}
    absent = sorted(name for name, value in headers.items() if value is None)
    if absent:
        raise SignatureProblem(
            SIGNATURE_MALFORMED, f"Signed headers missing from the request: {', '.join(absent)}."
        )
    try:
        _check_clock(signing.parse_acs_timestamp(headers["x-acs-date"]))
    except signing.SignatureFormatError as error:
        raise SignatureProblem(SIGNATURE_MALFORMED, f"x-acs-date: {error}") from None
    query = _single_values(_read_or_problem(lambda: request.GET), "query string")
    canonical = signing.acs3_canonical_request(
        request.method or "POST",
        request.path,
        query,
        headers,
        signed,
        hashlib.sha256(body).hexdigest(),
    )
    _check_signature(token, lambda secret: signing.acs3_signature(secret, canonical), authorization.signature)
    _claim_nonce(token, "acs3", headers["x-acs-signature-nonce"])
    token.mark_used()
    return token


def _verify_rpc(request: HttpRequest) -> ApiToken:
    """RPC v2 (HMAC-SHA1 over the query and form fields), as `Utils.get_rpcsignature` signs it."""
    params = _single_values(_read_or_problem(lambda: request.GET), "query string")
    if _is_json(request):
        if _read_or_problem(lambda: request.body):
            raise SignatureProblem(
                SIGNATURE_MALFORMED,
                "An RPC signature covers the query and form fields; send the body as a form.",
            )
    else:
        # Form fields win over the query, as the SDK merges them when it signs.
        params.update(_single_values(_read_or_problem(lambda: request.POST), "form"))
    given = params.pop("Signature", "")
    token = _signing_token(params.get("AccessKeyId", ""), "AccessKeyId")
    missing = [name for name in ("SignatureNonce", "Timestamp", "SignatureMethod") if not params.get(name)]
    if missing or not given:
        raise SignatureProblem(SIGNATURE_MISSING, f"{', '.join(missing or ['Signature'])} is required.")
    if params["SignatureMethod"] != "HMAC-SHA1" or params.get("SignatureVersion", "1.0") != "1.0":
        raise SignatureProblem(
            SIGNATURE_MALFORMED, "Only SignatureMethod HMAC-SHA1, SignatureVersion 1.0 is supported."
        )
    try:
        _check_clock(signing.parse_acs_timestamp(params["Timestamp"]))
    except signing.SignatureFormatError as error:
        raise SignatureProblem(SIGNATURE_MALFORMED, f"Timestamp: {error}") from None
    method = request.method or "POST"
    _check_signature(token, lambda secret: signing.rpc_signature(secret, method, params), given)
    _claim_nonce(token, "rpc", params["SignatureNonce"])
    token.mark_used()
    return token


def carries_iop_sign(request: HttpRequest) -> bool:
    """Whether a call to the open-platform gateway is signed (`sign` in the query or the form)."""
    if "sign" in _read_or_problem(lambda: request.GET):
        return True
    return not _is_json(request) and "sign" in _read_or_problem(lambda: request.POST)


def verify_iop_signature(request: HttpRequest, api_path: str) -> ApiToken:
    """The open platform's `sign_method=sha256` sign, or Aidge's `sign_ver=v2`; `app_key` is the access-key id.

    With `sha256` the sign covers the API path and every query and form field, so the parameters must
    come as a form (or the query); a JSON body is only possible with `v2`, whose sign covers neither the
    path nor the body (see the README).
    """
    params = _single_values(_read_or_problem(lambda: request.GET), "query string")
    if _is_json(request):
        _read_or_problem(lambda: request.body)  # read before any refusal, so the connection stays usable
    else:
        params.update(_single_values(_read_or_problem(lambda: request.POST), "form"))
    given = params.get("sign", "").strip().upper()
    token = _signing_token(params.get("app_key", ""), "app_key")
    missing = [name for name in ("timestamp", "sign_method") if not params.get(name)]
    if missing:
        raise SignatureProblem(SIGNATURE_MISSING, f"{', '.join(missing)} is required.")
    if params["sign_method"].lower() != "sha256":
        raise SignatureProblem(SIGNATURE_MALFORMED, "sign_method must be sha256.")
    try:
        _check_clock(signing.parse_iop_timestamp(params["timestamp"]))
    except signing.SignatureFormatError as error:
        raise SignatureProblem(SIGNATURE_MALFORMED, str(error)) from None
    version = params.get("sign_ver", "")
    if version == "v2":
        timestamp = params["timestamp"]
        _check_signature(token, lambda secret: signing.aidge_v2_signature(secret, timestamp), given)
        # The v2 sign is a function of the timestamp alone: each timestamp signs one request.
        _claim_nonce(token, "iop-v2", timestamp)
    elif version:
        raise SignatureProblem(SIGNATURE_MALFORMED, "sign_ver must be v2 or left out.")
    else:
        if _is_json(request) and _read_or_problem(lambda: request.body):
            raise SignatureProblem(
                SIGNATURE_MALFORMED,
                "The sha256 sign covers form fields only; send the parameters as a form, or use sign_ver=v2.",
            )
        _check_signature(token, lambda secret: signing.iop_signatures(secret, api_path, params), given)
        # The sign covers the timestamp and every parameter: the same sign twice is the same request again.
        _claim_nonce(token, "iop", given)
    token.mark_used()
    return token


@contextmanager
def _counter_lock() -> Iterator[None]:
    """The file cache's incr is a read then a write: web processes counting a burst at once lose
    increments and let it through (12 at once counted 3). An exclusive lock makes the count exact;
    Redis and the in-process cache count atomically on their own."""
    backend = caches["default"]
    if not isinstance(backend, FileBasedCache):
        yield
        return
    os.makedirs(backend._dir, exist_ok=True)
    with open(os.path.join(backend._dir, "rate-limit.lock"), "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_rate_limit(team: Team, now: float | None = None) -> None:
    """A fixed one-second window per team, counted in the shared cache."""
    limit = team.api_rate_limit or settings.API_RATE_LIMIT_QPS
    second = int(now if now is not None else time.time())
    key = f"api-rate:{team.pk}:{second}"
    with _counter_lock():
        cache.add(key, 0, timeout=5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=5)
            count = 1
    if count > limit:
        raise ApiProblem(RATE_LIMITED, f"Rate limit of {limit} requests per second exceeded; retry shortly.")


# --- JSON bodies ---------------------------------------------------------------------------------
# No seed's body nests deeper than 4 levels ({"data": {"task_list": [{"image": ...}]}}); anything far
# deeper is an attack on whatever walks it next (JSON fields, logs, the job record).
MAX_JSON_DEPTH = 32
# Text no database column holds: a lone UTF-16 half (JSON's "\ud800" escape decodes to one; SQLite and
# every encoder refuse it) and NUL (PostgreSQL refuses it in text; JSON's "\u0000", a form's %00).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _unstorable(text: str) -> str:
    """What is wrong with the text, or "" when a database can store it."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return ""
    return "a NUL character" if found.group() == "\x00" else "a lone UTF-16 surrogate (such as \\ud800)"


def _refuse_json_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:20]}... is out of range")
    return number


def parse_json(raw: bytes | str, what: str = "The request body") -> object:
    """A JSON text as a client sent it, or the dialect's invalid-input error, never a server error.

    `json.loads` raises more than `JSONDecodeError`: a number of more than 4300 digits is Python's
    integer-string limit (a plain `ValueError`) and deep nesting is a `RecursionError`. NaN,
    Infinity and numbers beyond a float are not JSON numbers either. The result is then walked
    (without recursion) for nesting and lone surrogates, so whatever the views do next sees text
    that every database, encoder and log can hold."""
    try:
        value = json.loads(raw, parse_constant=_refuse_json_constant, parse_float=_finite_float)
    except RecursionError:
        raise ApiProblem(INVALID_INPUT, f"{what} is nested deeper than {MAX_JSON_DEPTH} levels.") from None
    except json.JSONDecodeError as error:
        raise ApiProblem(INVALID_INPUT, f"{what} is not valid JSON ({error.msg}).") from None
    except UnicodeDecodeError:
        raise ApiProblem(INVALID_INPUT, f"{what} is not valid UTF-8.") from None
    except ValueError as error:
        reason = "a number has too many digits" if "digits" in str(error) else str(error)
        raise ApiProblem(INVALID_INPUT, f"{what} is not valid JSON ({reason}).") from None
    check_json_value(value, what)
    return value


def check_json_value(value: object, what: str = "The request body") -> None:
    """Refuse nesting deeper than MAX_JSON_DEPTH and strings (keys too) holding a lone surrogate or NUL,
    naming the field as the seeds' invalid-input errors do."""
    pending: list[tuple[object, str, int]] = [(value, "", 1)]
    while pending:
        item, path, depth = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise ApiProblem(
                INVALID_INPUT, f"{path or what} is nested deeper than {MAX_JSON_DEPTH} levels.", path
            )
        if isinstance(item, str):
            if problem := _unstorable(item):
                raise ApiProblem(INVALID_INPUT, f"{path or what} holds {problem}, which is not text.", path)
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                if problem := _unstorable(key):
                    where = f" in {path}" if path else ""
                    raise ApiProblem(INVALID_INPUT, f"A field name{where} holds {problem}.", path)
                pending.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            pending.extend((child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item))


# --- parameters ---------------------------------------------------------------------------------
def request_params(request: HttpRequest) -> dict:
    """Query string, form fields and a JSON body, merged; later sources win."""
    try:
        params: dict = {key: request.GET.get(key) for key in request.GET}
        if request.method == "POST":
            content_type = request.content_type or ""
            if content_type.startswith("application/json"):
                body = parse_json(request.body or b"{}")
                if not isinstance(body, dict):
                    raise ApiProblem(INVALID_INPUT, "The JSON body must be an object.")
                params.update(body)
            else:
                params.update({key: request.POST.get(key) for key in request.POST})
        # A query string or form can carry %00 too (the JSON body was checked as it was parsed).
        check_json_value(params, "The request")
    except RequestDataTooBig:
        raise ApiProblem(TOO_LARGE, "The request body is too large for the image limit.") from None
    except (MultiPartParserError, SuspiciousOperation) as error:
        # A broken multipart body, too many fields: the API's own error, not Django's HTML 400 page.
        raise ApiProblem(INVALID_INPUT, f"The request could not be read ({error}).") from None
    return params


def int_param(params: dict, name: str, low: int, high: int, *, required: bool = False) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ApiProblem(MISSING_INPUT, f"{name} is required.", name)
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ApiProblem(INVALID_INPUT, f"{name} must be an integer.", name) from None
    if not low <= number <= high:
        raise ApiProblem(INVALID_INPUT, f"{name} must be between {low} and {high}.", name)
    return number


def string_param(value: object, field: str) -> str | None:
    """A parameter that must be text when given (a JSON body may send numbers, lists or objects)."""
    if value is None or isinstance(value, str):
        return value
    raise ApiProblem(INVALID_INPUT, f"{field} must be a string.", field)


def decode_base64_image(value: str, field: str, max_bytes: int) -> bytes:
    text = value.strip()
    if text.startswith("data:") and "," in text[:100]:
        text = text.split(",", 1)[1]
    if len(text) > max_bytes * 4 // 3 + 8:
        raise ApiProblem(TOO_LARGE, f"{field} is larger than {max_bytes // (1024 * 1024)} MB.", field)
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ApiProblem(BAD_BASE64, f"{field} is not valid base64.", field) from None


def load_image_input(
    *,
    base64_value: str | None,
    url_value: str | None,
    base64_field: str,
    url_field: str,
    min_side: int,
    max_side: int,
    formats: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "BMP"),
    max_bytes: int | None = None,
    prefer: str = "base64",
) -> DecodedImage:
    """One image from base64 or a URL; each seed says which wins when both are given
    (background removal: base64; elements removal: the URL). The bytes are decoded safely."""
    max_bytes = max_bytes or settings.API_MAX_IMAGE_BYTES
    # A JSON body can carry anything: only strings are image inputs.
    base64_value = string_param(base64_value, base64_field)
    url_value = string_param(url_value, url_field)
    if url_value and (prefer == "url" or not base64_value):
        data, field = fetch_url(url_value, url_field, max_bytes), url_field
    elif base64_value:
        data, field = decode_base64_image(base64_value, base64_field, max_bytes), base64_field
    else:
        raise ApiProblem(MISSING_INPUT, f"{url_field} or {base64_field} is required.", url_field)
    if len(data) > max_bytes:
        raise ApiProblem(
            TOO_LARGE, f"{field}: the image is larger than {max_bytes // (1024 * 1024)} MB.", field
        )
    return decode_with_limits(data, field, min_side=min_side, max_side=max_side, formats=formats)


def fetch_url(url: str, field: str, max_bytes: int) -> bytes:
    try:
        return fetch_image(
            str(url),
            max_bytes=max_bytes,
            timeout=settings.IMAGE_FETCH_TIMEOUT_SECONDS,
            max_redirects=settings.IMAGE_FETCH_MAX_REDIRECTS,
            allowed_hosts=settings.IMAGE_FETCH_ALLOWED_HOSTS,
        ).data
    except FetchError as error:
        kind = TOO_LARGE if error.code == "too_large" else BAD_URL
        raise ApiProblem(kind, f"{field}: {error.message}", field) from None


def check_url(url: str, field: str) -> None:
    try:
        vet_url(url, allowed_hosts=settings.IMAGE_FETCH_ALLOWED_HOSTS)
    except FetchError as error:
        raise ApiProblem(BAD_URL, f"{field}: {error.message}", field) from None


def decode_with_limits(
    data: bytes, field: str, *, min_side: int, max_side: int, formats: tuple[str, ...]
) -> DecodedImage:
    try:
        return decode_image(
            data,
            allowed_formats=formats,
            min_side=min_side,
            max_side=max_side,
            max_pixels=max_side * max_side,
        )
    except ImageDecodeError as error:
        kind = {
            "too_small": BAD_IMAGE_SIZE,
            "too_large": BAD_IMAGE_SIZE,
            "too_many_pixels": BAD_IMAGE_SIZE,
            "unsupported_format": BAD_FORMAT,
        }.get(error.code, BAD_IMAGE)
        raise ApiProblem(kind, f"{field}: {error.message}", field) from None


# --- synchronous endpoints ----------------------------------------------------------------------
def input_source(params: dict, base64_field: str, url_field: str) -> str:
    """How the job list names an API input: the URL, or just the base64 field's name."""
    return base64_field if params.get(base64_field) else str(params.get(url_field))[:255]


def run_sync_job(
    *,
    team: Team,
    kind: str,
    source_name: str,
    job_params: dict,
    item_params: dict,
    request_id: str,
    compute: Callable[[], ItemOutcome],
) -> Result:
    """A synchronous call is recorded like any job: one item, run in this request, same states.

    Each model run holds hundreds of megabytes, so the threads of one web process take turns
    (`SYNC_ENGINE_CONCURRENCY` at a time) instead of all running at once: a burst of eight
    concurrent cut-outs in one gunicorn process reached 3 GB. A call that waits too long for its
    turn gets the dialect's rate-limit answer, before anything is recorded.
    """
    slots = _engine_slots()
    if not slots.acquire(timeout=settings.SYNC_ENGINE_WAIT_SECONDS):
        raise ApiProblem(RATE_LIMITED, "The image engines are busy. Try again shortly.")
    try:
        return _run_sync_job(
            team=team,
            kind=kind,
            source_name=source_name,
            job_params=job_params,
            item_params=item_params,
            request_id=request_id,
            compute=compute,
        )
    finally:
        slots.release()


_slots_lock = threading.Lock()
_slots: threading.BoundedSemaphore | None = None


def _engine_slots() -> threading.BoundedSemaphore:
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = threading.BoundedSemaphore(settings.SYNC_ENGINE_CONCURRENCY)
        return _slots


def _run_sync_job(
    *,
    team: Team,
    kind: str,
    source_name: str,
    job_params: dict,
    item_params: dict,
    request_id: str,
    compute: Callable[[], ItemOutcome],
) -> Result:
    job = Job.objects.create_with_items(
        team=team,
        kind=kind,
        items=[JobItem(source_name=source_name[:255], params={"request_id": request_id, **item_params})],
        params={**job_params, "source": "api", "request_id": request_id},
        enqueue=False,
    )
    try:
        return job.run_inline(compute)
    except ItemError as error:
        raise ApiProblem(MODEL_FAILED, error.message) from None


# --- signed result URLs -------------------------------------------------------------------------
_SIGNER_SALT = "vitrine.result-url"


def signed_result_path(result_id: int) -> str:
    token = TimestampSigner(salt=_SIGNER_SALT).sign(str(result_id))
    return reverse("processing:signed_result", args=[token])


def signed_result_url(request: HttpRequest, result_id: int) -> str:
    return request.build_absolute_uri(signed_result_path(result_id))


def result_image_data(request: HttpRequest, result: Result) -> dict:
    """The `data` fields every Aidge-style image endpoint returns for its result."""
    return {
        "imageUrl": signed_result_url(request, result.pk),
        "width": result.width,
        "height": result.height,
        "usage": 1,
    }


def unsign_result_token(token: str) -> int:
    """The result id in a signed URL token; raises BadSignature or SignatureExpired."""
    value = TimestampSigner(salt=_SIGNER_SALT).unsign(token, max_age=settings.SIGNED_URL_MAX_AGE)
    return int(value)
