"""In a real browser: log in, upload two photos, and watch both thumbnails appear without a reload."""

import os

import pytest

from catalog.models import ProductImage
from processing.models import Job, Status
from tests.browser import chromium_page, log_in, running_worker
from tests.conftest import PASSWORD, make_image_bytes

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django's ORM is only used between its calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_it_uploads_two_photos_and_shows_their_thumbnails_live(
    live_server, owner, team, media_root, tmp_path
):
    photos = []
    for index, colour in enumerate([(220, 30, 30), (30, 30, 220)]):
        path = tmp_path / f"product-{index}.jpg"
        path.write_bytes(make_image_bytes(640, 480, colour=colour))
        photos.append(str(path))

    with running_worker(media_root), chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.click("text=Upload")
        page.wait_for_selector("#dropzone")
        page.evaluate("window.__sameDocument = true")
        page.set_input_files("#file-input", photos)

        page.wait_for_selector("#upload-list li.done >> nth=1")
        thumbnails = page.locator("#upload-summary img.thumb")
        thumbnails.nth(1).wait_for(timeout=60_000)
        assert thumbnails.count() == 2
        assert page.evaluate("window.__sameDocument") is True  # no reload happened
        page.wait_for_selector('#job-status[data-status="SUCCESS"]', timeout=30_000)
        for index in range(2):
            assert (
                page.evaluate(f"document.querySelectorAll('#upload-summary img.thumb')[{index}].naturalWidth")
                > 0
            )
        if os.environ.get("VITRINE_SCREENSHOT"):
            page.goto(f"{live_server.url}/catalog/photos/")
            page.screenshot(path=os.environ["VITRINE_SCREENSHOT"])

    assert ProductImage.objects.filter(team=team).count() == 2
    assert all(image.thumbnail for image in ProductImage.objects.filter(team=team))
    assert Job.objects.get(team=team).status == Status.SUCCESS
