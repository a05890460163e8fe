"""Job states as the merchant sees them (cancelled is its own state, nothing stays "Running" once a job
stopped, no internal key) and retrying failed and cancelled items, end to end through the worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from processing.kinds import ItemOutcome
from processing.models import Job, JobItem, Result, Status
from tests.conftest import client_for, make_image_bytes
from tests.test_jobs import make_facts_job, run_worker


def job_page(client, job: Job) -> str:
    response = client.get(f"/jobs/{job.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def test_it_counts_cancelled_items_on_their_own_and_stops_the_running_one(owner, team):
    job = make_facts_job(team, owner, count=3)
    assert job.claim()
    first, second, _third = job.items.order_by("position")
    assert first.claim() and first.succeed(None)
    assert second.claim()  # a worker is busy with the second photo when the merchant cancels
    assert job.cancel()

    assert set(job.items.values_list("status", flat=True)) == {Status.SUCCESS, Status.CANCELLED}
    progress = job.progress()
    assert (progress["done"], progress["cancelled"], progress["total"]) == (1, 2, 3)
    page = job_page(client_for(owner), job)
    assert "1 / 3 done, 2 cancelled" in page
    assert page.count('<span class="badge status cancelled">Cancelled</span>') == 3  # the job and two items
    assert ">Running<" not in page
    listing = client_for(owner).get("/jobs/").content.decode()
    assert "1 / 3 · 2 cancelled" in listing

    # The worker finishes the photo it held: its result is refused and its file deleted, and it stops.
    outcome = ItemOutcome(width=10, height=10, file_bytes=make_image_bytes(image_format="PNG"))
    assert second.succeed(outcome) is False
    assert not Result.objects.filter(item=second).exists()
    assert not job.renew_lease()
    second.refresh_from_db()
    assert second.status == Status.CANCELLED


def test_it_shows_no_internal_key_on_the_job_page(owner, team):
    job = make_facts_job(team, owner, count=1)
    page = job_page(client_for(owner), job)
    assert job.result_key not in page and "key <code>" not in page


@pytest.mark.django_db(transaction=True)
def test_it_retries_failed_items_and_they_run_again_in_the_worker(owner, team, teammate):
    job = make_facts_job(team, owner, count=2)
    broken = job.items.order_by("position").first()
    image = broken.image
    original = image.read_bytes()
    image.file.storage.delete(image.file.name)
    run_worker()
    job.refresh_from_db()
    broken.refresh_from_db()
    assert job.status == Status.SUCCESS and broken.status == Status.FAILED

    editor = client_for(teammate)
    page = job_page(editor, job)
    assert "Retry 1 failed or cancelled item" in page and f"/jobs/{job.pk}/items/{broken.pk}/retry/" in page
    # The file is back (restored from a backup, say): the retry runs the photo again.
    image.file.storage.save(image.file.name, ContentFile(original))
    response = editor.post(f"/jobs/{job.pk}/retry/")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    broken.refresh_from_db()
    assert job.status == Status.WAITING and broken.status == Status.WAITING and not broken.error_message
    assert "1 item will run again." in editor.get(f"/jobs/{job.pk}/").content.decode()

    run_worker()
    job.refresh_from_db()
    broken.refresh_from_db()
    assert job.status == Status.SUCCESS and not job.error_message
    assert broken.status == Status.SUCCESS and broken.attempts == 2
    assert broken.result.metadata["dominant_colours"]
    assert "Retry" not in job_page(editor, job)


@pytest.mark.django_db(transaction=True)
def test_it_retries_one_cancelled_item_and_leaves_the_others(owner, team):
    job = make_facts_job(team, owner, count=3)
    assert job.cancel()
    first, second, third = job.items.order_by("position")
    client = client_for(owner)
    assert client.post(f"/jobs/{job.pk}/items/{second.pk}/retry/").status_code == 302
    run_worker()
    job.refresh_from_db()
    statuses = [item.status for item in job.items.order_by("position")]
    assert statuses == [Status.CANCELLED, Status.SUCCESS, Status.CANCELLED]
    assert job.status == Status.SUCCESS
    progress = job.progress()
    assert (progress["done"], progress["cancelled"], progress["retryable"]) == (1, 2, 2)
    page = job_page(client, job)
    assert "1 / 3 done, 2 cancelled" in page and "Retry 2 failed or cancelled items" in page


def test_it_does_not_retry_a_running_job_or_a_successful_item(owner, team):
    job = make_facts_job(team, owner, count=2)
    first, second = job.items.order_by("position")
    assert job.claim() and first.claim() and first.fail("boom", "It broke.")
    client = client_for(owner)
    client.post(f"/jobs/{job.pk}/items/{first.pk}/retry/")
    first.refresh_from_db()
    job.refresh_from_db()
    assert first.status == Status.FAILED and job.status == Status.RUNNING
    assert "still running" in client.get(f"/jobs/{job.pk}/").content.decode()

    assert second.claim() and second.succeed(None) and job.finish()
    assert job.retry([second.pk]) == 0  # a finished, successful item stays as it is
    assert job.retry() == 1 and job.retry() == 0  # the second click finds nothing to do
    assert job.status == Status.WAITING


def test_it_refuses_retries_to_viewers_and_other_teams(owner, team, viewer, outsider):
    job = make_facts_job(team, owner, count=1)
    assert job.cancel()
    item = job.items.get()
    other_job = make_facts_job(team, owner, count=1)
    for url in (f"/jobs/{job.pk}/retry/", f"/jobs/{job.pk}/items/{item.pk}/retry/"):
        assert client_for(viewer).post(url).status_code == 403
        assert client_for(outsider).post(url).status_code == 404
    # An item is only found through its own job.
    assert client_for(owner).post(f"/jobs/{other_job.pk}/items/{item.pk}/retry/").status_code == 404
    job.refresh_from_db()
    assert job.status == Status.CANCELLED and job.items.get().status == Status.CANCELLED
    assert "Retry" not in job_page(client_for(viewer), job)


def test_it_gives_a_retried_job_a_fresh_lost_worker_budget_and_fences_old_workers(owner, team, settings):
    settings.JOB_MAX_ATTEMPTS = 2

    def lose_worker() -> int:
        Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
        return Job.objects.recover_stale()

    job = make_facts_job(team, owner, count=1)
    assert job.claim()
    lose_worker()
    assert job.claim()
    old_worker_item = job.items.get()
    assert old_worker_item.claim()
    lose_worker()
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error_code == "worker_lost"

    assert job.retry() == 1
    assert job.claim() and job.attempts == 3
    lose_worker()  # the first loss since the retry: queued again, not failed
    job.refresh_from_db()
    assert job.status == Status.WAITING
    assert job.claim()
    item = JobItem.objects.get(job=job)
    assert item.claim()
    # The worker of the run before the retry can no longer record anything.
    assert old_worker_item.succeed(None) is False
    assert item.succeed(None) and job.finish()
    job.refresh_from_db()
    assert job.status == Status.SUCCESS
