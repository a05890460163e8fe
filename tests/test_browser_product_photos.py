"""In a real browser: reorder a product's photos by dragging a handle and with the keyboard (the focus stays on
the photo that moved), make one the cover, and open a loose photo's page from the photos list."""

from __future__ import annotations

import pytest

from tests.browser import chromium_page, log_in, wait_until
from tests.conftest import PASSWORD, make_product, make_product_image

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def order(product) -> list[int]:
    return list(product.ordered_images().values_list("pk", flat=True))


def shown_order(page) -> list[int]:
    return [
        int(value)
        for value in page.eval_on_selector_all(".photo-card", "cards => cards.map(c => c.dataset.image)")
    ]


def test_it_reorders_photos_by_drag_and_by_keyboard_and_chooses_the_cover(live_server, owner, team):
    product = make_product(team, "Teapot")
    a, b, c, d = (
        make_product_image(team, product, colour=(50 * n, 80, 160), name=f"p{n}.jpg").pk for n in range(4)
    )
    loose = make_product_image(team, colour=(10, 200, 10), name="loose.jpg")
    with chromium_page() as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}{product.get_absolute_url()}")
        assert shown_order(page) == [a, b, c, d]

        # Drag the last photo's handle onto the first photo.
        handle = page.locator(f"#photo-{d} .drag-handle").bounding_box()
        target = page.locator(f"#photo-{a} .tile").bounding_box()
        page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(
                handle["x"] + (target["x"] + 20 - handle["x"]) * step / 10,
                handle["y"] + (target["y"] + 40 - handle["y"]) * step / 10,
            )
        page.mouse.up()
        wait_until(
            page,
            f"document.querySelector('.photo-card').dataset.image === '{d}' && !document.querySelector('.dragging')",
        )
        # The region comes back from the server with the new cover marked.
        wait_until(page, f"document.querySelector('#photo-{d} .cover-badge') !== null")
        assert order(product) == [d, a, b, c]

        # The keyboard: the arrow keys on a handle, and the buttons; the focus follows the photo.
        page.focus(f"#photo-{b} .drag-handle")
        page.keyboard.press("ArrowRight")
        wait_until(page, f"document.querySelectorAll('.photo-card')[3].dataset.image === '{b}'")
        assert order(product) == [d, a, c, b]
        assert page.evaluate("document.activeElement.dataset.focusKey") == f"drag-{b}"
        page.focus(f"#photo-{c} button[value=up]")
        page.keyboard.press("Enter")
        wait_until(page, f"document.querySelectorAll('.photo-card')[1].dataset.image === '{c}'")
        assert order(product) == [d, c, a, b]
        assert page.evaluate("document.activeElement.dataset.focusKey") == f"up-{c}"
        page.keyboard.press("Enter")
        wait_until(page, f"document.querySelector('.photo-card').dataset.image === '{c}'")
        assert order(product) == [c, d, a, b]

        # "Make cover" puts a photo first.
        page.click(f"#photo-{b} button[value=cover]")
        wait_until(page, f"document.querySelector('.photo-card').dataset.image === '{b}'")
        assert order(product) == [b, c, d, a]
        assert shown_order(page) == [b, c, d, a]
        page.reload()
        assert shown_order(page) == [b, c, d, a]

        # A loose photo opens its own page, not the raw file.
        page.goto(f"{live_server.url}/catalog/photos/?unsorted=1")
        page.click(f"#image-{loose.pk} a:has(.thumb)")
        page.wait_for_url(f"{live_server.url}/catalog/images/{loose.pk}/")
        assert "Not in a product yet" in page.inner_text(".photo-page-side")
        page.select_option("#photo-product", str(product.pk))
        page.click(".photo-page-side button:has-text('Add')")
        page.wait_for_url(f"{live_server.url}{product.get_absolute_url()}")
        assert shown_order(page)[-1] == loose.pk
