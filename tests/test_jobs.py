"""Jobs: the worker runs them, states only move forward, a dead worker is noticed and retried."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from processing.models import Job, JobItem, Result, Status
from tests.conftest import client_for, make_product_image


def make_facts_job(team, owner, count: int = 2) -> Job:
    images = [make_product_image(team, colour=(40 * n, 100, 150), name=f"p{n}.jpg") for n in range(count)]
    return Job.objects.create_for_images(team=team, kind="image_facts", images=images, created_by=owner)


def run_worker() -> None:
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_it_runs_an_enqueued_job_in_the_db_worker(owner, team):
    job = make_facts_job(team, owner, count=3)
    assert job.status == Status.WAITING
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.SUCCESS and job.attempts == 1
    assert list(job.items.values_list("status", flat=True)) == [Status.SUCCESS] * 3
    for item in job.items.select_related("image"):
        assert item.image.thumbnail and item.image.facts["width"] == 320
        assert item.result.metadata["dominant_colours"]
        assert item.duration_ms is not None
    assert job.progress()["percent"] == 100


@pytest.mark.django_db(transaction=True)
def test_it_fails_a_bad_item_and_finishes_the_rest(owner, team):
    job = make_facts_job(team, owner, count=2)
    broken = job.items.order_by("position").first()
    broken.image.file.storage.delete(broken.image.file.name)
    run_worker()
    job.refresh_from_db()
    broken.refresh_from_db()
    assert job.status == Status.SUCCESS
    assert broken.status == Status.FAILED and "missing" in broken.error_message
    assert job.items.filter(status=Status.SUCCESS).count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_fails_the_job_when_every_item_fails(owner, team):
    job = make_facts_job(team, owner, count=1)
    item = job.items.get()
    item.image.delete()
    run_worker()
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error_code == "all_items_failed"


def expire_lease(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db(transaction=True)
def test_it_retries_a_job_whose_worker_died_then_fails_it(owner, team, settings):
    settings.JOB_MAX_ATTEMPTS = 2
    job = make_facts_job(team, owner, count=2)
    # A worker claims the job and an item, then dies: nothing renews the lease.
    assert job.claim()
    first_item = job.items.order_by("position").first()
    assert first_item.claim()
    expire_lease(job)

    assert Job.objects.recover_stale() == 1
    job.refresh_from_db()
    first_item.refresh_from_db()
    assert job.status == Status.WAITING and first_item.status == Status.WAITING

    # The second attempt dies as well; at the bound the job fails with a message, nothing stays RUNNING.
    assert job.claim()
    assert job.attempts == 2
    expire_lease(job)
    assert Job.objects.recover_stale() == 1
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.error_code == "worker_lost"
    assert "stopped responding 2 times" in job.error_message
    assert not JobItem.objects.filter(job=job, status__in=[Status.RUNNING, Status.WAITING]).exists()
    assert set(job.items.values_list("error_code", flat=True)) == {"worker_lost"}


@pytest.mark.django_db(transaction=True)
def test_it_finishes_a_recovered_job_in_the_worker(owner, team):
    job = make_facts_job(team, owner, count=2)
    assert job.claim()
    expire_lease(job)
    Job.objects.recover_stale()
    run_worker()  # runs both the original and the re-enqueued task; only one may claim it
    job.refresh_from_db()
    assert job.status == Status.SUCCESS and job.attempts == 2
    assert Result.objects.filter(job=job).count() == 2


@pytest.mark.django_db(transaction=True)
def test_it_claims_a_job_only_once(owner, team):
    job = make_facts_job(team, owner, count=1)
    twin = Job.objects.get(pk=job.pk)
    assert job.claim() is True
    assert twin.claim() is False


def test_it_lets_an_editor_cancel_a_waiting_job(team, owner, teammate):
    job = make_facts_job(team, owner)
    response = client_for(teammate).post(reverse("processing:job_cancel", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == Status.CANCELLED
    assert set(job.items.values_list("status", flat=True)) == {Status.CANCELLED}
    assert not job.claim()


def test_it_does_not_cancel_a_finished_job(team, owner):
    job = make_facts_job(team, owner)
    Job.objects.filter(pk=job.pk).update(status=Status.SUCCESS)
    job.refresh_from_db()
    assert job.cancel() is False and job.status == Status.SUCCESS


def test_it_stops_a_cancelled_running_job_between_items(team, owner):
    job = make_facts_job(team, owner, count=3)
    assert job.claim()
    job.cancel()
    job.run()
    assert not job.items.filter(status=Status.SUCCESS).exists()


def test_it_polls_while_running_and_stops_when_finished(team, owner):
    job = make_facts_job(team, owner)
    client = client_for(owner)
    url = reverse("processing:job_detail", args=[job.pk])
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert fragment.strip().startswith('<section id="job-status"')
    assert 'hx-trigger="every 2s"' in fragment and "0 / 2 done" in fragment
    assert "<html" not in fragment

    assert job.claim()
    job.run()
    fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in fragment and "2 / 2 done" in fragment


def test_it_estimates_the_time_left_from_measured_items(team, owner):
    job = make_facts_job(team, owner, count=4)
    assert job.claim()
    for item in job.items.order_by("position")[:2]:
        JobItem.objects.filter(pk=item.pk).update(status=Status.SUCCESS, duration_ms=1500)
    progress = job.progress()
    assert progress["done"] == 2 and progress["total"] == 4
    assert progress["eta_seconds"] == 3


def test_it_recovers_a_stale_job_when_someone_looks_at_it(team, owner):
    job = make_facts_job(team, owner)
    assert job.claim()
    expire_lease(job)
    client_for(owner).get(reverse("processing:job_detail", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == Status.WAITING


def test_it_lists_jobs_with_filters(team, owner):
    done = make_facts_job(team, owner, count=1)
    Job.objects.filter(pk=done.pk).update(status=Status.SUCCESS)
    waiting = make_facts_job(team, owner, count=1)
    client = client_for(owner)
    page = client.get(reverse("processing:job_list"), {"status": "WAITING"}).content.decode()
    assert f"#{waiting.pk}<" in page and f"#{done.pk}<" not in page


def test_it_fails_a_job_of_an_unknown_kind_instead_of_hanging(team, owner):
    job = make_facts_job(team, owner, count=1)
    Job.objects.filter(pk=job.pk).update(kind="teleport")
    job.refresh_from_db()
    assert job.claim()
    job.run()
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.items.get().error_code == "unknown_kind"


def test_it_deletes_results_past_the_team_retention_with_their_files(
    team, owner, outsider, media_root, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    old_job = make_facts_job(team, owner, count=1)
    Job.objects.filter(pk=old_job.pk).update(kind="cutout")
    old_job.refresh_from_db()
    assert old_job.claim()
    item = old_job.items.get()
    assert item.claim()
    from processing.kinds import ItemOutcome

    item.succeed(ItemOutcome(width=10, height=10, file_bytes=b"png-bytes", extension="png"))
    old_job.finish()
    stored = media_root / old_job.results.get().file.name
    assert stored.exists()
    Job.objects.filter(pk=old_job.pk).update(finished_at=timezone.now() - timedelta(days=40))
    recent = make_facts_job(team, owner, count=1)
    Job.objects.filter(pk=recent.pk).update(
        status=Status.SUCCESS, finished_at=timezone.now() - timedelta(days=2)
    )
    keeps_all = make_facts_job(outsider.memberships.get().team, outsider, count=1)
    Job.objects.filter(pk=keeps_all.pk).update(
        status=Status.SUCCESS, finished_at=timezone.now() - timedelta(days=400)
    )

    team.result_retention_days = 30
    team.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert Job.objects.delete_past_retention() == 1
    assert not Job.objects.filter(pk=old_job.pk).exists() and not stored.exists()
    assert Job.objects.filter(pk__in=[recent.pk, keeps_all.pk]).count() == 2
