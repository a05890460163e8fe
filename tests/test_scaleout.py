"""Scale-out, really exercised: PostgreSQL, S3 storage (moto) and two RQ workers on Redis, driven over HTTP.

Nothing here runs inside the test process but the checks: gunicorn serves the studio, two
`manage.py rqworker` processes run the jobs, and the servers are real ones on 127.0.0.1 (tests/servers.py).
"""

from __future__ import annotations

import io
import re

import httpx
from PIL import Image, ImageDraw, ImageFont

from tests.servers import Merchant, wait_until

PASSWORD = "a-long-test-password-42"


def product_photo(colour: tuple[int, int, int], *, wide: bool = False, label: str = "SALE -50%") -> bytes:
    """A product on a light studio background, with promo text in a corner for the eraser to find."""
    image = Image.new("RGB", (640, 640), (236, 236, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 470, 640, 640), fill=(214, 212, 206))  # the table
    box = (120, 230, 520, 500) if wide else (210, 140, 430, 500)
    draw.rounded_rectangle(box, radius=28, fill=colour)
    draw.ellipse((box[2] - 20, box[1] + 60, box[2] + 70, box[1] + 170), outline=colour, width=18)
    draw.text((24, 24), label, fill=(20, 20, 20), font=ImageFont.load_default(size=44))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def scene_photo() -> bytes:
    image = Image.new("RGB", (1200, 900), (205, 215, 222))
    ImageDraw.Draw(image).rectangle((0, 600, 1200, 900), fill=(150, 112, 80))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def rq_workers_seen(stack) -> dict[str, int]:
    """Registered RQ workers and how many tasks each finished, as RQ records them in Redis."""
    import redis
    from rq import Worker

    connection = redis.Redis.from_url(stack.env["REDIS_URL"])
    return {worker.name: worker.successful_job_count for worker in Worker.all(connection=connection)}


def test_it_runs_the_whole_pipeline_on_postgresql_s3_and_two_rq_workers(make_stack):
    stack = make_stack(s3=True, rq=True)
    web = stack.start_web()
    stack.start_rq_worker("worker-a")
    stack.start_rq_worker("worker-b")
    wait_until(lambda: len(rq_workers_seen(stack)) == 2, 120, "both RQ workers to register")
    merchant = Merchant(web)
    try:
        merchant.sign_up("mira", PASSWORD, "Mira's shop")

        # Upload: one request per file, then "finish" starts the thumbnails + search index job.
        photos = [product_photo((200, 40, 40)), product_photo((30, 90, 200), wide=True, label="NEW 2026")]
        ids = merchant.upload([(f"mug-{n}.jpg", data, "image/jpeg") for n, data in enumerate(photos)])
        assert merchant.post("/catalog/upload/finish/", {"images": ids}).status_code == 200
        facts_job = stack.scalar("SELECT id FROM processing_job WHERE kind = 'image_facts'")
        assert stack.wait_for_job(facts_job)["status"] == "SUCCESS"

        response = merchant.post(
            "/catalog/products/new/", {"title": "Ceramic mug 350 ml", "category": 3, "images": ids}
        )
        assert response.status_code == 302
        product = int(re.search(r"/catalog/products/(\d+)/", response.headers["location"]).group(1))

        # The three image tools, each a job that the two workers share.
        cutout_job = merchant.job_id(
            merchant.post(
                "/jobs/cutout/new/",
                {
                    "images": ids,
                    "background": "transparent",
                    "model_type": "general",
                    "size": "800x800",
                    "margin": 5,
                },
            )
        )
        erase_job = merchant.job_id(
            merchant.post("/jobs/erase/new/", {"images": ids, "non_object_types": [1, 2, 3, 4]})
        )
        response = merchant.post(
            "/jobs/scenes/new/",
            {"name_en": "Oak table", "scene_types": [1], "categories": [3]},
            files={"photo": ("table.jpg", scene_photo(), "image/jpeg")},
        )
        assert response.status_code == 302, response.text[:2000]
        scene = response.headers["location"].rstrip("/").rsplit("/", 1)[-1]
        render_job = merchant.job_id(
            merchant.post(
                f"/jobs/scenes/product/{product}/render/",
                {"images": ids, "scenes": [scene], "aspect": "1:1", "long_side": "512"},
            )
        )
        jobs = [facts_job, cutout_job, erase_job, render_job]
        for job in jobs:
            finished = stack.wait_for_job(job, timeout=600)
            assert finished["status"] == "SUCCESS" and finished["attempts"] == 1, (finished, stack.all_logs())

        # Exactly once: every item claimed once and succeeded, one result row per item and no more.
        items = stack.sql(
            "SELECT job_id, status, attempts FROM processing_jobitem WHERE job_id = ANY(%s)", (jobs,)
        )
        assert len(items) == 2 * len(jobs)
        assert {(status, attempts) for _job, status, attempts in items} == {("SUCCESS", 1)}
        results = stack.sql(
            "SELECT r.id, r.job_id, r.item_id, r.file, r.width, r.height FROM processing_result r "
            "WHERE r.job_id = ANY(%s) ORDER BY r.id",
            (jobs,),
        )
        assert len(results) == len(items) and len({row[2] for row in results}) == len(results)

        # Every result file is in the bucket, and the bucket holds no stray copy from a second run.
        keys = stack.stored_keys()
        files = {row[3] for row in results if row[3]}
        assert len(files) == 2 * 3  # cut-out, erase and render each wrote one file per photo
        assert files <= keys
        assert {key for key in keys if "/results/" in key} == files
        thumbnails = {row[0] for row in stack.sql("SELECT thumbnail FROM catalog_productimage")}
        assert all(thumbnails) and thumbnails <= keys

        # Results are readable through short-lived signed URLs, and only through them.
        for result_id, _job, _item, name, width, height in results:
            if not name:
                continue
            response = merchant.http.get(f"/jobs/results/{result_id}/file/")
            assert response.status_code == 302
            signed = response.headers["location"]
            assert signed.startswith(stack.s3.endpoint) and "Signature=" in signed and "Expires=" in signed
            body = httpx.get(signed, timeout=60)
            assert body.status_code == 200
            if not name.endswith(".json"):
                assert Image.open(io.BytesIO(body.content)).size == (width, height)
            assert httpx.get(f"{stack.s3.endpoint}/{stack.bucket}/{name}", timeout=60).status_code == 403

        # Search by picture in the web process finds what the workers indexed.
        response = merchant.post(
            "/jobs/search/query/", files={"picture": ("query.jpg", photos[1], "image/jpeg")}
        )
        assert response.status_code == 200, response.text[:2000]
        hits = [int(found) for found in re.findall(r'data-image-id="(\d+)"', response.text)]
        assert hits and hits[0] == ids[1]
        assert stack.scalar("SELECT count(*) FROM catalog_imagesearchentry") == 2

        # Both workers took part (a task is only ever a request to run a job: the claim above is what
        # makes each job run once, however many tasks name it).
        done = rq_workers_seen(stack)
        assert len(done) == 2 and all(done.values()), done
    finally:
        merchant.close()
