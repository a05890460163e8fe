"""In a real browser: choose an uploaded photo, remove its background, see the result arrive by polling."""

import pytest

from catalog.models import ProductImage
from processing.models import Job, Status
from tests.browser import chromium_page, log_in, running_worker, wait_until
from tests.conftest import PASSWORD, make_product
from tests.test_api_cutout import make_product_photo

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_it_removes_a_background_and_shows_the_result(live_server, owner, team, media_root):
    product = make_product(team, "Red ceramic mug")
    ProductImage.objects.ingest(
        team=team,
        data=make_product_photo(600, 600),
        original_filename="mug.jpg",
        uploaded_by=owner,
        product=product,
    )
    with running_worker(media_root), chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        page.click("text=Remove background")
        page.check("input[name=background][value=transparent]")
        page.select_option("select[name=size]", "800x800")
        page.click("button[type=submit]:has-text('Remove background')")
        page.wait_for_selector("#job-status")
        page.evaluate("window.__sameDocument = true")
        page.wait_for_selector(".result-card img.after", timeout=90_000)
        assert page.evaluate("window.__sameDocument") is True  # arrived through polling, not a reload
        wait_until(page, "document.querySelector('.result-card img.after').naturalWidth === 800")
        score_text = page.inner_text(".result-card figcaption")
        assert "score" in score_text and "800×800" in score_text
        page.click("text=Save to product")
        page.wait_for_url(f"{live_server.url}{product.get_absolute_url()}")

    job = Job.objects.get(kind="cutout")
    assert job.status == Status.SUCCESS
    assert product.images.count() == 2  # the original is kept beside the result
