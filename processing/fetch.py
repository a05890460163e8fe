"""Fetch an image URL on a merchant's behalf without letting the URL reach our own network.

Every hop is checked: http or https only; the host name is resolved here and *every* address it
resolves to must be public (no loopback, private, link-local, multicast, reserved or IPv4-mapped
private addresses); the connection then goes to the vetted address itself, so a DNS answer that
changes between the check and the connect (rebinding) cannot redirect it. Redirects are followed
by hand, at most `max_redirects`, each re-checked. The body is streamed with a size cap.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

Resolver = Callable[[str, int], list[str]]


class FetchError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FetchedImage:
    url: str
    data: bytes
    content_type: str


def system_resolver(host: str, port: int) -> list[str]:
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FetchError("unresolvable", f"The host {host!r} could not be found.") from None
    return sorted({answer[4][0] for answer in answers})


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
        elif ip.teredo is not None:
            ip = ip.teredo[1]
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"))
        # Deprecated IPv6 site-local addresses still route inside some networks.
        or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)
        or not ip.is_global
    )


def fetch_image(
    url: str,
    *,
    max_bytes: int,
    timeout: float = 10.0,
    max_redirects: int = 3,
    allowed_hosts: Iterable[str] = (),
    resolver: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
) -> FetchedImage:
    allowed = {host.lower() for host in allowed_hosts}
    timeouts = httpx.Timeout(timeout, connect=min(timeout, 5.0))
    with httpx.Client(
        timeout=timeouts, follow_redirects=False, transport=transport, trust_env=False
    ) as client:
        current = url
        for _hop in range(max_redirects + 1):
            target, host_header, sni_host = _vetted_target(current, allowed, resolver)
            extensions = {"sni_hostname": sni_host} if sni_host else {}
            try:
                request = client.build_request(
                    "GET",
                    target,
                    headers={"Host": host_header, "Accept": "image/*", "User-Agent": "Vitrine image fetcher"},
                    extensions=extensions,
                )
            except (httpx.InvalidURL, UnicodeError):  # control characters, an over-long URL
                raise FetchError("invalid_url", "The image URL is not a valid URL.") from None
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                raise FetchError("timeout", f"The image URL did not answer within {timeout:g} s.") from None
            except httpx.HTTPError as error:
                raise FetchError(
                    "connection_failed", f"The image URL could not be reached ({error})."
                ) from None
            try:
                if response.is_redirect:
                    location = response.headers.get("Location", "")
                    if not location:
                        raise FetchError("http_error", "The image URL redirected without a location.")
                    current = urljoin(current, location)
                    continue
                if response.status_code != 200:
                    raise FetchError("http_error", f"The image URL answered HTTP {response.status_code}.")
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError("too_large", _too_large_message(max_bytes))
                chunks, received = [], 0
                try:
                    for chunk in response.iter_bytes():
                        received += len(chunk)
                        if received > max_bytes:
                            raise FetchError("too_large", _too_large_message(max_bytes))
                        chunks.append(chunk)
                except httpx.TimeoutException:
                    raise FetchError(
                        "timeout", f"The image URL did not answer within {timeout:g} s."
                    ) from None
                except httpx.HTTPError as error:
                    raise FetchError("connection_failed", f"The download broke off ({error}).") from None
                return FetchedImage(
                    url=current, data=b"".join(chunks), content_type=response.headers.get("Content-Type", "")
                )
            finally:
                response.close()
    raise FetchError("too_many_redirects", f"The image URL redirected more than {max_redirects} times.")


def vet_url(url: str, *, allowed_hosts: Iterable[str] = (), resolver: Resolver = system_resolver) -> None:
    """Check a URL before queueing work for it; the fetch checks every hop again."""
    _vetted_target(url, {host.lower() for host in allowed_hosts}, resolver)


def _too_large_message(max_bytes: int) -> str:
    return f"The image at the URL is larger than {max_bytes // (1024 * 1024)} MB."


def _vetted_target(url: str, allowed: set[str], resolver: Resolver) -> tuple[str, str, str | None]:
    """Return (URL with the vetted IP address, Host header, TLS server name)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise FetchError("invalid_url", "The image URL is not a valid URL.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError("invalid_url", "Only http and https image URLs are accepted.")
    host = (parts.hostname or "").lower()
    if not host:
        raise FetchError("invalid_url", "The image URL has no host.")
    if parts.username or parts.password:
        raise FetchError("invalid_url", "Image URLs with credentials are not accepted.")
    port = port or (443 if scheme == "https" else 80)
    addresses = [host] if _is_ip_literal(host) else resolver(host, port)
    if not addresses:
        raise FetchError("unresolvable", f"The host {host!r} could not be found.")
    if host not in allowed:
        for address in addresses:
            if not is_public_address(address):
                raise FetchError(
                    "forbidden_address", "The image URL points at a private or local network address."
                )
    address = addresses[0]
    literal = f"[{address}]" if ":" in address else address
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    default_port = (scheme == "https" and port == 443) or (scheme == "http" and port == 80)
    host_header = host if default_port else f"{host}:{port}"
    if ":" in host and not host.startswith("["):
        host_header = f"[{host}]" if default_port else f"[{host}]:{port}"
    target = f"{scheme}://{literal}:{port}{path}"
    sni_host = host if scheme == "https" and not _is_ip_literal(host) else None
    return target, host_header, sni_host


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
