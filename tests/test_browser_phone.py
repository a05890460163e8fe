"""In a real browser at a phone's width (390 px, touch, the viewport meta tag honoured): no page scrolls
sideways, the navigation folds behind "Menu" and "Log out" is reachable, the search page works, a finger
paints the erase editor's mask; and at desktop width the layout stays what it was."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PIL import Image

from catalog.models import ProductImage
from processing import scene_library
from processing.engines.imagefacts import compute_facts, make_thumbnail
from processing.engines.imageio import decode_image
from processing.kinds.erase import load_hand_mask
from processing.models import Job, JobItem, Scene, Status
from tests.browser import chromium_page, log_in, wait_until
from tests.conftest import PASSWORD, make_product
from tests.test_erase_api import LOGO_BOX, make_erase_photo
from tests.test_scenes_helpers import make_scene_photo, presets  # noqa: F401
from tests.test_search_api import add_indexed_image, fresh_search_engines, jpeg  # noqa: F401
from tests.test_search_studio import product_on_plain_wall

pytestmark = pytest.mark.browser

PHONE_WIDTH = 390
SCROLL_WIDTH = "document.documentElement.scrollWidth"


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def with_thumbnail(image: ProductImage) -> ProductImage:
    """What the upload job does for the tiles (thumbnail and facts), done here without a worker."""
    with image.file.open("rb") as handle:
        picture = Image.open(handle)
        picture.load()
    image.store_thumbnail(make_thumbnail(picture), compute_facts(picture).as_dict())
    return image


@pytest.fixture
def studio(owner, team, presets):  # noqa: F811
    """A small shop: products with long titles and all attributes, a finished cut-out job, a photo to erase."""
    products = []
    for seed in range(1, 5):
        product = make_product(
            team,
            f"Hand-thrown stoneware coffee mug with a long descriptive title, number {seed}",
            sku=f"MUG-STONEWARE-{seed:04d}",
            int_attr=seed,
            int_attr2=350,
            str_attr="speckled-oatmeal",
            str_attr2="Northwind Ceramics",
            custom_content="Dishwasher safe; ships in recycled cardboard.",
        )
        with_thumbnail(add_indexed_image(team, product, seed, name=f"a-rather-long-file-name-{seed}.jpg"))
        products.append(product)
    erase_photo, _created = ProductImage.objects.ingest(
        team=team,
        data=make_erase_photo(),
        original_filename="tumbler.png",
        uploaded_by=owner,
        product=products[0],
    )
    with_thumbnail(erase_photo)
    job = Job.objects.create_with_items(
        team=team,
        kind="cutout",
        items=[
            JobItem(image=image, source_name=image.original_filename) for image in products[0].images.all()
        ],
        created_by=owner,
        params={
            "background": "white",
            "model_type": "general",
            "target_width": 800,
            "target_height": 800,
            "margin": 0.05,
            "keep_shadow": False,
        },
    )
    assert job.claim()
    job.run()  # the real cut-out, in this process
    job.refresh_from_db()
    assert job.status == Status.SUCCESS
    product = products[0]
    # A team scene, whose page is the surface-and-box editor over the photo (a canvas).
    scene = Scene.objects.create(
        model_num=scene_library.new_team_model_num(),
        team=team,
        name_en="Our oak kitchen counter with a long name",
        scene_types=[1],
        categories=[3],
        surface_y=0.66,
        product_box=[0.3, 0.2, 0.7, 0.66],
    )
    scene_library.store_team_scene_files(
        scene, scene_library.prepare_team_background(decode_image(make_scene_photo()))
    )
    return SimpleNamespace(
        product=product,
        erase_photo=erase_photo,
        pages={
            "catalog": "/catalog/",
            "photos": "/catalog/photos/",
            "product": product.get_absolute_url(),
            "product form": f"/catalog/products/{product.pk}/edit/",
            "upload": "/catalog/upload/",
            "jobs": "/jobs/",
            "job": job.get_absolute_url(),
            "scenes": "/jobs/scenes/",
            "team scene editor": scene.get_absolute_url(),
            "new product": f"/catalog/products/new/?images={erase_photo.pk}",
            "product scenes": f"/jobs/scenes/product/{product.pk}/",
            "erase editor": f"/jobs/erase/image/{erase_photo.pk}/",
            "remove background": f"/jobs/cutout/new/?images={erase_photo.pk}",
            "team": "/catalog/team/",
            "search": "/jobs/search/",
        },
    )


def overflowing(page) -> list[str]:
    """The elements that stick out on the right, to say which one broke the layout."""
    return page.evaluate(
        """[...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
          .slice(0, 5).map(e => e.tagName.toLowerCase() + '.' + e.className)"""
    )


def test_it_fits_every_page_into_a_phone_screen(live_server, owner, studio):
    widths: dict[str, int] = {}
    culprits: dict[str, list[str]] = {}

    def measure(name: str) -> None:
        widths[name] = page.evaluate(SCROLL_WIDTH)
        if widths[name] > PHONE_WIDTH:
            culprits[name] = overflowing(page)

    with chromium_page(width=PHONE_WIDTH, height=844, phone=True) as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        assert page.evaluate("window.innerWidth") == PHONE_WIDTH
        for name, path in studio.pages.items():
            # The product's Scenes tab cuts the photo out for its first preview: give a busy machine time.
            page.goto(f"{live_server.url}{path}", wait_until="domcontentloaded")
            page.wait_for_load_state("load", timeout=120_000)
            measure(name)

        # Search with a photo from the phone: results, boxes, filters and the whole-picture link all fit.
        picture, _box = product_on_plain_wall()
        page.set_input_files(
            "#search-file", files=[{"name": "shot.jpg", "mimeType": "image/jpeg", "buffer": jpeg(picture)}]
        )
        page.wait_for_selector(".search-hit")
        assert "Searched the product detected in the pink box." in page.inner_text(".searched")
        measure("search results")
        page.click("[data-whole-picture]")
        wait_until(page, "document.querySelector('.searched-whole') !== null")
        assert "Searched the whole picture." in page.inner_text(".searched")
        measure("search, whole picture")

        page.context.clear_cookies()
        for name, path in {"login": "/accounts/login/", "sign-up": "/accounts/signup/"}.items():
            page.goto(f"{live_server.url}{path}")
            measure(name)

    too_wide = {name: width for name, width in widths.items() if width > PHONE_WIDTH}
    assert not too_wide, f"pages wider than {PHONE_WIDTH} px: {too_wide}; sticking out: {culprits}"
    assert len(widths) == len(studio.pages) + 4


def test_it_folds_the_navigation_behind_menu_and_reaches_log_out_on_a_phone(live_server, owner, studio):
    with chromium_page(width=PHONE_WIDTH, height=844, phone=True) as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        assert page.is_visible("label.menu-button")
        assert not page.is_visible("nav.mainnav") and not page.is_visible("text=Log out")
        bar = page.locator("header.topbar").bounding_box()
        assert bar["height"] < 70  # one short row: brand and Menu

        page.click("label.menu-button")  # a finger on "Menu"
        links = page.locator("nav.mainnav a")
        assert [links.nth(i).inner_text() for i in range(links.count())] == [
            "Catalog", "Photos", "Upload", "Search", "Scenes", "Jobs", "Team",
        ]  # fmt: skip
        for i in range(links.count()):
            box = links.nth(i).bounding_box()
            assert (
                box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH and box["height"] >= 36
            )  # tappable
        page.click("nav.mainnav >> text=Scenes")
        page.wait_for_url(f"{live_server.url}/jobs/scenes/")
        assert not page.is_visible("nav.mainnav")  # a new page starts folded

        # The keyboard opens it too (the toggle is a real checkbox), then "Log out" logs out.
        page.focus("#menu-toggle")
        page.keyboard.press("Space")
        assert page.is_visible("nav.mainnav")
        log_out = page.locator("button:has-text('Log out')")
        box = log_out.bounding_box()
        assert box["x"] + box["width"] <= PHONE_WIDTH
        log_out.click()
        page.wait_for_url(f"{live_server.url}/accounts/login/")
        assert page.is_visible("text=Sign up") and not page.is_visible("label.menu-button")


def test_it_paints_the_erase_mask_with_a_finger(live_server, owner, studio):
    photo = studio.erase_photo
    with chromium_page(width=PHONE_WIDTH, height=844, phone=True) as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        page.goto(f"{live_server.url}/jobs/erase/image/{photo.pk}/")
        canvas = page.locator("canvas.erase-mask")
        box = canvas.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE_WIDTH  # the canvas fits the screen
        assert box["width"] > 0.8 * (PHONE_WIDTH - 28)  # and uses it
        page.eval_on_selector(
            "input[name=brush_size]",
            "el => { el.value = 40; el.dispatchEvent(new Event('input', {bubbles: true})); }",
        )
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        scale = box["width"] / photo.width
        x0, y0, x1, y1 = LOGO_BOX
        y = box["y"] + (y0 + y1) / 2 * scale
        scrolled = page.evaluate("window.scrollY")
        touch = page.context.new_cdp_session(page)
        # One finger across the sticker: touches become pointer events, and the page must not scroll.
        points = [box["x"] + (x0 - 10 + (x1 - x0 + 20) * step / 12) * scale for step in range(13)]
        touch.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0], "y": y}]}
        )
        for x in points[1:]:
            touch.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        wait_until(page, "document.querySelector('.erase-summary').textContent.includes('%')")
        assert page.evaluate("window.scrollY") == scrolled

        page.click("button[data-action=erase]")  # no worker runs: the job waits with the mask it was sent
        page.wait_for_selector("#erase-result[data-status]")

    item = Job.objects.get(kind="erase").items.get()
    mask = load_hand_mask(item, photo.width, photo.height)
    assert (
        mask[(y0 + y1) // 2, (x0 + x1) // 2] and mask[(y0 + y1) // 2, x0 + 5] and mask[(y0 + y1) // 2, x1 - 5]
    )
    assert not mask[100, 600] and not mask[y0 - 40, (x0 + x1) // 2]  # only where the finger went
    assert (mask > 0).mean() < 0.05


def test_it_keeps_the_desktop_layout(live_server, owner, studio):
    with chromium_page(width=1280, height=900) as page:
        log_in(page, live_server.url, owner.username, PASSWORD)
        assert not page.is_visible("label.menu-button") and page.is_visible("nav.mainnav")
        page.keyboard.press("Tab")  # the first tab stop is a link, not the phone's hidden toggle
        assert page.evaluate("document.activeElement.id") != "menu-toggle"
        # Brand, links and account on one line, the account at the right edge.
        brand = page.locator(".brand").bounding_box()
        nav = page.locator("nav.mainnav").bounding_box()
        account = page.locator(".account").bounding_box()
        assert abs((brand["y"] + brand["height"] / 2) - (nav["y"] + nav["height"] / 2)) < 6
        assert abs((account["y"] + account["height"] / 2) - (nav["y"] + nav["height"] / 2)) < 6
        assert brand["x"] < nav["x"] < account["x"] and account["x"] + account["width"] > 1280 - 40
        assert page.locator("header.topbar").bounding_box()["height"] < 70
        # The catalog grid keeps several columns; tables keep their header row.
        tiles = page.locator("#results .tile")
        assert len({round(tiles.nth(i).bounding_box()["y"]) for i in range(tiles.count())}) == 1  # 4 in a row
        page.goto(f"{live_server.url}/jobs/")
        assert page.is_visible("table.table thead th >> text=Status")
        # Search keeps its sidebar beside the results.
        page.goto(f"{live_server.url}/jobs/search/")
        sidebar = page.locator(".search-sidebar").bounding_box()
        main = page.locator(".search-main").bounding_box()
        assert sidebar["x"] + sidebar["width"] <= main["x"] and abs(sidebar["y"] - main["y"]) < 4
        assert page.evaluate(SCROLL_WIDTH) <= 1280
