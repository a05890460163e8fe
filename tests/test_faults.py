"""Faults in production, reproduced for real: a worker killed mid-job, S3 going away during result writes,
PostgreSQL and Redis restarting under a running job, a full disk and a read-only media folder, and a
cancel while a worker is busy.

Each test runs Vitrine as subprocesses (gunicorn, `db_worker` or `rqworker`, `recover_jobs`) against the
session's real servers (tests/servers.py) and checks the database with SQL afterwards: every item ends
SUCCESS or FAILED with a message, none is lost, duplicated or left RUNNING, and no row points at a missing
file (nor is a file left without its row).
"""

from __future__ import annotations

import io
import os
import random
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.servers import Merchant, Stack, kill_group, wait_until

PASSWORD = "a-long-test-password-42"
FINISHED = ("SUCCESS", "FAILED", "CANCELLED")


def small_photo(n: int, side: int = 160) -> bytes:
    """A different little product photo per n (the upload keeps one copy of identical bytes)."""
    rng = random.Random(n)
    image = Image.new("RGB", (side, side), (235, 235, 230))
    colour = (rng.randrange(40, 220), rng.randrange(40, 220), rng.randrange(40, 220))
    ImageDraw.Draw(image).rounded_rectangle(
        (side // 4, side // 6, side * 3 // 4, side * 5 // 6), 10, fill=colour
    )
    image.putpixel((n % side, (n // side) % side), (0, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def noisy_photo(n: int) -> bytes:
    """A product with a grainy texture, so its cut-out compresses badly and makes a large result file."""
    rng = random.Random(n)
    image = Image.new("RGB", (480, 480), (238, 238, 234))
    grain = Image.frombytes("RGB", (240, 320), rng.randbytes(240 * 320 * 3))
    image.paste(grain, (120, 80))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def merchant_with_photos(
    stack: Stack, photos: list[bytes], username: str = "mira"
) -> tuple[Merchant, list[int], int]:
    """Sign up, upload the photos as the upload page does, and return the thumbnails job it starts."""
    merchant = Merchant(stack.web_url or stack.start_web())
    merchant.sign_up(username, PASSWORD, f"{username}'s shop")
    ids = merchant.upload([(f"photo-{n:03d}.png", data, "image/png") for n, data in enumerate(photos)])
    assert len(set(ids)) == len(photos)
    assert merchant.post("/catalog/upload/finish/", {"images": ids}).status_code == 200
    job = stack.scalar("SELECT max(id) FROM processing_job WHERE kind = 'image_facts'")
    return merchant, ids, job


def item_rows(stack: Stack, job: int) -> list[dict]:
    rows = stack.sql(
        "SELECT i.id, i.status, i.attempts, i.error_code, i.error_message, r.id, r.file "
        "FROM processing_jobitem i LEFT JOIN processing_result r ON r.item_id = i.id "
        "WHERE i.job_id = %s ORDER BY i.position",
        (job,),
    )
    keys = ("id", "status", "attempts", "error_code", "error_message", "result", "file")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def assert_items_accounted_for(stack: Stack, job: int, total: int) -> list[dict]:
    """None lost, none duplicated, none left RUNNING or WAITING; failures say why; results only for successes."""
    items = item_rows(stack, job)
    assert len(items) == total  # one row per item: a LEFT JOIN would repeat an item with two results
    assert len({item["id"] for item in items}) == total
    for item in items:
        assert item["status"] in FINISHED, item
        if item["status"] == "SUCCESS":
            assert item["result"] is not None, item
        else:
            assert item["result"] is None and item["error_message"], item
    return items


def assert_files_match_rows(stack: Stack) -> None:
    """Every file a row names exists, and every result or thumbnail file has its row."""
    named = {row[0] for row in stack.sql("SELECT file FROM processing_result WHERE file <> ''")}
    named |= {row[0] for row in stack.sql("SELECT thumbnail FROM catalog_productimage WHERE thumbnail <> ''")}
    named_uploads = {row[0] for row in stack.sql("SELECT file FROM catalog_productimage")}
    stored = stack.stored_keys()
    assert named | named_uploads <= stored, (named | named_uploads) - stored
    derived = {key for key in stored if "/results/" in key or "/thumbnails/" in key}
    assert derived == named, derived ^ named


# --- a worker killed with SIGKILL in the middle of a 50-image job -------------------------------------
@pytest.mark.parametrize("backend", ["db", "rq"])
def test_it_recovers_every_item_when_a_worker_is_killed_mid_job(make_stack, backend):
    stack = make_stack(rq=backend == "rq", JOB_LEASE_SECONDS="10")
    stack.start_web()
    start_worker = stack.start_rq_worker if backend == "rq" else stack.start_db_worker
    worker = start_worker()
    merchant, ids, job = merchant_with_photos(stack, [small_photo(n) for n in range(50)])
    try:
        wait_until(
            lambda: stack.item_counts(job).get("SUCCESS", 0) >= 5, 300, "the worker to be part-way through"
        )
        kill_group(worker)
        at_kill = stack.item_counts(job)
        assert at_kill.get("SUCCESS", 0) < 50, "the job finished before the worker could be killed"
        assert stack.job(job)["status"] == "RUNNING"

        # A new worker, and the recovery sweep an operator runs beside the workers.
        start_worker()
        stack.start_recovery(every=1)
        finished = stack.wait_for_job(job, timeout=600)
        assert finished["status"] == "SUCCESS" and finished["attempts"] == 2, finished
        items = assert_items_accounted_for(stack, job, 50)
        assert {item["status"] for item in items} == {"SUCCESS"}
        # Only an item the dead worker held is run a second time; everything it finished stays done.
        assert sum(item["attempts"] == 2 for item in items) <= 1
        assert all(item["attempts"] in (1, 2) for item in items)
        assert stack.scalar("SELECT count(*) FROM catalog_productimage WHERE facts_at IS NULL") == 0
        assert stack.scalar("SELECT count(*) FROM catalog_imagesearchentry") == 50
        assert_files_match_rows(stack)
    finally:
        merchant.close()


# --- S3 unavailable while results are written -----------------------------------------------------------
def test_it_fails_items_clearly_when_s3_goes_away_during_result_writes(make_stack, real_servers):
    stack = make_stack(s3=True, rq=True, JOB_LEASE_SECONDS="120")
    stack.start_web()
    stack.start_rq_worker()
    stack.start_recovery(every=1)
    merchant, ids, facts = merchant_with_photos(stack, [small_photo(n, side=240) for n in range(6)])
    s3_down = False
    try:
        assert stack.wait_for_job(facts)["status"] == "SUCCESS"
        job = merchant.job_id(
            merchant.post(
                "/jobs/cutout/new/",
                {
                    "images": ids,
                    "background": "white",
                    "model_type": "general",
                    "size": "800x800",
                    "margin": 5,
                },
            )
        )
        wait_until(lambda: stack.item_counts(job).get("SUCCESS", 0) >= 1, 300, "a cut-out to be stored")
        assert stack.job(job)["status"] == "RUNNING"
        real_servers.s3.stop()
        s3_down = True
        finished = stack.wait_for_job(job, timeout=600)
        items = assert_items_accounted_for(stack, job, 6)
        failed = [item for item in items if item["status"] == "FAILED"]
        assert failed, "S3 was down for the rest of the job, yet nothing failed"
        for item in failed:
            assert item["error_code"] == "storage_unavailable", item
            assert "storage" in item["error_message"].lower(), item
        assert finished["status"] == "SUCCESS"  # the cut-outs stored before the outage are kept
        real_servers.s3.start()
        s3_down = False
        assert_files_match_rows(stack)
    finally:
        if s3_down:
            real_servers.s3.start()
        merchant.close()


# --- PostgreSQL restarting under a running job ----------------------------------------------------------
@pytest.mark.parametrize("backend", ["db", "rq"])
def test_it_finishes_a_job_across_a_database_restart(make_stack, real_servers, backend):
    stack = make_stack(rq=backend == "rq", JOB_LEASE_SECONDS="10")
    stack.start_web()
    workers = [stack.start_rq_worker() if backend == "rq" else stack.start_db_worker()]
    stack.start_recovery(every=1)
    merchant, _ids, job = merchant_with_photos(stack, [small_photo(n) for n in range(30)])
    try:
        wait_until(lambda: stack.item_counts(job).get("SUCCESS", 0) >= 5, 300, "the job to be under way")
        assert stack.job(job)["status"] == "RUNNING"
        real_servers.postgres.stop("fast")  # every connection is cut, as on a failover or an upgrade
        real_servers.postgres.start()
        finished = stack.wait_for_job(job, timeout=600)
        assert finished["status"] == "SUCCESS", finished
        items = assert_items_accounted_for(stack, job, 30)
        assert {item["status"] for item in items} == {"SUCCESS"}
        assert all(worker.poll() is None for worker in workers), stack.all_logs()
        assert_files_match_rows(stack)
    finally:
        merchant.close()


# --- Redis restarting (its queue lost) while RQ workers run jobs ------------------------------------------
def test_it_finishes_jobs_across_a_redis_restart(make_stack, real_servers):
    stack = make_stack(rq=True, JOB_LEASE_SECONDS="10")
    stack.start_web()
    worker = stack.start_rq_worker()
    stack.start_recovery(every=1)
    merchant, ids, job = merchant_with_photos(stack, [small_photo(n) for n in range(30)])
    try:
        wait_until(lambda: stack.item_counts(job).get("SUCCESS", 0) >= 5, 300, "the job to be under way")
        real_servers.redis.kill()
        # The merchant uploads more photos while Redis is down: no error, and their job runs later.
        more = merchant.upload([(f"more-{n}.png", small_photo(100 + n), "image/png") for n in range(3)])
        assert merchant.post("/catalog/upload/finish/", {"images": more}).status_code == 200
        later = stack.scalar("SELECT max(id) FROM processing_job WHERE kind = 'image_facts'")
        assert later != job
        real_servers.redis.start()
        for each in (job, later):
            finished = stack.wait_for_job(each, timeout=600)
            assert finished["status"] == "SUCCESS", finished
        assert_items_accounted_for(stack, job, 30)
        assert_items_accounted_for(stack, later, 3)
        assert worker.poll() is None, stack.log_of(worker)
        assert_files_match_rows(stack)
    finally:
        if not real_servers.redis.ping():
            real_servers.redis.start()
        merchant.close()


# --- a full disk, and a read-only media folder ------------------------------------------------------------
def _mount_namespace_wrapper(mount: str, target: Path) -> list[str]:
    """Run the worker in its own mount namespace with `mount` applied to `target`: a real tiny filesystem
    or a real read-only bind, seen only by the worker (root ignores file modes, not mounts)."""
    unshare = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        unshare[1:1] = ["--user", "--map-root-user"]
    return [*unshare, "sh", "-ec", f'{mount} "$0"; exec "$@"', str(target)]  # noqa: S604


TINY_TMPFS = "mount -t tmpfs -o size=64k tmpfs"
READ_ONLY_BIND = 'mount --bind "$0" "$0"; mount -o remount,bind,ro'


def _can_mount(mount: str, tmp_path: Path) -> str:
    target = tmp_path / "probe"
    target.mkdir()
    probe = subprocess.run([*_mount_namespace_wrapper(mount, target), "true"], capture_output=True, text=True)
    return "" if probe.returncode == 0 else probe.stderr.strip()


@pytest.mark.parametrize(
    ("mount", "expected"),
    [(TINY_TMPFS, "No space left on device"), (READ_ONLY_BIND, "Read-only file system")],
)
def test_it_fails_clearly_and_saves_nothing_when_results_cannot_be_written(
    make_stack, tmp_path, mount, expected
):
    problem = _can_mount(mount, tmp_path)
    if problem:
        pytest.skip(f"this machine allows no private mount namespace for the worker: {problem}")
    stack = make_stack(JOB_LEASE_SECONDS="120")
    merchant = Merchant(stack.start_web())
    try:
        merchant.sign_up("mira", PASSWORD, "Mira's shop")
        team = stack.scalar("SELECT id FROM catalog_team")
        results = stack.media / "teams" / str(team) / "results"
        results.mkdir(parents=True)
        # Uploads and thumbnails are written as usual; only the results folder is full or read-only.
        worker = stack.start_db_worker(wrap=_mount_namespace_wrapper(mount, results))
        ids = merchant.upload([(f"photo-{n}.png", noisy_photo(n), "image/png") for n in range(2)])
        assert merchant.post("/catalog/upload/finish/", {"images": ids}).status_code == 200
        facts = stack.scalar("SELECT max(id) FROM processing_job WHERE kind = 'image_facts'")
        assert stack.wait_for_job(facts)["status"] == "SUCCESS"
        job = merchant.job_id(
            merchant.post(
                "/jobs/cutout/new/",
                {
                    "images": ids,
                    "background": "transparent",
                    "model_type": "general",
                    "size": "1000x1000",
                    "margin": 0,
                },
            )
        )
        finished = stack.wait_for_job(job, timeout=600)
        assert finished["status"] == "FAILED" and finished["error_code"] == "all_items_failed", finished
        items = assert_items_accounted_for(stack, job, 2)
        for item in items:
            assert item["error_code"] == "storage_error", item
            assert expected in item["error_message"], item
        # Nothing half-written stays behind, in the worker's view of the folder either.
        seen_by_worker = Path(f"/proc/{worker.pid}/root") / results.relative_to("/")
        assert [p for p in seen_by_worker.rglob("*") if p.is_file()] == []
        assert_files_match_rows(stack)
    finally:
        merchant.close()


# --- cancelling a running job ------------------------------------------------------------------------------
def test_it_cancels_a_running_job_and_the_worker_stops_between_items(make_stack):
    stack = make_stack()
    stack.start_web()
    worker = stack.start_db_worker()
    stack.start_recovery(every=1)
    merchant, _ids, job = merchant_with_photos(stack, [small_photo(n) for n in range(40)])
    try:
        wait_until(lambda: stack.item_counts(job).get("SUCCESS", 0) >= 3, 300, "the job to be under way")
        response = merchant.post(f"/jobs/{job}/cancel/")
        assert response.status_code == 302
        assert stack.job(job)["status"] == "CANCELLED"
        # The worker notices at its next lease renewal; the item it held finishes, nothing else starts.
        wait_until(lambda: "RUNNING" not in stack.item_counts(job), 120, "the worker to let go")
        counts = stack.item_counts(job)
        assert set(counts) <= {"SUCCESS", "CANCELLED"} and counts.get("CANCELLED", 0) > 0, counts
        items = assert_items_accounted_for(stack, job, 40)
        assert all(item["attempts"] <= 1 for item in items)
        # The worker is free for the next job; the cancelled one is never picked up again.
        again = merchant.post(f"/jobs/{job}/cancel/")
        assert again.status_code == 302
        assert stack.job(job)["status"] == "CANCELLED" and stack.item_counts(job) == counts
        assert worker.poll() is None
        assert_files_match_rows(stack)
    finally:
        merchant.close()
