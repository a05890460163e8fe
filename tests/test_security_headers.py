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


# --- production settings ---------------------------------------------------------------------------------
PRODUCTION_PROBE = r"""
import json
from django.conf import settings
from django.test import Client, override_settings
# The only departure from production: static files without a collectstatic manifest.
override_settings(STORAGES={**settings.STORAGES, "staticfiles": {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}).enable()
client = Client()
plain = client.get("/accounts/login/")
secure = client.get("/accounts/login/", secure=True)
api = client.post("/ai/image/cut/out", {"backGroundType": "WHITE_BACKGROUND"}, secure=True)
cookie = secure.cookies.get("csrftoken")
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location", "")],
    "secure": secure.status_code,
    "headers": dict(secure.headers),
    "api_headers": dict(api.headers),
    "csrf_cookie": {"secure": cookie["secure"], "samesite": cookie["samesite"]} if cookie else None,
    "session": [settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY, settings.CSRF_COOKIE_SECURE],
    "debug": settings.DEBUG,
}))
"""


def test_it_sends_hsts_csp_and_secure_cookies_under_production_settings(tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    environment = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "SECRET_KEY")}
    environment.update(
        DEBUG="false",
        SECRET_KEY="q3!x9-Lm2#vT8$kP0@wR5^zN7&yB4*cH6(jD1)fG-sA_eU+iO=oY",
        ALLOWED_HOSTS="testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'probe.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        CACHE_BACKEND="locmem",
    )
    environment.pop("VITRINE_TESTING", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", PRODUCTION_PROBE],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["debug"] is False
    assert probe["plain"] == [301, "https://testserver/accounts/login/"]  # plain HTTP goes to HTTPS
    assert probe["secure"] == 200
    headers = {name.lower(): value for name, value in probe["headers"].items()}
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    policy = headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy and "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy
    )
    assert "object-src 'none'" in policy and "base-uri 'self'" in policy and "form-action 'self'" in policy
    assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert probe["csrf_cookie"]["secure"] is True
    assert probe["session"] == [True, True, True]
    api_headers = {name.lower(): value for name, value in probe["api_headers"].items()}
    assert api_headers["strict-transport-security"].startswith("max-age=31536000")
    assert api_headers["x-content-type-options"] == "nosniff"


# --- CSRF -------------------------------------------------------------------------------------------------
API_VIEWS = {
    "api_cut_out",
    "api_bg_remove_submit",
    "api_bg_remove_query",
    "api_scene_query",
    "api_scene_generate",
    "api_image_search",
    "api_removal",
    # `/`: a GET is the studio's redirect, a POST the image-search API (the Alibaba Cloud SDK's fixed path).
    "",
    # The open-platform gateway in front of the Aidge APIs.
    "api_iop_cut_out",
    "api_iop_removal",
    "api_iop_scene_query",
    "api_iop_scene_generate",
    "api_iop_unknown",
}


def _all_patterns():
    from django.urls import URLPattern, URLResolver, get_resolver

    found = []

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(
                    pattern.url_patterns,
                    prefix + str(pattern.pattern),
                    f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace,
                )
            elif isinstance(pattern, URLPattern):
                found.append(
                    (f"{namespace}{pattern.name or ''}", prefix + str(pattern.pattern), pattern.callback)
                )

    walk(get_resolver().url_patterns, "", "")
    return found


def test_it_exempts_only_the_token_authenticated_apis_from_csrf():
    exempt = {name for name, _route, view in _all_patterns() if getattr(view, "csrf_exempt", False)}
    assert exempt == API_VIEWS


def test_it_ignores_session_cookies_on_the_csrf_exempt_apis(team, owner):
    """The APIs skip CSRF because a cookie never authenticates them: a logged-in browser gets 401."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    assert browser.post("/ai/image/cut/out", {"backGroundType": "TRANSPARENT"}).status_code == 401
    assert browser.post("/api/imagesearch", {"Action": "DeleteImage"}).json()["Code"] == "NoPermission"
    assert browser.post("/", {"Action": "DeleteImage"}).json()["Code"] == "NoPermission"
    assert browser.post("/rest/ai/image/cut/out", {"backGroundType": "TRANSPARENT"}).status_code == 401


def _concrete(route: str) -> str:
    import re

    url = re.sub(r"<int:\w+>", "1", route)
    url = re.sub(r"<(?:str:|path:)?\w+>", "x", url)
    url = re.sub(r"\(\?P<\w+>[^)]*\)", "x", url).replace("^", "").replace("$", "")
    return "/" + url


def test_it_enforces_csrf_on_every_other_post(team, owner):
    """Every non-API URL (forms, htmx endpoints, uploads, the admin) refuses a POST without the token,
    before the view runs, whoever is signed in."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    anonymous = Client(enforce_csrf_checks=True)
    checked = 0
    for name, route, view in _all_patterns():
        if getattr(view, "csrf_exempt", False):
            continue
        url = _concrete(route)
        for client in (browser, anonymous):
            for headers in ({}, {"HX-Request": "true"}):
                response = client.post(url, {"title": "x"}, headers=headers)
                assert response.status_code == 403, f"{name} {url} {headers}: {response.status_code}"
                assert b"CSRF" in response.content, f"{name} {url}"
        checked += 1
    assert checked > 50


def test_it_accepts_htmx_posts_that_carry_the_token_header(team, owner):
    """htmx sends the token from <body hx-headers>; with it, a state-changing htmx POST goes through."""
    import re

    from django.test import Client
    from django.urls import reverse

    from processing.models import Job, Status
    from tests.conftest import make_product_image

    image = make_product_image(team)
    job = Job.objects.create_for_images(team=team, kind="image_facts", images=[image], created_by=owner)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner)
    page = browser.get(reverse("processing:job_detail", args=[job.pk])).content.decode()
    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'", page).group(1)
    url = reverse("processing:job_cancel", args=[job.pk])
    assert browser.post(url, headers={"HX-Request": "true"}).status_code == 403
    assert browser.post(url, headers={"HX-Request": "true", "X-CSRFToken": "forged" * 6}).status_code == 403
    answer = browser.post(url, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert answer.status_code in (200, 204, 302)
    job.refresh_from_db()
    assert job.status == Status.CANCELLED


def test_it_puts_the_token_in_every_post_form_and_under_every_htmx_post():
    import re
    from pathlib import Path

    templates = Path(__file__).resolve().parent.parent / "templates"
    assert 'hx-headers=\'{"X-CSRFToken": "{{ csrf_token }}"}\'' in (templates / "base.html").read_text()
    forms = 0
    for path in templates.rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<form\b([^>]*)>(.*?)</form>", text, flags=re.S | re.I):
            attributes, body = match.groups()
            if re.search(r"method\s*=\s*[\"']?post", attributes, flags=re.I):
                forms += 1
                assert "{% csrf_token %}" in body, (
                    f"{path.relative_to(templates)}: a POST form without csrf_token"
                )
    assert forms > 10


# --- login throttling ------------------------------------------------------------------------------------
def _login(client, username: str, password: str, address: str = "203.0.113.7", **headers):
    from django.urls import reverse

    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address, headers=headers
    )


def test_it_locks_a_username_after_five_failed_logins(owner):
    from django.test import Client

    from catalog.forms import LOGIN_FAILURES_PER_USERNAME
    from tests.conftest import PASSWORD

    client = Client()
    for attempt in range(LOGIN_FAILURES_PER_USERNAME):
        # Case and surrounding blanks do not make a new username for the counter.
        name = ["olivia", "Olivia", " OLIVIA "][attempt % 3]
        assert _login(client, name, f"wrong-{attempt}", address=f"198.51.100.{attempt}").status_code == 200
    locked = _login(client, "olivia", PASSWORD, address="198.51.100.99")
    assert locked.status_code == 200 and "Too many failed attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_locks_an_address_that_tries_many_usernames(owner):
    from django.test import Client

    from catalog.forms import LOGIN_FAILURES_PER_ADDRESS
    from tests.conftest import PASSWORD

    client = Client()
    for n in range(LOGIN_FAILURES_PER_ADDRESS):
        # A forged X-Forwarded-For does not give the guesser a new address.
        _login(client, f"guess{n}", "nope", **{"X-Forwarded-For": f"192.0.2.{n}"})
    locked = _login(client, "olivia", PASSWORD)
    assert "Too many failed attempts" in locked.content.decode()
    assert _login(Client(), "olivia", PASSWORD, address="203.0.113.8").status_code == 302  # elsewhere: fine


def test_it_forgets_a_usernames_failures_after_a_good_login(owner):
    from django.test import Client

    from catalog.forms import LOGIN_FAILURES_PER_USERNAME
    from tests.conftest import PASSWORD

    client = Client()
    for _ in range(LOGIN_FAILURES_PER_USERNAME - 1):
        _login(client, "olivia", "wrong")
    assert _login(client, "olivia", PASSWORD).status_code == 302
    for _ in range(LOGIN_FAILURES_PER_USERNAME - 1):
        _login(Client(), "olivia", "wrong", address="203.0.113.9")
    assert _login(Client(), "olivia", PASSWORD, address="203.0.113.10").status_code == 302


def test_it_counts_failures_per_client_behind_a_trusted_proxy(owner, settings):
    from django.test import Client

    from catalog.forms import LOGIN_FAILURES_PER_ADDRESS
    from tests.conftest import PASSWORD

    settings.TRUSTED_PROXY_HOPS = 1
    proxy = "10.0.0.5"  # every request reaches Django from the proxy
    for n in range(LOGIN_FAILURES_PER_ADDRESS):
        # The client forges a left-hand entry; the proxy appends the address it really saw.
        _login(
            Client(), f"guess{n}", "nope", address=proxy, **{"X-Forwarded-For": f"192.0.2.{n}, 198.51.100.66"}
        )
    locked = _login(Client(), "olivia", PASSWORD, address=proxy, **{"X-Forwarded-For": "198.51.100.66"})
    assert "Too many failed attempts" in locked.content.decode()
    # Another customer behind the same proxy is not locked out with the guesser.
    other = _login(Client(), "olivia", PASSWORD, address=proxy, **{"X-Forwarded-For": "203.0.113.50"})
    assert other.status_code == 302
