"""A refused request body must not break the client's kept-alive connection (gunicorn, as in production).

Client libraries pool connections: the Alibaba Cloud SDK's next call on the connection of a refused 81 KB
body failed with RemoteDisconnected, and after a refused 15 MB upload the next request found the connection
closed. gunicorn reads at most 64 KB of a body the application left unread and otherwise closes the
connection it had just announced as kept alive; project/keepalive.py reads the rest first. These tests talk
to a real gunicorn (tests/servers.py) over one `http.client` connection, as a pooling client does.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

MB = 1024 * 1024

CREATE_TOKEN = """
from django.contrib.auth import get_user_model
from catalog.models import ApiToken, SearchInstance, Team
owner = get_user_model().objects.create_user("kira", password="a-long-test-password-42")
team = Team.create_with_owner("Kira's shop", owner)
SearchInstance.objects.create(team=team, name="kirashop")
print(ApiToken.objects.create_token(team, "keep-alive", owner)[1])
"""


@pytest.fixture
def server(make_stack):
    stack = make_stack()
    url = urlsplit(stack.start_web())
    token = stack.manage("shell", "-c", CREATE_TOKEN).strip().splitlines()[-1]
    return url.hostname, url.port, token


class PooledConnection:
    """One HTTP/1.1 connection reused for every request; it fails if the server dropped it."""

    def __init__(self, host: str, port: int) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=120)
        self.connection.connect()
        self.local_port = self.connection.sock.getsockname()[1]

    def request(self, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, dict, dict]:
        self.connection.request(method, path, body=body or None, headers=headers)
        response = self.connection.getresponse()
        payload = json.loads(response.read())
        assert not response.will_close, (path, response.getheaders())
        # Still the same socket: http.client would silently reconnect if the server had closed it.
        assert self.connection.sock is not None and self.connection.sock.getsockname()[1] == self.local_port
        return response.status, dict(response.getheaders()), payload

    def close(self) -> None:
        self.connection.close()


def test_it_keeps_the_connection_after_refusing_bodies_it_did_not_read(server):
    """A 15 MB upload over the API's body limit, an 81 KB body with a wrong token, a body without any token,
    each followed by another request on the same connection."""
    host, port, token = server
    client = PooledConnection(host, port)
    try:
        # 15 MB: over DATA_UPLOAD_MAX_MEMORY_SIZE, refused before Django reads it.
        form = b"backGroundType=TRANSPARENT&imageBase64=" + b"A" * (15 * MB)
        status, headers, body = client.request(
            "POST", "/ai/image/cut/out", form,
            **{"Authorization": f"Bearer {token}", "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert status == 200 and body["resCode"] == 700 and "too large" in body["resMessage"]
        assert headers["Connection"] == "keep-alive"
        status, _headers, document = client.request("GET", "/api/openapi.json")
        assert status == 200 and document["openapi"].startswith("3.")

        # 81 KB with a wrong token: the image-search answer comes before the body is read.
        search = json.dumps(
            {"Action": "SearchImageByPic", "InstanceName": "kirashop", "PicContent": "A" * 81_000}
        )
        status, _headers, body = client.request(
            "POST", "/api/imagesearch", search.encode(),
            **{"Authorization": "APPCODE vt_wrong", "Content-Type": "application/json"},
        )  # fmt: skip
        assert (status, body["Code"], body["Message"]) == (403, "NoPermission", body["Msg"])
        status, _headers, body = client.request(
            "POST", "/api/imagesearch", b"Action=DeleteImage&InstanceName=kirashop&ProductId=none",
            **{"Authorization": f"APPCODE {token}", "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert status == 200 and body["Success"] is True

        # 15 MB of JSON to the asynchronous API without a token, then a query that reaches the database.
        tasks = json.dumps({"data": {"task_list": [{"image": "http://93.184.216.34/" + "a" * (15 * MB)}]}})
        status, _headers, body = client.request(
            "POST", "/api/v1/bg-remove/submit", tasks.encode(), **{"Content-Type": "application/json"}
        )
        assert (status, body["code"]) == (401, "23500001")
        status, _headers, body = client.request(
            "POST", "/api/v1/bg-remove/query", b'{"data": {"result_key": "none"}}',
            **{"Authorization": f"APPCODE {token}", "X-Ca-Nonce": "n-1", "Content-Type": "application/json"},
        )  # fmt: skip
        assert (status, body["code"]) == (400, "23500008")
    finally:
        client.close()


def test_it_answers_every_api_prefixs_unknown_paths_and_methods_in_json(server):
    """Through gunicorn too: no API path answers HTML, whatever the method (each prefix's 404 and 405)."""
    host, port, token = server
    client = PooledConnection(host, port)
    auth = {"Authorization": f"APPCODE {token}", "Content-Type": "application/json"}
    try:
        for method, path, status, key, code in [
            ("POST", "/ai/image/nothing", 404, "resCode", 404),
            ("DELETE", "/ai/image/cut/out", 405, "resCode", 405),
            ("GET", "/api/v1/bg-remove/submit", 405, "code", "23500002"),
            ("POST", "/api/v1/bg-remove/nothing", 404, "code", "23500002"),
            ("PUT", "/api/imagesearch", 405, "Code", "BadRequest"),
            ("GET", "/api/imagesearch/nothing", 404, "Code", "UnsupportedOperationType"),
            ("POST", "/api/openapi.json", 403, "code", 403),  # the CSRF check of a path that is no endpoint
            ("GET", "/api/nothing", 404, "code", 404),
            ("GET", "/jobs/results/signed/not-a-token/", 404, "code", 404),
        ]:
            got, headers, body = client.request(method, path, b"{}", **auth)
            assert (got, body[key]) == (status, code), (method, path, body)
            assert headers["Content-Type"].startswith("application/json")
    finally:
        client.close()


def test_it_reads_a_refused_body_to_its_end_within_its_limits(rf):
    """The drain itself: everything left unread is read, unless it is over REQUEST_DRAIN_MAX_BYTES (then
    nothing is, and gunicorn's own handling applies)."""
    from project.keepalive import drain_body, unread_body_bytes

    request = rf.post("/ai/image/cut/out", data=b"x" * 300_000, content_type="application/octet-stream")
    assert unread_body_bytes(request) == 300_000
    request.read(1000)
    assert unread_body_bytes(request) == 299_000
    assert drain_body(request, max_bytes=1_000_000, seconds=10) and unread_body_bytes(request) == 0

    too_big = rf.post("/ai/image/cut/out", data=b"x" * 300_000, content_type="application/octet-stream")
    assert not drain_body(too_big, max_bytes=100_000, seconds=10)
    assert unread_body_bytes(too_big) == 300_000

    read = rf.post("/ai/image/cut/out", data=b'{"a": 1}', content_type="application/json")
    assert read.body == b'{"a": 1}' and unread_body_bytes(read) == 0
