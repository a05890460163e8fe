"""The SSRF guard in front of every image URL a client hands us."""

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
