"""Every answer on an API path is its dialect's JSON envelope, whatever went wrong and wherever.

The views answer their own errors; this catches what happens around them: a path under an API's
prefix that matches no endpoint (Django's HTML 404), a method the endpoint does not take (an empty
text/html 405 from `require_http_methods`), an error page another middleware produced (a bad Host
header, a refused body), and an exception no view expected (Django's HTML 500). Each becomes the
neutral `ApiProblem` of processing/api.py, answered by the dialect that owns the path
(`api.dialect_for`): Aidge's `resCode`, Aliyun's 235000xx codes, Image Search's `Code`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse

from . import api
from .api import ApiProblem

logger = logging.getLogger(__name__)


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip().lower() == "application/json"


def _problem_for(request: HttpRequest, dialect: api.Dialect, response: HttpResponse) -> ApiProblem:
    """The neutral problem behind an error page Django (or a middleware) made for an API path."""
    status = response.status_code
    where = f"{dialect.label} API" if dialect.label else "API"
    if status == 404:
        return ApiProblem(api.UNKNOWN_PATH, f"There is no {where} at {request.path_info[:200]}.")
    if status == 405:
        allowed = response.get("Allow", "")
        return ApiProblem(
            api.METHOD_NOT_ALLOWED,
            f"{request.method[:16]} is not accepted here; use {allowed or 'another method'}.",
        )
    if status == 401:
        return ApiProblem(api.UNAUTHORIZED, "A valid team API token is required.")
    if status == 403:
        # The CSRF check of the paths that are no token-authenticated endpoint (this document, result links).
        return ApiProblem(
            api.FORBIDDEN, "Forbidden: this request needs a valid team API token or CSRF token."
        )
    if status >= 500:
        return ApiProblem(api.INTERNAL, "The request could not be processed; try again.")
    return ApiProblem(api.INVALID_INPUT, f"The request could not be read (HTTP {status}).")


class ApiEnvelopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or _is_json(response):
            return response
        dialect = api.dialect_for(request)
        if dialect is None:
            return response
        answer = dialect.respond(request, _problem_for(request, dialect, response))
        # Allow on a 405, and the security headers the inner middlewares set, stay.
        for header, value in response.items():
            if header.lower() not in ("content-type", "content-length") and not answer.has_header(header):
                answer[header] = value
        return answer

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """An exception an API view did not expect: logged with its traceback as Django would, then the
        dialect's system error instead of the HTML 500 page."""
        dialect = api.dialect_for(request)
        if dialect is None or isinstance(exception, Http404):
            return None
        if isinstance(exception, ApiProblem):  # an endpoint may simply raise the neutral problem
            return dialect.respond(request, exception)
        logger.error(
            "Internal Server Error: %s", request.path_info, exc_info=exception, extra={"status_code": 500}
        )
        # Listeners of Django's own signal (the test client re-raises, error reporters) still see it.
        got_request_exception.send(sender=type(self), request=request)
        return dialect.respond(request, ApiProblem(api.INTERNAL, "An internal error occurred; try again."))
