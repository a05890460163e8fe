"""Access keys and request signatures, checked against the client libraries' own signer functions.

Vitrine's signature code (processing/signing.py) is written from the libraries; these tests feed random
requests to both, the libraries' functions (`alibabacloud_tea_openapi.utils.Utils.get_authorization` and
`get_rpcsignature`, `lazop_sdk.sign`) and ours, and ask for the same signature. The token page, the
derivation of secrets and the refusals are checked here too; the libraries themselves, driven against a live
server, are in tests/test_real_clients.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime

import pytest
from alibabacloud_tea_openapi.utils import Utils
from darabonba.request import DaraRequest
from django.db import connection
from django.test import Client
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.models import ApiToken, derive_access_key_secret
from processing import signing
from project.logredact import SignatureRedactingFilter, redact
from tests.conftest import client_for
from tests.test_real_clients import import_lazop

# Keys like the SDKs' (ASCII names); values anything a merchant's data holds, spaces, '~', '*' and CJK included.
KEYS = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="&=#"), min_size=1
)
VALUES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
PARAMS = st.dictionaries(KEYS, VALUES, max_size=8)


# --- the signatures match the libraries' own ------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(query=PARAMS, body=st.binary(max_size=200), action=st.sampled_from(["AddImage", "SearchImageByPic"]))
def test_it_computes_acs3_as_the_sdk_does(query, body, action):
    request = DaraRequest()
    request.method, request.pathname, request.query = "POST", "/", dict(query)
    request.headers = {
        "host": "127.0.0.1:8000",
        "x-acs-action": action,
        "x-acs-date": "2026-01-31T08:00:00Z",
        "x-acs-signature-nonce": "n-1",
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        "content-type": "application/x-www-form-urlencoded",
        "user-agent": " AlibabaCloud (Linux) ",
    }
    payload = hashlib.sha256(body).hexdigest()
    header = Utils.get_authorization(request, "ACS3-HMAC-SHA256", payload, "VTAKEXAMPLE", "s3cret-Ü")
    parsed = signing.parse_acs3_authorization(header)
    headers = {name: request.headers[name] for name in parsed.signed_headers}
    canonical = signing.acs3_canonical_request("POST", "/", query, headers, parsed.signed_headers, payload)
    assert parsed.access_key_id == "VTAKEXAMPLE"
    assert signing.acs3_signature("s3cret-Ü", canonical) == parsed.signature


@settings(max_examples=60, deadline=None)
@given(params=PARAMS, method=st.sampled_from(["POST", "GET"]))
def test_it_computes_rpc_v2_as_the_sdk_does(params, method):
    ours = signing.rpc_signature("s3cret~*", method, {**params, "Signature": "ignored"})
    params.pop("Signature", None)
    assert ours == Utils.get_rpcsignature(params, method, "s3cret~*")


@settings(max_examples=60, deadline=None)
@given(params=PARAMS)
def test_it_computes_the_open_platform_sign_as_lazop_does(params):
    lazop = import_lazop()
    params = {key: value for key, value in params.items() if key != "sign"}
    assert lazop.sign("s3cret", "/ai/image/cut/out", params) in signing.iop_signatures(
        "s3cret", "/ai/image/cut/out", params
    )


def test_it_accepts_the_java_clients_habit_of_skipping_empty_values():
    """The seed's sample adds `imageBase64` empty; the Java IopClient leaves empty values out of its sign."""
    params = {
        "app_key": "VTAK1",
        "timestamp": "1700000000000",
        "backGroundType": "WHITE_BACKGROUND",
        "imageBase64": "",
    }
    java = "/ai/image/cut/out" + "".join(f"{k}{v}" for k, v in sorted(params.items()) if v)
    java_sign = signing._hmac_sha256_upper("s3cret", java)
    assert java_sign in signing.iop_signatures("s3cret", "/ai/image/cut/out", params)


def test_it_computes_aidges_v2_sign_as_its_samples_do():
    import hmac

    secret, timestamp = "s3cret", "1700000000000"
    sample = hmac.new(secret.encode(), (secret + timestamp).encode(), hashlib.sha256).hexdigest().upper()
    assert signing.aidge_v2_signature(secret, timestamp) == sample


def test_it_reads_the_timestamps_of_both_families():
    assert (
        signing.parse_acs_timestamp("2026-01-31T08:00:00Z")
        == datetime(2026, 1, 31, 8, tzinfo=UTC).timestamp()
    )
    assert signing.parse_iop_timestamp("1700000000000") == 1_700_000_000
    assert signing.parse_iop_timestamp("1700000000") == 1_700_000_000
    for bad in ("2026-01-31 08:00:00", "yesterday", ""):
        with pytest.raises(signing.SignatureFormatError):
            signing.parse_acs_timestamp(bad)
    for bad in ("1e12", "-5", "", "12345678901234567"):
        with pytest.raises(signing.SignatureFormatError):
            signing.parse_iop_timestamp(bad)


def test_it_refuses_authorization_headers_it_cannot_read():
    for bad in ("ACS3-HMAC-SM3 Credential=a,SignedHeaders=host,Signature=x", "ACS3-HMAC-SHA256 Credential=a"):
        with pytest.raises(signing.SignatureFormatError):
            signing.parse_acs3_authorization(bad)


# --- access keys ---------------------------------------------------------------------------------------
def test_it_shows_the_access_key_and_its_secret_once_and_stores_neither_secret(team, owner):
    client = client_for(owner)
    client.post(reverse("catalog:token_create"), {"name": "ERP sync"})
    page = client.get(reverse("catalog:team_settings")).content.decode()
    token = ApiToken.objects.get(team=team)
    key_id = page.split('id="new-access-key-id">')[1].split("<")[0]
    secret = page.split('id="new-access-key-secret">')[1].split("<")[0]
    raw = page.split('id="new-token">')[1].split("<")[0]
    assert key_id == token.access_key_id and key_id.startswith("VTAK") and len(key_id) == 20
    assert secret == token.access_key_secret() and len(secret) >= 40
    # Neither secret is anywhere in the database row, in any form we could have written it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM catalog_apitoken WHERE id = %s", [token.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    assert secret not in row and raw not in row
    again = client.get(reverse("catalog:team_settings")).content.decode()
    assert secret not in again and raw not in again and key_id in again  # the id stays listed


def test_it_derives_secrets_from_the_server_key_and_honours_its_fallbacks(team, settings):
    token, _raw = ApiToken.objects.create_token(team, "sdk", None)
    old = token.access_key_secret()
    assert old == derive_access_key_secret(token.access_key_id, settings.SECRET_KEY)
    assert old != derive_access_key_secret(token.access_key_id, settings.SECRET_KEY + "x")
    other, _ = ApiToken.objects.create_token(team, "another", None)
    assert other.access_key_secret() != old
    previous_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-rotated-key-" * 4, [previous_key]
    assert token.access_key_secret() != old and token.access_key_secrets() == [token.access_key_secret(), old]


def test_it_keeps_tokens_made_before_access_keys_working(team):
    token, raw = ApiToken.objects.create_token(team, "legacy", None)
    ApiToken.objects.filter(pk=token.pk).update(access_key_id=None)
    token.refresh_from_db()
    assert token.access_key_secrets() == []
    answer = Client().post(
        "/api/imagesearch",
        {"Action": "DeleteImage", "InstanceName": "none"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert (
        answer.status_code == 400 and answer.json()["Code"] == "InvalidInstance"
    )  # authenticated, then refused


# --- refusals through the Django test client (the libraries' own refusals are in test_real_clients) ----------
def _acs3_headers(
    token: ApiToken, secret: str, body: bytes, *, date: str | None = None, nonce: str = "n-1"
) -> dict:
    headers = {
        "host": "testserver",
        "x-acs-action": "DeleteImage",
        "x-acs-version": "2020-12-14",
        "x-acs-date": date or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        "content-type": "application/x-www-form-urlencoded",
    }
    request = DaraRequest()
    request.method, request.pathname, request.query, request.headers = "POST", "/", {}, headers
    headers["Authorization"] = Utils.get_authorization(
        request, "ACS3-HMAC-SHA256", hashlib.sha256(body).hexdigest(), token.access_key_id, secret
    )
    return {name: value for name, value in headers.items() if name != "content-type"}


def test_it_needs_the_nonce_date_and_body_hash_signed(team):
    token, _raw = ApiToken.objects.create_token(team, "sdk", None)
    body = b"InstanceName=none&ProductId=P1"
    headers = _acs3_headers(token, token.access_key_secret(), body)
    signed_without_nonce = headers["Authorization"].replace("x-acs-signature-nonce;", "")
    answer = Client().post(
        "/",
        body,
        content_type="application/x-www-form-urlencoded",
        headers={**headers, "Authorization": signed_without_nonce},
    )
    assert answer.status_code == 400 and answer.json()["Code"] == "IncompleteSignature"
    assert "x-acs-signature-nonce" in answer.json()["Message"]
    good = Client().post("/", body, content_type="application/x-www-form-urlencoded", headers=headers)
    assert (
        good.status_code == 400 and good.json()["Code"] == "InvalidInstance"
    )  # verified, then the seed's error


def test_it_never_logs_a_secret_or_a_signature(team, caplog):
    token, _raw = ApiToken.objects.create_token(team, "sdk", None)
    body = b"InstanceName=none&ProductId=P1"
    caplog.set_level(logging.DEBUG)
    headers = _acs3_headers(token, "a-wrong-secret", body)
    Client().post("/", body, content_type="application/x-www-form-urlencoded", headers=headers)
    signature = headers["Authorization"].rsplit("Signature=", 1)[1]
    assert signature not in caplog.text and token.access_key_secret() not in caplog.text
    line = '"POST /?Action=AddImage&Signature=G3rERSIgXO%3D&AccessKeyId=VTAK HTTP/1.1" 200'
    assert redact(line) == '"POST /?Action=AddImage&Signature=[redacted]&AccessKeyId=VTAK HTTP/1.1" 200'
    record = logging.LogRecord(
        "django.server", logging.INFO, __file__, 1, '"%s"', ("GET /rest/x?sign=ABC&a=1",), None
    )
    SignatureRedactingFilter().filter(record)
    assert record.getMessage() == '"GET /rest/x?sign=[redacted]&a=1"'


def test_it_keeps_the_root_page_for_browsers_and_takes_api_posts_without_csrf(owner, team):
    browser = client_for(owner)
    answer = browser.get("/")
    assert answer.status_code == 302 and answer["Location"] == reverse("catalog:product_list")
    strict = Client(enforce_csrf_checks=True)
    answer = strict.post("/", {"InstanceName": "x"})
    # The API's refusal in its envelope, not Django's CSRF page: a session never authenticates the API.
    assert answer.status_code == 403 and answer.json()["Code"] == "NoPermission" and answer.json()["Message"]
    _token, raw = ApiToken.objects.create_token(team, "curl", owner)
    answer = strict.post(
        "/?Action=DeleteImage", {"InstanceName": "x"}, headers={"Authorization": f"APPCODE {raw}"}
    )
    assert answer.status_code == 400 and answer.json()["Code"] == "InvalidInstance"


def test_it_refuses_an_expired_or_far_future_iop_timestamp_in_the_gateways_shape(team, settings):
    lazop = import_lazop()
    token, _raw = ApiToken.objects.create_token(team, "iop", None)
    settings.API_SIGNATURE_MAX_SKEW_SECONDS = 60
    for shift in (-120, 120):
        params = {
            "app_key": token.access_key_id,
            "sign_method": "sha256",
            "timestamp": str(int((time.time() + shift) * 1000)),
            "backGroundType": "WHITE_BACKGROUND",
        }
        params["sign"] = lazop.sign(token.access_key_secret(), "/ai/image/cut/out", params)
        answer = Client().post("/rest/ai/image/cut/out", params)
        body = answer.json()
        assert answer.status_code == 401 and body["code"] == "InvalidTimestamp" and body["type"] == "ISV"
        assert body["success"] is False and body["requestId"] == answer["X-Request-ID"]
        assert ("behind" if shift < 0 else "ahead of") in body["message"]


def test_it_refuses_a_json_body_under_the_sha256_sign(team):
    lazop = import_lazop()
    token, _raw = ApiToken.objects.create_token(team, "iop", None)
    query = {
        "app_key": token.access_key_id,
        "sign_method": "sha256",
        "timestamp": str(int(time.time() * 1000)),
    }
    query["sign"] = lazop.sign(token.access_key_secret(), "/ai/image/cut/out", query)
    answer = Client().post(
        "/rest/ai/image/cut/out?" + "&".join(f"{k}={v}" for k, v in query.items()),
        json.dumps({"backGroundType": "TRANSPARENT"}),
        content_type="application/json",
    )
    assert answer.status_code == 401 and answer.json()["code"] == "IncompleteSignature"
    assert "sign_ver=v2" in answer.json()["message"]
