"""Polling a job's status fragment is cheap: a change token as ETag, 304 when nothing moved, no N+1."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.models import Role
from processing.models import Job, JobItem, Result, Status
from tests.conftest import PASSWORD, client_for, make_member, make_product_image

HTMX = {"HX-Request": "true"}


def make_job(team, owner, count: int = 2, kind: str = "image_facts") -> Job:
    images = [make_product_image(team, colour=(20 * n, 100, 150), name=f"p{n}.jpg") for n in range(count)]
    return Job.objects.create_for_images(team=team, kind=kind, images=images, created_by=owner)


def status_url(job: Job) -> str:
    return reverse("processing:job_detail", args=[job.pk])


def poll(client, job: Job, etag: str | None = None, **extra):
    headers = {**HTMX, **({"If-None-Match": etag} if etag else {})}
    return client.get(status_url(job), headers=headers, **extra)


def test_it_answers_304_from_two_queries_when_nothing_changed(team, owner, django_assert_num_queries):
    job = make_job(team, owner)
    client = client_for(owner)
    first = poll(client, job)
    assert first.status_code == 200 and 'hx-trigger="every 2s"' in first.content.decode()
    etag = first["ETag"]
    assert etag.startswith('W/"job') and first["Cache-Control"] == "private, no-cache"
    assert "HX-Request" in first["Vary"]

    # The session still exists, and the job's state with its item counts: no user, nothing rendered.
    with django_assert_num_queries(2):
        again = poll(client, job, etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and "HX-Request" in again["Vary"]
    # A list of tags and the strong form of the same tag match too (weak comparison).
    assert poll(client, job, f'"other", {etag.removeprefix("W/")}').status_code == 304
    assert poll(client, job, "*").status_code == 304


def test_it_honours_a_tag_only_in_the_session_it_was_sent_to(team, owner, teammate, outsider):
    job = make_job(team, owner)
    client = client_for(owner)
    etag = poll(client, job)["ETag"]
    # Another member's session, an outsider's and an anonymous poller presenting it get the full checks.
    assert poll(client_for(teammate), job, etag).status_code == 200
    assert poll(client_for(outsider), job, etag).status_code == 404
    assert poll(Client(), job, etag).status_code == 302
    # A tampered tag (flipped to the editor's flag, or another digest) is just a miss.
    forged = etag.replace("-eu", "-vu")
    assert poll(client, job, forged).status_code == 200
    assert poll(client, job, etag[:-3] + '00"').status_code == 200
    # Logging out ends it: the same cookie and tag now lead to the login page.
    session_cookie = client.cookies["sessionid"].value
    client.logout()
    client.cookies["sessionid"] = session_cookie
    assert poll(client, job, etag).status_code == 302


def test_it_leaves_a_lapsed_lease_to_the_full_view_which_recovers_it(team, owner):
    job = make_job(team, owner)
    client = client_for(owner)
    assert job.claim()
    etag = poll(client, job)["ETag"]
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    response = poll(client, job, etag)
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == Status.WAITING


def test_it_sends_the_fragment_again_once_the_job_moves_and_then_stops_polling(team, owner):
    job = make_job(team, owner)
    client = client_for(owner)
    etag = poll(client, job)["ETag"]

    assert job.claim()
    running = poll(client, job, etag)
    assert running.status_code == 200 and running["ETag"] != etag
    assert "Running" in running.content.decode()

    job.run()
    done = poll(client, job, running["ETag"])
    fragment = done.content.decode()
    assert done.status_code == 200 and "2 / 2 done" in fragment
    assert "hx-trigger" not in fragment and "hx-get" not in fragment
    assert poll(client, job, done["ETag"]).status_code == 304


def test_it_notices_an_item_change_that_did_not_bump_the_version(team, owner):
    job = make_job(team, owner, count=3)
    client = client_for(owner)
    assert job.claim()
    etag = poll(client, job)["ETag"]
    item = job.items.order_by("position").first()
    JobItem.objects.filter(pk=item.pk).update(status=Status.SUCCESS, duration_ms=1200)
    response = poll(client, job, etag)
    assert response.status_code == 200 and "1 / 3 done" in response.content.decode()


def test_it_keys_the_token_on_role_and_layout(team, owner):
    job = make_job(team, owner)
    viewer = make_member(team, "vic", Role.VIEWER)
    owner_response = poll(client_for(owner), job)
    assert "Cancel" in owner_response.content.decode()
    # A viewer presenting the owner's tag gets their own fragment, without the cancel button.
    viewer_response = poll(client_for(viewer), job, owner_response["ETag"])
    assert viewer_response.status_code == 200 and "Cancel" not in viewer_response.content.decode()
    compact = poll(client_for(owner), job, owner_response["ETag"], data={"compact": "1"})
    assert compact.status_code == 200 and "Open the job page" in compact.content.decode()


def test_it_stops_answering_304_once_the_member_leaves_the_team_or_changes_role(team, owner, teammate):
    job = make_job(team, owner)
    client = client_for(teammate)
    etag = poll(client, job)["ETag"]
    assert poll(client, job, etag).status_code == 304

    teammate.memberships.filter(team=team).update(role=Role.VIEWER)
    demoted = poll(client, job, etag)
    assert demoted.status_code == 200 and "Cancel" not in demoted.content.decode()

    teammate.memberships.filter(team=team).delete()
    gone = poll(client, job, demoted["ETag"])
    # No team left: the full view sends them to make one, and nothing of the job is answered.
    assert gone.status_code == 302 and gone.url.endswith("/team/new/")


def test_it_never_answers_the_full_page_with_304(team, owner):
    job = make_job(team, owner)
    client = client_for(owner)
    etag = poll(client, job)["ETag"]
    page = client.get(status_url(job), headers={"If-None-Match": etag})
    assert page.status_code == 200 and "<html" in page.content.decode()
    assert "HX-Request" in page["Vary"] and not page.has_header("ETag")


def test_it_answers_404_for_another_teams_job_whatever_the_tag(team, owner, outsider):
    job = make_job(team, owner)
    etag = poll(client_for(owner), job)["ETag"]
    assert poll(client_for(outsider), job, etag).status_code == 404
    assert poll(client_for(outsider), job, "*").status_code == 404


def _finish_with_results(job: Job) -> None:
    for item in job.items.all():
        JobItem.objects.filter(pk=item.pk).update(status=Status.SUCCESS, duration_ms=900)
        Result.objects.create(
            team_id=job.team_id,
            job=job,
            item=item,
            file=f"teams/{job.team_id}/results/{job.pk}/{item.position:05d}.png",
            content_type="image/png",
            width=800,
            height=800,
            score=0.9,
            metadata={"fitted": True},
        )


@pytest.mark.parametrize("kind", ["cutout", "erase", "scene_render", "image_facts"])
def test_it_renders_the_fragment_in_a_constant_number_of_queries(team, owner, kind):
    client = client_for(owner)
    counts = []
    for size in (2, 9):
        job = make_job(team, owner, count=size, kind=kind)
        _finish_with_results(job)
        with CaptureQueriesContext(connection) as queries:
            response = poll(client, job)
        assert response.status_code == 200
        assert response.content.decode().count('class="item status-success"') == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    # Session, user, membership, job state, job row, progress, items (+ results.exists for result kinds).
    assert counts[0] <= 8, counts


@pytest.mark.browser
def test_it_keeps_the_region_while_the_browser_revalidates_and_stops_when_done(
    live_server, owner, team, monkeypatch
):
    from processing.views import jobs
    from tests.browser import chromium_page, log_in

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server runs in this process: record what each poll asked for and whether it got a 304.
    answered_304: list[bool] = []
    real_client_has = jobs._client_has

    def spy(request, etag):
        matched = real_client_has(request, etag)
        answered_304.append(matched)
        return matched

    monkeypatch.setattr(jobs, "_client_has", spy)
    job = make_job(team, owner)
    seen_by_page: list[int] = []
    with chromium_page() as page:
        page.on(
            "response",
            lambda response: (
                seen_by_page.append(response.status) if f"/jobs/{job.pk}/" in response.url else None
            ),
        )
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}{status_url(job)}")
        page.wait_for_selector('#job-status[data-status="WAITING"][hx-trigger]')
        # Three polls: Chromium revalidates its stored fragment with If-None-Match, the server answers
        # 304, and the XHR (so htmx) sees the stored 200 again: the region stays as it was.
        page.wait_for_timeout(6_500)
        assert answered_304.count(True) >= 2, answered_304
        assert 304 not in seen_by_page, seen_by_page
        assert page.locator("#job-status").count() == 1
        assert "0 / 2 done" in page.inner_text("#job-status .progress-text")

        assert job.claim()
        job.run()
        page.wait_for_selector('#job-status[data-status="SUCCESS"]', timeout=15_000)
        assert "2 / 2 done" in page.inner_text("#job-status .progress-text")
        assert page.get_attribute("#job-status", "hx-trigger") is None
        polls_when_done = len(answered_304)
        page.wait_for_timeout(4_500)
        assert len(answered_304) == polls_when_done  # polling stopped


def test_it_counts_a_concurrent_api_burst_exactly_with_the_file_cache(team, settings, tmp_path):
    """bench/load.py's burst found it: the file cache lost increments and let a burst through."""
    import threading

    from processing import api

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    settings.API_RATE_LIMIT_QPS = 5
    clients = 16
    start = threading.Barrier(clients)
    outcomes: list[bool] = []

    def client() -> None:
        start.wait()
        try:
            api.check_rate_limit(team, now=1_700_000_000.5)
        except api.ApiProblem as problem:
            outcomes.append(problem.kind != api.RATE_LIMITED)
        else:
            outcomes.append(True)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 5 and outcomes.count(False) == clients - 5
