"""In a real browser: open the erase editor from a product, wait for the detected elements, paint a
stroke over a sticker, erase, compare, and accept the result as a new photo, then open it from the link
Accept answers with. Another test toggles a tiled watermark's elements as one group."""

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

        # Untick everything detected (a whole type at a time), so only the painted stroke is erased.
        for toggle in page.locator(".erase-group-toggle").all():
            toggle.check()
            toggle.uncheck()
        assert page.locator(".erase-box.selected").count() == 0

        canvas = page.locator("canvas.erase-mask")
        set_brush_size(page, 40)
        # The canvas fills the space below the action bar: bring all of it into the window first.
        canvas.scroll_into_view_if_needed()
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
        # Accept answers in place, with a link to the new photo.
        page.click("#saved-photo-slot a.saved-photo-link")
        saved = ProductImage.objects.exclude(pk=image.pk).get()
        page.wait_for_url(f"{live_server.url}/catalog/images/{saved.pk}/")
        assert product.title in page.inner_text(".photo-page-side")

    job = Job.objects.get(kind="erase")
    assert job.status == Status.SUCCESS
    result = Result.objects.get(job=job)
    assert result.metadata["mode"] == "mask" and result.metadata["erased_pixels"] > 0
    with result.file.storage.open(result.file.name, "rb") as handle:
        after = np.asarray(Image.open(io.BytesIO(handle.read())).convert("RGB"))
    assert region(after, LOGO_BOX).mean() > 200  # the dark sticker is gone
    assert product.images.count() == 2  # the original is kept beside the result


def scene_png() -> bytes:
    """The erase engine tests' photo: every element type, and a tiled "SAMPLE ONLY" watermark."""
    from tests.test_engine_erase import make_scene

    buffer = io.BytesIO()
    Image.fromarray(make_scene()["image"]).save(buffer, "PNG")
    return buffer.getvalue()


def test_it_toggles_a_tiled_watermark_as_one_group_on_a_large_zoomable_canvas(
    live_server, owner, team, media_root
):
    image, _ = ProductImage.objects.ingest(
        team=team, data=scene_png(), original_filename="sample.png", uploaded_by=owner
    )
    with running_worker(media_root), chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}/jobs/erase/image/{image.pk}/")
        page.wait_for_selector("#erase-editor[data-elements-ready]", timeout=120_000)
        watermark = page.locator(".erase-group[data-type='1']")
        count = int(watermark.locator(".erase-group-head .erase-count").inner_text())
        assert count >= 4
        # The repeated tiles are one line with a count, not one line each.
        line = watermark.locator(".erase-line", has_text="SAMPLE ONLY")
        assert line.count() == 1 and "×" in line.inner_text()
        assert watermark.locator(".erase-line").count() < count
        others = page.locator(".erase-box.selected:not(.type-1)").count()
        assert page.locator(".erase-box.selected.type-1").count() == count

        # One click takes every tile of the watermark out, another puts them all back; undo too.
        group_toggle = watermark.locator(".erase-group-toggle")
        group_toggle.uncheck()
        assert page.locator(".erase-box.type-1.selected").count() == 0
        assert page.locator(".erase-box.selected").count() == others
        assert not watermark.locator(".erase-line-toggle").first.is_checked()
        group_toggle.check()
        assert page.locator(".erase-box.selected.type-1").count() == count
        page.click("[data-action=undo]")
        assert page.locator(".erase-box.selected.type-1").count() == 0
        page.click("[data-action=undo]")
        assert page.locator(".erase-box.selected.type-1").count() == count
        # Untick one tile only: its group and line show as partly ticked.
        line.locator("summary").click()
        line.locator(".erase-element-toggle").first.uncheck()
        assert group_toggle.evaluate("el => el.indeterminate") is True
        assert page.locator(".erase-box.selected.type-1").count() == count - 1

        # The canvas: fit to the space, then one photo pixel per screen pixel.
        fitted = page.eval_on_selector(".erase-stage", "el => el.getBoundingClientRect().width")
        assert fitted > 600
        page.click("[data-action=zoom-full]")
        assert page.eval_on_selector(".erase-stage", "el => el.getBoundingClientRect().width") == 768
        page.click("[data-action=zoom-in]")
        assert page.eval_on_selector(".erase-stage", "el => el.getBoundingClientRect().width") == 960
        page.click("[data-action=zoom-fit]")
        # The action bar stays in view when the page scrolls.
        page.mouse.wheel(0, 2000)
        page.wait_for_timeout(200)
        assert page.evaluate("window.scrollY") > 0
        top = page.eval_on_selector("button[data-action=erase]", "el => el.getBoundingClientRect().top")
        assert 0 <= top < 120
