"""In a real browser: a cut-out kept the stand a mug sits on and dropped its pale lid. On the job page the
merchant opens the refine editor, paints a remove stroke across the stand with the mouse and a keep stroke
along the lid with a finger (touch events), refines, compares, and saves a new version: the saved PNG's
alpha has the stand gone and the lid back, and the first result is still there."""

from __future__ import annotations

import numpy as np
import pytest

from catalog.models import ProductImage
from processing.kinds.refine import CUTOUT_REFINE
from processing.models import Job, Result, Status
from tests.browser import ROOT, chromium_page, log_in, running_worker, wait_until
from tests.conftest import PASSWORD, make_product
from tests.test_refine_web import LID, MUG, SIZE, box_mask, decoded, make_stand_photo, run_job, stand_only

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


def test_it_fixes_a_wrong_cut_out_with_the_brushes_and_saves_a_new_version(
    live_server, owner, team, media_root
):
    product = make_product(team, "Lidded mug")
    image, _ = ProductImage.objects.ingest(
        team=team, data=make_stand_photo(), original_filename="mug.png", uploaded_by=owner, product=product
    )
    job = Job.objects.create_for_images(
        team=team,
        kind="cutout",
        images=[image],
        created_by=owner,
        params={"background": "transparent", "model_type": "general", "margin": 0.05},
    )
    run_job(job)
    first = Result.objects.get(job=job)
    first_alpha = np.asarray(decoded(first.file))[..., 3]
    assert (first_alpha[stand_only()] >= 128).mean() > 0.9  # the mistake: the stand was kept

    with running_worker(media_root), chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}{job.get_absolute_url()}")
        page.click("text=Refine: keep and remove brushes")
        page.wait_for_url(f"{live_server.url}/jobs/cutout/refine/{first.pk}/")
        page.wait_for_selector("#refine-editor[data-base-ready]", timeout=90_000)

        # Zoom: one photo pixel per screen pixel, then back to the whole photo.
        page.click("[data-action=zoom-full]")
        assert page.get_attribute("#refine-editor", "data-zoom") == "1.0000"
        assert page.eval_on_selector(".refine-stage", "el => el.getBoundingClientRect().width") == SIZE
        page.click("[data-action=zoom-fit]")
        stroke_canvas = page.locator("canvas.refine-strokes")
        box = stroke_canvas.bounding_box()
        scale = box["width"] / SIZE

        def screen(x: float, y: float) -> tuple[float, float]:
            return box["x"] + x * scale, box["y"] + y * scale

        # A remove stroke across the stand, with the mouse: a line, far from covering it.
        page.check("input[name=refine_tool][value=remove]")
        set_brush_size(page, 24)
        page.mouse.move(*screen(160, 490))
        page.mouse.down()
        for step in range(1, 21):
            page.mouse.move(*screen(160 + 320 * step / 20, 490))
        page.mouse.up()
        # A keep stroke along the lid, with a finger.
        page.check("input[name=refine_tool][value=keep]")
        set_brush_size(page, 14)
        touch = page.context.new_cdp_session(page)
        x, y = screen(290, 145)
        touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
        for step in range(1, 11):
            x, y = screen(290 + 60 * step / 10, 145)
            touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        wait_until(page, "document.querySelector('.refine-summary').textContent.includes('to keep')")
        assert "to remove" in page.inner_text(".refine-summary")

        page.evaluate("window.__sameDocument = true")
        page.click("button[data-action=refine]")
        page.wait_for_selector("#refine-editor[data-refined]", timeout=90_000)
        assert page.evaluate("window.__sameDocument") is True  # arrived through polling, not a reload
        assert page.get_attribute("#refine-editor", "data-showing") == "after"
        page.check("input[name=refine_compare][value=before]")
        assert page.get_attribute("#refine-editor", "data-showing") == "before"
        page.check("input[name=refine_compare][value=after]")
        page.check("input[name=refine_view][value=cutout]")
        page.check("input[name=refine_view][value=mask]")
        page.screenshot(path=str(ROOT / "docs" / "refine-editor.png"), full_page=False)

        page.click("button[data-action=save]")
        page.wait_for_selector("#refine-editor[data-saved]", timeout=90_000)
        assert "Saved as a new version" in page.inner_text("#refine-saved")
        page.click("#refine-saved .refine-version-link")
        page.wait_for_selector(".result-card img.after")
        assert "refined by hand" in page.inner_text(".result-card figcaption")

    refine_job = Job.objects.get(kind=CUTOUT_REFINE)
    strokes = refine_job.items.get().params["strokes"]
    assert strokes["keep"] and strokes["remove"]  # both brushes reached the server
    version = Result.objects.filter(job__kind="cutout").exclude(pk=first.pk).get()
    assert version.job.status == Status.SUCCESS and version.metadata["refined_from"] == first.pk
    alpha = np.asarray(decoded(version.file))[..., 3]
    assert (alpha[stand_only()] >= 128).mean() < 0.05  # the whole stand is gone
    assert (alpha[box_mask(LID)] >= 128).mean() > 0.95  # the lid is back
    assert (alpha[box_mask(MUG, 30)] == 255).all()  # the mug is untouched
    # The first version is kept as it was.
    assert np.array_equal(np.asarray(decoded(Result.objects.get(pk=first.pk).file))[..., 3], first_alpha)
