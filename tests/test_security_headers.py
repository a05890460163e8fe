"""Security headers on every page: a CSP without inline scripts, no sniffing, no framing."""

from django.urls import reverse

from tests.conftest import client_for


def test_it_sends_a_content_security_policy_without_inline_scripts(team, owner):
    response = client_for(owner).get(reverse("catalog:product_list"))
    policy = response["Content-Security-Policy"]
    script_sources = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert (
        "'self'" in script_sources
        and "unsafe-inline" not in script_sources
        and "unsafe-eval" not in script_sources
    )
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_uses_no_inline_event_handlers_in_pages(team, owner):
    client = client_for(owner)
    for name in ("catalog:product_list", "catalog:photo_list", "catalog:upload", "catalog:team_settings"):
        page = client.get(reverse(name)).content.decode()
        for handler in (" onclick=", " onchange=", " onsubmit=", " onerror=", " onload="):
            assert handler not in page, f"{name} has an inline {handler.strip()} handler"


def test_it_answers_the_api_with_the_request_id_of_the_logs(team, owner):
    from django.test import Client

    from catalog.models import ApiToken

    _token, raw = ApiToken.objects.create_token(team, "t", owner)
    response = Client().post(
        "/ai/image/cut/out", {"backGroundType": "PURPLE"}, headers={"Authorization": f"Bearer {raw}"}
    )
    assert response.json()["requestId"] == response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32


def test_it_stamps_log_lines_with_the_request_id(rf):
    import logging

    from django.http import HttpResponse

    from project.requestid import RequestIdLogFilter, RequestIdMiddleware

    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("vitrine.test.requestid")
    handler = Collect()
    handler.addFilter(RequestIdLogFilter())
    logger.addHandler(handler)
    try:

        def view(request):
            logger.warning("inside the view")
            return HttpResponse("ok")

        response = RequestIdMiddleware(view)(rf.get("/", headers={"X-Request-ID": "proxy-id-1234"}))
        forged = RequestIdMiddleware(view)(rf.get("/", headers={"X-Request-ID": "bad id\nINJECTED"}))
    finally:
        logger.removeHandler(handler)
    assert records[0].request_id == response["X-Request-ID"] == "proxy-id-1234"
    assert records[1].request_id == forged["X-Request-ID"] and "INJECTED" not in forged["X-Request-ID"]
