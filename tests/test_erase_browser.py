"""In a real browser: open the erase editor from a product, wait for the detected elements, paint a
stroke over a sticker, erase, compare, and accept the result as a new photo."""

import io

import numpy as np
import pytest
from PIL import Image

from catalog.models import ProductImage
from processing.models import Job, Result, Status
from tests.browser import chromium_page, log_in, running_worker, wait_until
from tests.conftest import PASSWORD, make_product
from tests.test_erase_api import LOGO_BOX, make_erase_photo, region

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def set_brush_size(page, size: int) -> None:
    page.eval_on_selector(
        "input[name=brush_size]",
        "(el, size) => { el.value = size; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        size,
    )


def test_it_paints_a_stroke_erases_and_saves_the_result(live_server, owner, team, media_root):
    product = make_product(team, "Blue maple tumbler")
    image, _ = ProductImage.objects.ingest(
        team=team,
        data=make_erase_photo(),
        original_filename="tumbler.png",
        uploaded_by=owner,
        product=product,
    )
    with running_worker(media_root), chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        page.click("text=Erase elements")
        page.click("text=Edit by hand")
        page.wait_for_url(f"{live_server.url}/jobs/erase/image/{image.pk}/")
        # Detection runs as a job; the list and the overlays arrive by polling.
        page.wait_for_selector("#erase-editor[data-elements-ready]", timeout=90_000)
        assert int(page.get_attribute("#erase-editor", "data-elements-ready")) >= 2
        assert page.locator(".erase-box.selected").count() >= 1  # background elements start selected
        assert page.locator(".erase-element-toggle:not(:checked)").count() >= 1  # product text does not

        # Untick everything detected, so only the painted stroke is erased.
        for toggle in page.locator(".erase-element-toggle:checked").all():
            toggle.uncheck()
        assert page.locator(".erase-box.selected").count() == 0

        canvas = page.locator("canvas.erase-mask")
        set_brush_size(page, 40)
        box = canvas.bounding_box()
        scale = box["width"] / image.width
        x0, y0, x1, y1 = LOGO_BOX
        cy = box["y"] + (y0 + y1) / 2 * scale
        page.mouse.move(box["x"] + (x0 - 12) * scale, cy)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(box["x"] + (x0 - 12 + (x1 - x0 + 24) * step / 10) * scale, cy)
        page.mouse.up()
        page.click("[data-action=undo]")  # undo the stroke, then paint it again, bigger
        wait_until(page, "!document.querySelector('.erase-summary').textContent.includes('%')")
        set_brush_size(page, 80)
        page.mouse.move(box["x"] + (x0 - 12) * scale, cy)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(box["x"] + (x0 - 12 + (x1 - x0 + 24) * step / 10) * scale, cy)
        page.mouse.up()
        wait_until(page, "document.querySelector('.erase-summary').textContent.includes('%')")

        page.evaluate("window.__sameDocument = true")
        page.click("button[data-action=erase]")
        page.wait_for_selector("#erase-result .compare img.after", timeout=90_000)
        assert page.evaluate("window.__sameDocument") is True  # arrived through polling, not a reload
        wait_until(page, "document.querySelector('#erase-result img.after').naturalWidth === 640")
        page.click("text=Accept and save as a new photo")
        page.wait_for_url(f"{live_server.url}{product.get_absolute_url()}")

    job = Job.objects.get(kind="erase")
    assert job.status == Status.SUCCESS
    result = Result.objects.get(job=job)
    assert result.metadata["mode"] == "mask" and result.metadata["erased_pixels"] > 0
    with result.file.storage.open(result.file.name, "rb") as handle:
        after = np.asarray(Image.open(io.BytesIO(handle.read())).convert("RGB"))
    assert region(after, LOGO_BOX).mean() > 200  # the dark sticker is gone
    assert product.images.count() == 2  # the original is kept beside the result
