"""Bulk basics on Photos: select all, bulk delete behind a confirmation, and sorting photos and products."""

from __future__ import annotations

import re

from catalog.models import Product, ProductImage
from tests.conftest import client_for, make_image_bytes, make_product, make_product_image


def add_photo(team, name: str, colour, size=(320, 240), product=None) -> ProductImage:
    image, _created = ProductImage.objects.ingest(
        team=team,
        data=make_image_bytes(*size, colour=colour),
        original_filename=name,
        uploaded_by=None,
        product=product,
    )
    return image


def ticked(page: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="images" value="(\d+)" form="selection" checked', page)]


def test_it_selects_every_photo_on_the_page_without_javascript(owner, team):
    photos = [add_photo(team, f"p{n}.jpg", (30 * n, 90, 120)) for n in range(3)]
    client = client_for(owner)
    page = client.get("/catalog/photos/").content.decode()
    assert ticked(page) == [] and 'data-select-all="selection"' in page and "selection.js" in page
    page = client.get("/catalog/photos/", {"select": "all"}).content.decode()
    assert sorted(ticked(page)) == sorted(photo.pk for photo in photos)
    assert "3 selected" in page


def test_it_deletes_selected_photos_after_a_confirmation(
    owner, team, teammate, media_root, django_capture_on_commit_callbacks
):
    product = make_product(team, "Blue vase")
    keep = add_photo(team, "keep.jpg", (10, 200, 10), product=product)
    doomed = [
        add_photo(team, "a.jpg", (200, 10, 10), product=product),
        add_photo(team, "b.jpg", (10, 10, 200)),
    ]
    files = [media_root / photo.file.name for photo in doomed]
    assert all(path.exists() for path in files)
    editor = client_for(teammate)

    # The selection bar's button opens the confirmation, which deletes nothing yet.
    photos_page = editor.get("/catalog/photos/").content.decode()
    assert 'formaction="/catalog/photos/delete/"' in photos_page
    confirm = editor.get("/catalog/photos/delete/", {"images": [photo.pk for photo in doomed]})
    page = confirm.content.decode()
    assert confirm.status_code == 200 and "Delete 2 photos?" in page and "Blue vase" in page
    assert "a.jpg" in page and "b.jpg" in page and "keep.jpg" not in page
    assert ProductImage.objects.count() == 3
    # A POST without the confirmation button is the confirmation page again.
    assert (
        "Delete 2 photos?"
        in editor.post("/catalog/photos/delete/", {"images": [doomed[0].pk, doomed[1].pk]}).content.decode()
    )
    assert ProductImage.objects.count() == 3

    with django_capture_on_commit_callbacks(execute=True):
        response = editor.post(
            "/catalog/photos/delete/",
            {"images": [photo.pk for photo in doomed], "confirm": "yes"},
            follow=True,
        )
    assert "2 photos deleted." in response.content.decode()
    assert list(ProductImage.objects.values_list("pk", flat=True)) == [keep.pk]
    assert not any(path.exists() for path in files) and (media_root / keep.file.name).exists()
    assert Product.objects.filter(pk=product.pk).exists()


def test_it_keeps_bulk_delete_inside_the_team_and_away_from_viewers(owner, team, viewer, outsider):
    ours = add_photo(team, "ours.jpg", (120, 30, 30))
    rival_team = outsider.memberships.get().team
    theirs = make_product_image(rival_team, colour=(30, 30, 120), name="theirs.jpg")
    confirm = {"images": [ours.pk], "confirm": "yes"}

    assert client_for(viewer).get("/catalog/photos/delete/", {"images": [ours.pk]}).status_code == 403
    assert client_for(viewer).post("/catalog/photos/delete/", confirm).status_code == 403
    assert client_for(outsider).get("/catalog/photos/delete/", {"images": [ours.pk]}).status_code == 404
    assert client_for(outsider).post("/catalog/photos/delete/", confirm).status_code == 404
    assert ProductImage.objects.filter(pk=ours.pk).exists()
    # Another team's id among ours is simply not ours: only ours is listed and deleted.
    client = client_for(owner)
    page = client.get("/catalog/photos/delete/", {"images": [ours.pk, theirs.pk]}).content.decode()
    assert "Delete 1 photo?" in page and "theirs.jpg" not in page
    client.post("/catalog/photos/delete/", {"images": [ours.pk, theirs.pk], "confirm": "yes"})
    assert not ProductImage.objects.filter(pk=ours.pk).exists()
    assert ProductImage.objects.filter(pk=theirs.pk).exists()
    # Nothing selected: back to the list with a message.
    response = client.post("/catalog/photos/delete/", {"confirm": "yes"}, follow=True)
    assert "Select the photos to delete first." in response.content.decode()
    assert "Delete selected" not in client_for(viewer).get("/catalog/photos/").content.decode()


def tile_order(page: str) -> list[str]:
    return re.findall(r'<span class="filename">([^<]+)</span>', page)


def test_it_sorts_photos(owner, team):
    add_photo(team, "banana.jpg", (200, 200, 40), size=(300, 300))
    add_photo(team, "apple.jpg", (200, 40, 40), size=(800, 600))
    add_photo(team, "cherry.jpg", (120, 20, 60), size=(200, 150))
    client = client_for(owner)
    assert tile_order(client.get("/catalog/photos/").content.decode()) == [
        "cherry.jpg",
        "apple.jpg",
        "banana.jpg",
    ]
    by_name = client.get("/catalog/photos/", {"sort": "name"}).content.decode()
    assert tile_order(by_name) == ["apple.jpg", "banana.jpg", "cherry.jpg"]
    assert '<option value="name" selected>' in by_name
    sizes = {image.original_filename: image.bytes for image in ProductImage.objects.all()}
    largest = tile_order(client.get("/catalog/photos/", {"sort": "largest"}).content.decode())
    assert largest == sorted(sizes, key=sizes.get, reverse=True)
    assert tile_order(client.get("/catalog/photos/", {"sort": "oldest"}).content.decode())[0] == "banana.jpg"
    # An unknown key is the default order, not an error.
    assert client.get("/catalog/photos/", {"sort": "pk; drop"}).status_code == 200


def test_it_sorts_the_catalog_and_keeps_the_order_across_pages(owner, team, settings):
    settings.CATALOG_PAGE_SIZE = 2
    for title in ("Mug", "Apron", "Teapot", "Bowl"):
        make_product(team, title)
    client = client_for(owner)

    def titles(**query) -> list[str]:
        page = client.get("/catalog/", query).content.decode()
        return re.findall(r'<span class="title">([^<]+)</span>', page)

    assert titles() == ["Bowl", "Teapot"]
    assert titles(sort="title") == ["Apron", "Bowl"] and titles(sort="title", page=2) == ["Mug", "Teapot"]
    assert titles(sort="title_desc") == ["Teapot", "Mug"]
    page = client.get("/catalog/", {"sort": "title"}).content.decode()
    assert "sort=title&amp;page=2" in page and '<option value="title" selected>' in page
    fragment = client.get("/catalog/", {"sort": "oldest"}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in fragment and re.findall(r'<span class="title">([^<]+)</span>', fragment) == [
        "Mug",
        "Apron",
    ]
