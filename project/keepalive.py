"""A refused request body must not cost the client its kept-alive connection.

An answer given before the body was read (a missing token, a body over Django's
DATA_UPLOAD_MAX_MEMORY_SIZE, a throttled call) leaves the rest of the body on the socket. gunicorn
announces keep-alive in that answer, then reads at most 64 KB of the leftover and otherwise closes the
connection, so a client that pools connections (the Alibaba Cloud SDK, requests, httpx) finds it reset
on its next call. A WSGI application cannot make gunicorn send `Connection: close` (hop-by-hop headers
are dropped), so the body is read here, to its end, before the answer goes out, up to
REQUEST_DRAIN_MAX_BYTES and REQUEST_DRAIN_SECONDS; past those the server's own behaviour applies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

_CHUNK = 256 * 1024


def unread_body_bytes(request: HttpRequest) -> int:
    """How much of the declared body the application has not read (0 when it was read or had none)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
    stream = getattr(request, "_stream", None)
    read = getattr(stream, "_pos", None)  # Django's LimitedStream counts what was read from the socket
    if declared <= 0 or read is None:
        return 0
    return max(0, declared - read)


def drain_body(request: HttpRequest, max_bytes: int, seconds: float) -> bool:
    """Read and discard the unread rest of the body; False when it was too large or too slow."""
    if unread_body_bytes(request) > max_bytes:
        return False
    deadline = time.monotonic() + seconds
    try:
        while request.read(_CHUNK):
            if time.monotonic() > deadline:
                return False
    except OSError:  # the client went away; there is no next request to protect
        return False
    return True


class DrainUnreadBodyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if unread_body_bytes(request) and not drain_body(
            request, settings.REQUEST_DRAIN_MAX_BYTES, settings.REQUEST_DRAIN_SECONDS
        ):
            logger.info("request body left unread (%s bytes declared)", request.META.get("CONTENT_LENGTH"))
        return response
