"""In a real browser: the job's ZIP downloads and opens, a cancelled item is retried and runs again,
photos are selected all at once and bulk-deleted after a confirmation, the cut-out form shows its
custom size and colour fields only when they apply, and a viewer's 403 explains itself."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image

from catalog.models import ProductImage
from processing.kinds import ItemOutcome
from processing.models import Job, Status
from tests.browser import chromium_page, log_in, running_worker, wait_until
from tests.conftest import PASSWORD, make_image_bytes, make_product_image

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def finished_cutout_job(team, owner, count: int = 2) -> Job:
    """A cut-out job whose results are in place (the engine's own runs are tested elsewhere)."""
    images = [make_product_image(team, colour=(60 * n, 90, 140), name="mug.jpg") for n in range(count)]
    job = Job.objects.create_for_images(
        team=team, kind="cutout", images=images, created_by=owner, params={"background": "white"}
    )
    assert job.claim()
    for item in job.items.all():
        assert item.claim()
        item.succeed(
            ItemOutcome(
                width=320,
                height=240,
                score=0.9,
                file_bytes=make_image_bytes(image_format="PNG"),
                content_type="image/png",
                metadata={"background": "white"},
            )
        )
    job.finish()
    return job


def test_it_downloads_the_jobs_zip_and_every_entry_opens(live_server, owner, team, tmp_path):
    job = finished_cutout_job(team, owner)
    with chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}{job.get_absolute_url()}")
        with page.expect_download() as download_info:
            page.click("text=Download all as ZIP")
        download = download_info.value
        assert download.suggested_filename == f"vitrine-job-{job.pk}.zip"
        saved = tmp_path / "job.zip"
        download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["mug-cutout-2.jpg", "mug-cutout.jpg"]
        for name in archive.namelist():
            image = Image.open(io.BytesIO(archive.read(name)))
            image.load()
            assert image.format == "JPEG" and image.size == (320, 240)


def test_it_retries_cancelled_items_and_they_run_again(live_server, owner, team, media_root):
    images = [make_product_image(team, colour=(30 * n, 160, 90), name=f"p{n}.jpg") for n in range(2)]
    job = Job.objects.create_for_images(team=team, kind="image_facts", images=images, created_by=owner)
    assert job.cancel()
    with running_worker(media_root), chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}{job.get_absolute_url()}")
        assert "0 / 2 done, 2 cancelled" in page.inner_text("#job-status")
        assert page.locator(".items .badge.status.cancelled").count() == 2
        assert "key" not in page.inner_text(".page-head")
        page.click("text=Retry 2 failed or cancelled items")
        page.wait_for_selector('#job-status[data-status="SUCCESS"]', timeout=60_000)
        assert "2 / 2 done" in page.inner_text("#job-status")
        assert page.locator(".items .badge.status.success").count() == 2
        assert page.locator("button.item-retry").count() == 0
    job.refresh_from_db()
    assert job.status == Status.SUCCESS
    assert all(image.thumbnail for image in ProductImage.objects.filter(team=team))


def test_it_selects_all_photos_counts_them_and_deletes_after_confirming(live_server, owner, team):
    for n in range(3):
        make_product_image(team, colour=(70 * n, 40, 200), name=f"photo-{n}.jpg")
    keep = make_product_image(team, colour=(1, 200, 1), name="keep.jpg")
    with chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}/catalog/photos/")
        assert page.inner_text("[data-selection-count]") == ""
        page.click("text=Select all on this page")
        wait_until(page, "document.querySelector('[data-selection-count]').textContent === '4 selected'")
        assert page.inner_text("[data-select-all]") == "Clear selection"
        page.uncheck(f"input[name=images][value='{keep.pk}']")
        wait_until(page, "document.querySelector('[data-selection-count]').textContent === '3 selected'")
        page.click("text=Delete selected…")
        page.wait_for_selector("text=Delete 3 photos?")
        assert ProductImage.objects.filter(team=team).count() == 4
        page.click("button:has-text('Delete 3 photos')")
        page.wait_for_selector("text=3 photos deleted.")
        assert page.locator(".tile").count() == 1
    assert list(ProductImage.objects.filter(team=team).values_list("pk", flat=True)) == [keep.pk]


def test_it_shows_the_custom_size_and_colour_fields_only_when_picked(live_server, owner, team):
    photo = make_product_image(team)
    with chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}/jobs/cutout/new/?images={photo.pk}")
        assert not page.is_visible("input[name=width]") and not page.is_visible(
            "input[name=background_colour]"
        )
        page.select_option("select[name=size]", "custom")
        assert page.is_visible("input[name=width]") and page.is_visible("input[name=height]")
        page.select_option("select[name=size]", "800x800")
        assert not page.is_visible("input[name=width]")
        page.check("input[name=background][value=colour]")
        assert page.is_visible("input[name=background_colour]")
        page.fill("input[name=background_colour]", "#3366cc")
        page.click("button[type=submit]:has-text('Remove background')")
        page.wait_for_selector("#job-status")
    job = Job.objects.get(kind="cutout")
    assert job.params["background"] == "#3366cc" and job.params["target_width"] == 800


def test_it_tells_a_viewer_who_can_do_it(live_server, owner, team, viewer):
    with chromium_page() as page:
        log_in(page, live_server.url, viewer.username, PASSWORD)
        response = page.goto(f"{live_server.url}/catalog/upload/")
        assert response.status == 403
        text = page.inner_text("main")
        assert "Viewers cannot upload" in text and "olivia" in text
        assert page.is_visible("header.topbar nav >> text=Catalog")
