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
