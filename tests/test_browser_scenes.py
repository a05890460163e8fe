"""In a real browser: open a product's Scenes tab, pick a recommended scene, move the product in the
preview, render it with a real worker, and see the result arrive in the job page's gallery."""

import pytest

from processing.models import Job, Result, Status
from tests.browser import chromium_page, log_in, running_worker, wait_until
from tests.conftest import PASSWORD, make_product
from tests.test_scenes_helpers import add_photo, presets  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_it_renders_a_recommended_scene_and_shows_the_result(live_server, owner, team, media_root, presets):  # noqa: F811
    product = make_product(team, "Red ceramic coffee mug")
    add_photo(team, product)
    with running_worker(media_root), chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        page.click(".tabs a:has-text('Scenes')")  # the product's tab, not the navigation's library link
        page.wait_for_selector("#scene-grid .scene-card")
        # filter by type through htmx, then pick the top recommendation of that list
        page.select_option("select[name=sceneType]", "1")
        wait_until(page, "document.querySelectorAll('#scene-grid .scene-card').length < 60")
        first = page.locator("#scene-grid .scene-card").first
        chosen = first.get_attribute("data-model-num")
        assert first.locator(".why li").count() >= 1  # the reason is shown
        first.locator("input.scene-pick").check()
        page.select_option("select[name=long_side]", "1024")
        wait_until(page, "document.querySelector('#scene-preview-image').naturalWidth === 512")
        preview = page.locator("#scene-preview-image")
        box = preview.bounding_box()
        before = page.evaluate("document.querySelector('#scene-preview-image').src")
        page.mouse.click(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.8)
        wait_until(page, f"document.querySelector('#scene-preview-image').src !== {before!r}")
        assert page.input_value("#scene-x") == "0.3500"
        page.click("button:has-text('Render scenes')")
        page.wait_for_selector("#job-status")
        page.evaluate("window.__sameDocument = true")
        page.wait_for_selector(".scene-result img.scene-render", timeout=90_000)
        assert page.evaluate("window.__sameDocument") is True  # arrived through polling
        wait_until(page, "document.querySelector('.scene-result img.scene-render').naturalWidth === 1024")
        assert "1024×1024" in page.inner_text(".scene-result figcaption")
        page.click(".scene-result button:has-text('Save to product')")
        page.wait_for_url(f"{live_server.url}{product.get_absolute_url()}")

    job = Job.objects.get(kind="scene_render")
    assert job.status == Status.SUCCESS
    result = Result.objects.get(job=job)
    assert result.metadata["scene"] == chosen
    x0, _y0, x1, _y1 = result.metadata["geometry"]["subject_box"]
    assert abs((x0 + x1) / 2 - 0.35 * 1024) <= 3  # the placement made in the browser
    assert product.images.count() == 2
