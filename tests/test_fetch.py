"""The SSRF guard in front of every image URL a client hands us."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from processing.fetch import FetchError, fetch_image, is_public_address, vet_url
from tests.http_fixtures import image_server


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "0.0.0.0",  # noqa: S104 (an address under test, not a bind)
        "100.64.0.1",
        "224.0.0.1",
        "2002:7f00:1::1",
    ],
)
def test_it_treats_local_and_private_addresses_as_forbidden(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"])
def test_it_treats_public_addresses_as_fetchable(address):
    assert is_public_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.jpg",
        "http://10.0.0.1/a.jpg",
        "http://[::1]/a.jpg",
        "http://[::ffff:127.0.0.1]/a.jpg",
        "http://2130706433/a.jpg",
        "http://0x7f.1/a.jpg",
    ],
)
def test_it_refuses_urls_that_point_at_private_addresses(url):
    with pytest.raises(FetchError) as caught:
        vet_url(url, resolver=lambda host, port: ["127.0.0.1"])
    assert caught.value.code in ("forbidden_address", "invalid_url")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "file:///etc/passwd", "gopher://x/", "javascript:1", "//x"]
)
def test_it_refuses_non_http_schemes(url):
    with pytest.raises(FetchError) as caught:
        vet_url(url, resolver=lambda host, port: ["93.184.216.34"])
    assert caught.value.code == "invalid_url"


def test_it_refuses_a_name_that_resolves_to_loopback():
    with pytest.raises(FetchError) as caught:
        vet_url("http://images.example.com/a.jpg", resolver=lambda host, port: ["93.184.216.34", "127.0.0.1"])
    assert caught.value.code == "forbidden_address"


def test_it_fetches_from_an_allowlisted_local_server():
    with image_server({"/a.jpg": (200, {"Content-Type": "image/jpeg"}, b"\xff\xd8jpeg")}) as base:
        fetched = fetch_image(f"{base}/a.jpg", max_bytes=1000, allowed_hosts=["127.0.0.1"])
    assert fetched.data == b"\xff\xd8jpeg" and fetched.content_type == "image/jpeg"


def test_it_refuses_a_redirect_to_a_private_address():
    routes = {"/a.jpg": (302, {"Location": "http://10.0.0.1/secret.jpg"}, b"")}
    with image_server(routes) as base, pytest.raises(FetchError) as caught:
        fetch_image(f"{base}/a.jpg", max_bytes=1000, allowed_hosts=["127.0.0.1"])
    assert caught.value.code == "forbidden_address"


def test_it_stops_after_three_redirects():
    routes = {f"/{n}": (302, {"Location": f"/{n + 1}"}, b"") for n in range(5)}
    with image_server(routes) as base, pytest.raises(FetchError) as caught:
        fetch_image(f"{base}/0", max_bytes=1000, allowed_hosts=["127.0.0.1"], max_redirects=3)
    assert caught.value.code == "too_many_redirects"


def test_it_caps_the_download_size():
    with image_server({"/big": (200, {}, b"x" * 5000)}) as base, pytest.raises(FetchError) as caught:
        fetch_image(f"{base}/big", max_bytes=1000, allowed_hosts=["127.0.0.1"])
    assert caught.value.code == "too_large"


def test_it_times_out_on_a_slow_server():
    with image_server({"/slow": (200, {}, b"SLOW")}) as base, pytest.raises(FetchError) as caught:
        fetch_image(f"{base}/slow", max_bytes=1000, allowed_hosts=["127.0.0.1"], timeout=0.5)
    assert caught.value.code == "timeout"


def test_it_reports_http_errors():
    with image_server({}) as base, pytest.raises(FetchError) as caught:
        fetch_image(f"{base}/missing.jpg", max_bytes=1000, allowed_hosts=["127.0.0.1"])
    assert caught.value.code == "http_error" and "404" in caught.value.message


# --- the system resolver, redirects, rebinding and the API's answers ----------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/a.jpg",  # a name whose answer (from /etc/hosts, no DNS) is loopback
        "http://LocalHost:8000/a.jpg",
        "http://[::1]/a.jpg",
        "http://[::ffff:127.0.0.1]/a.jpg",
        "http://[0:0:0:0:0:ffff:7f00:1]/a.jpg",
        "http://[::7f00:1]/a.jpg",  # IPv4-compatible
        "http://[fe80::1%25lo]/a.jpg",
        "http://[fec0::1]/a.jpg",  # deprecated site-local
        "http://2130706433/a.jpg",  # 127.0.0.1 in decimal
        "http://017700000001/a.jpg",  # and in octal
        "http://0177.0.0.1/a.jpg",
        "http://0x7f.0.0.1/a.jpg",
        "http://127.1/a.jpg",
        "http://0/a.jpg",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",  # carrier-grade NAT range
    ],
)
def test_it_refuses_local_addresses_through_the_system_resolver(url):
    with pytest.raises(FetchError) as caught:
        vet_url(url)
    assert caught.value.code == "forbidden_address"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE://localhost/etc/passwd",
        "gopher://127.0.0.1:6379/_INFO",
        "ftp://127.0.0.1/a.jpg",
        "data:image/png;base64,iVBORw0KGgo=",
        "dict://127.0.0.1:11211/stat",
        "ldap://127.0.0.1/",
        "jar:http://127.0.0.1!/a",
        "http:/a.jpg",
        "http://user:pw@example.com/a.jpg",
        "http://[::1/a.jpg",
        "http://example.com:99999/a.jpg",
    ],
)
def test_it_refuses_other_schemes_and_malformed_urls(url):
    with pytest.raises(FetchError) as caught:
        fetch_image(url, max_bytes=1000, resolver=lambda host, port: ["93.184.216.34"])
    assert caught.value.code == "invalid_url"


@pytest.mark.parametrize(
    "location",
    [
        "http://localhost/secret.jpg",
        "http://[::1]/secret.jpg",
        "http://[::ffff:127.0.0.1]/secret.jpg",
        "http://2130706433/secret.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.0.1/router.jpg",
    ],
)
def test_it_refuses_every_redirect_into_a_private_range(location):
    routes = {"/a.jpg": (302, {"Location": location}, b"")}
    with image_server(routes) as base, pytest.raises(FetchError) as caught:
        fetch_image(f"{base}/a.jpg", max_bytes=1000, allowed_hosts=["127.0.0.1"])
    assert caught.value.code == "forbidden_address"


@pytest.mark.parametrize("location", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://x/a.jpg"])
def test_it_refuses_a_redirect_to_another_scheme(location):
    routes = {"/a.jpg": (301, {"Location": location}, b"")}
    with image_server(routes) as base, pytest.raises(FetchError) as caught:
        fetch_image(f"{base}/a.jpg", max_bytes=1000, allowed_hosts=["127.0.0.1"])
    assert caught.value.code == "invalid_url"


def test_it_connects_to_the_address_it_checked_not_to_a_second_dns_answer(monkeypatch):
    """DNS rebinding: the name is resolved once per hop; the connection goes to that vetted address with
    the name in the Host header, and nothing asks the system resolver for the name again."""
    seen: list[tuple[str, str]] = []
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # a rebinding DNS server's two answers
    calls: list[str] = []

    def rebinding_resolver(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    def transport_handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers["Host"]))
        return httpx.Response(200, headers={"Content-Type": "image/jpeg"}, content=b"\xff\xd8jpeg")

    def no_dns(host, *args, **kwargs):
        raise AssertionError(f"the fetcher resolved {host!r} a second time")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    fetched = fetch_image(
        "http://images.example.com/a.jpg",
        max_bytes=1000,
        resolver=rebinding_resolver,
        transport=httpx.MockTransport(transport_handler),
    )
    assert fetched.data == b"\xff\xd8jpeg"
    assert calls == ["images.example.com"]
    assert seen == [("93.184.216.34", "images.example.com")]


def test_it_really_connects_to_the_vetted_address():
    """With a real socket: the name is unknown to the system, yet the fetch reaches the server at the
    address the resolver vetted, and the server sees the name in the Host header."""
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            hosts.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "6")
            self.end_headers()
            self.wfile.write(b"\xff\xd8jpeg")

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    try:
        fetched = fetch_image(
            f"http://images.invalid:{port}/a.jpg",
            max_bytes=1000,
            allowed_hosts=["images.invalid"],
            resolver=lambda host, port: ["127.0.0.1"],
        )
    finally:
        server.shutdown()
        server.server_close()
    assert fetched.data == b"\xff\xd8jpeg" and hosts == [f"images.invalid:{port}"]


@pytest.mark.parametrize(
    "url", ["http://images.example.com/\x00a.jpg", "http://images.example.com/" + "a" * 70_000]
)
def test_it_refuses_urls_the_http_client_cannot_send(url):
    with pytest.raises(FetchError) as caught:
        fetch_image(url, max_bytes=1000, resolver=lambda host, port: ["93.184.216.34"])
    assert caught.value.code == "invalid_url"


@pytest.fixture
def api_token(team, owner):
    from catalog.models import ApiToken

    return ApiToken.objects.create_token(team, "ssrf", owner)[1]


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8000/admin/", "http://[::1]/a.jpg", "http://169.254.169.254/", "file:///etc/passwd"],
)
def test_it_answers_the_apis_with_their_bad_url_codes(url, api_token, client):
    headers = {"Authorization": f"APPCODE {api_token}"}
    answer = client.post(
        "/ai/image/cut/out", {"imageUrl": url, "backGroundType": "WHITE_BACKGROUND"}, headers=headers
    )
    assert answer.status_code == 200 and answer.json()["resCode"] == 700
    assert answer.json()["resMessage"].startswith("invalid input: imageUrl")
    answer = client.post(
        "/ai/image/removal", {"image_url": url, "object_remove_elements": "[1]"}, headers=headers
    )
    assert answer.json()["resCode"] == 701
    answer = client.post(
        "/api/v1/bg-remove/submit",
        {"data": {"task_list": [{"image": url}]}},
        content_type="application/json",
        headers={**headers, "X-Ca-Nonce": url},
    )
    assert answer.status_code == 400 and answer.json()["code"] == "23500006"


# --- privacy: the suite's network guard -------------------------------------------------------------------
def test_it_refuses_outbound_connections_during_tests(network_guard):
    """tests/conftest.py patches socket.connect and connect_ex for the whole session (autouse), so
    everything built on Python sockets (httpx, urllib, boto3, redis, psycopg over TCP) fails on anything
    but loopback or a Unix socket; attempts are recorded."""
    before = len(network_guard)
    for family, address in (
        (socket.AF_INET, ("192.0.2.1", 80)),
        (socket.AF_INET6, ("2001:db8::1", 80, 0, 0)),
    ):
        with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(ConnectionRefusedError):
            sock.connect(address)
        with socket.socket(family, socket.SOCK_STREAM) as sock, pytest.raises(ConnectionRefusedError):
            sock.connect_ex(address)
    with pytest.raises(httpx.ConnectError):
        httpx.get("http://192.0.2.1/", timeout=1)
    assert len(network_guard) - before == 5
    del network_guard[before:]  # these were ours
