"""A product's photos: upload into a product, add chosen photos to one, reorder them (buttons that work
without JavaScript, and the whole order as dragging sends it), choose the cover, save a result as the
cover; a loose photo's own page. Another team's product or photo is a 404, viewers are refused."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import ProductImage
from processing.models import Job, Result, Status
from tests.conftest import client_for, make_image_bytes, make_product, make_product_image

HTMX = {"HX-Request": "true"}


def order(product) -> list[int]:
    return list(product.ordered_images().values_list("pk", flat=True))


@pytest.fixture
def product_with_photos(team):
    product = make_product(team, "Teapot")
    photos = [make_product_image(team, product, colour=(40 * n, 90, 160), name=f"p{n}.jpg") for n in range(4)]
    return product, [photo.pk for photo in photos]


def test_it_numbers_photos_in_the_order_they_were_added(product_with_photos):
    product, ids = product_with_photos
    assert order(product) == ids
    assert product.cover_image.pk == ids[0]
    assert [image.position for image in product.ordered_images()] == [0, 1, 2, 3]


def test_it_uploads_into_an_existing_product_after_its_photos(owner_client, product_with_photos):
    product, ids = product_with_photos
    page = owner_client.get(f"/catalog/upload/?product={product.pk}").content.decode()
    assert f'name="product" value="{product.pk}"' in page and "Teapot" in page
    upload = SimpleUploadedFile("new.jpg", make_image_bytes(colour=(1, 2, 250)), "image/jpeg")
    body = owner_client.post("/catalog/upload/file/", {"file": upload, "product": product.pk}).json()
    assert body["ok"] and not body["image"]["duplicate"]
    assert order(product) == [*ids, body["image"]["id"]]
    summary = owner_client.post(
        "/catalog/upload/finish/", {"images": [body["image"]["id"]], "product": product.pk}
    )
    assert f"Back to {product.title}" in summary.content.decode()
    # Without JavaScript: one form with several files lands on the product.
    files = [
        SimpleUploadedFile(f"f{n}.jpg", make_image_bytes(colour=(n, 200, 9)), "image/jpeg") for n in range(2)
    ]
    response = owner_client.post("/catalog/upload/", {"files": files, "product": product.pk})
    assert response.status_code == 302 and response["Location"] == product.get_absolute_url()
    assert len(order(product)) == 7


def test_it_adds_a_loose_duplicate_to_the_product_and_leaves_one_of_another_product(owner_client, team):
    product, other = make_product(team, "Bowl"), make_product(team, "Plate")
    loose = make_product_image(team, colour=(10, 10, 200), name="loose.jpg")
    taken = make_product_image(team, other, colour=(200, 10, 10), name="taken.jpg")
    for image in (loose, taken):
        data = image.read_bytes()
        body = owner_client.post(
            "/catalog/upload/file/", {"file": SimpleUploadedFile("again.jpg", data), "product": product.pk}
        ).json()
        assert body["image"]["duplicate"]
    loose.refresh_from_db()
    taken.refresh_from_db()
    assert loose.product == product and taken.product == other
    assert ProductImage.objects.count() == 2


def test_it_adds_selected_photos_to_a_product(owner_client, team, product_with_photos):
    product, ids = product_with_photos
    other = make_product(team, "Cups")
    moved = make_product_image(team, other, colour=(3, 3, 3), name="moved.jpg")
    loose = make_product_image(team, colour=(250, 250, 3), name="loose.jpg")
    photos = owner_client.get("/catalog/photos/").content.decode()
    assert "/catalog/products/add-photos/" in photos
    chooser = owner_client.get(
        f"/catalog/products/add-photos/?images={loose.pk}&images={moved.pk}"
    ).content.decode()
    assert "Add 2 photos to a product" in chooser and f'<option value="{product.pk}"' in chooser
    response = owner_client.post(
        "/catalog/products/add-photos/", {"images": [loose.pk, moved.pk], "product": product.pk}, follow=True
    )
    assert order(product) == [*ids, moved.pk, loose.pk]
    assert not other.images.exists()
    assert "2 photos added to “Teapot” (moved from Cups)" in response.content.decode()


def test_it_moves_photos_with_buttons_that_work_without_javascript(owner_client, product_with_photos):
    product, (a, b, c, d) = product_with_photos
    url = f"/catalog/products/{product.pk}/photos/"
    response = owner_client.post(url, {"image": c, "action": "up"})
    assert response.status_code == 302 and response["Location"] == f"{product.get_absolute_url()}#photo-{c}"
    assert order(product) == [a, c, b, d]
    owner_client.post(url, {"image": a, "action": "up"})  # already first: nothing moves
    owner_client.post(url, {"image": d, "action": "down"})  # already last
    assert order(product) == [a, c, b, d]
    owner_client.post(url, {"image": a, "action": "down"})
    assert order(product) == [c, a, b, d]
    page = owner_client.get(product.get_absolute_url()).content.decode()
    # The buttons are ordinary form buttons: no script is needed to use them.
    assert f'action="/catalog/products/{product.pk}/photos/"' in page and 'name="action" value="up"' in page
    assert page.index(f'id="photo-{c}"') < page.index("Cover") < page.index(f'id="photo-{a}"')


def test_it_takes_the_whole_order_from_dragging_and_answers_with_the_photos(
    owner_client, product_with_photos
):
    product, (a, b, c, d) = product_with_photos
    url = f"/catalog/products/{product.pk}/photos/"
    fragment = owner_client.post(url, {"action": "order", "order": [d, b, a, c]}, headers=HTMX)
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert html.startswith('\n<div id="product-photos"') or html.lstrip().startswith(
        '<div id="product-photos"'
    )
    assert [html.index(f'id="photo-{pk}"') for pk in (d, b, a, c)] == sorted(
        html.index(f'id="photo-{pk}"') for pk in (d, b, a, c)
    )
    assert order(product) == [d, b, a, c]
    # Unknown ids are ignored and photos left out keep their order after those named.
    owner_client.post(url, {"action": "order", "order": [c, 999999]})
    assert order(product) == [c, d, b, a]


def test_it_makes_a_photo_the_cover(owner_client, product_with_photos):
    product, (a, b, c, d) = product_with_photos
    owner_client.post(f"/catalog/products/{product.pk}/photos/", {"image": c, "action": "cover"})
    assert order(product) == [c, a, b, d]
    product.refresh_from_db()
    assert product.cover_image.pk == c
    catalog = owner_client.get("/catalog/").content.decode()
    assert f"/catalog/images/{c}/thumbnail/" in catalog or "Preparing thumbnail" in catalog


def test_it_refuses_nonsense_and_other_teams(owner_client, product_with_photos, outsider, viewer, team):
    product, (a, _b, _c, _d) = product_with_photos
    url = f"/catalog/products/{product.pk}/photos/"
    assert owner_client.post(url, {"action": "sideways", "image": a}).status_code == 400
    assert client_for(outsider).post(url, {"image": a, "action": "down"}).status_code == 404
    assert client_for(viewer).post(url, {"image": a, "action": "down"}).status_code == 403
    assert order(product)[0] == a
    # Another team's photo cannot be put into this team's product, nor this team's into theirs.
    rival_team = outsider.memberships.get().team
    rival_photo = make_product_image(rival_team, colour=(9, 9, 9), name="rival.jpg")
    rival_product = make_product(rival_team, "Rival")
    owner_client.post("/catalog/products/add-photos/", {"images": [rival_photo.pk], "product": product.pk})
    rival_photo.refresh_from_db()
    assert rival_photo.product is None
    answer = owner_client.post("/catalog/products/add-photos/", {"images": [a], "product": rival_product.pk})
    assert answer.status_code == 404 and not rival_product.images.exists()
    assert client_for(viewer).get(f"/catalog/products/add-photos/?images={a}").status_code == 403
    assert (
        client_for(viewer)
        .post("/catalog/products/add-photos/", {"images": [a], "product": product.pk})
        .status_code
        == 403
    )
    upload = SimpleUploadedFile("x.jpg", make_image_bytes(colour=(7, 7, 77)), "image/jpeg")
    rival_upload = client_for(outsider).post("/catalog/upload/file/", {"file": upload, "product": product.pk})
    assert rival_upload.status_code == 404 and rival_upload.json()["error"] == "No such product."
    assert client_for(outsider).get(f"/catalog/upload/?product={product.pk}").status_code == 404


def test_it_opens_a_loose_photo_on_its_own_page(owner_client, team, outsider, viewer, product_with_photos):
    product, _ids = product_with_photos
    loose = make_product_image(team, colour=(120, 200, 120), name="loose shot.jpg")
    photos = owner_client.get("/catalog/photos/").content.decode()
    assert f'href="/catalog/images/{loose.pk}/"' in photos
    assert f'href="/catalog/images/{loose.pk}/file/"' not in photos
    page = owner_client.get(f"/catalog/images/{loose.pk}/").content.decode()
    assert "loose shot.jpg" in page and f'src="/catalog/images/{loose.pk}/file/"' in page
    assert "Not in a product yet" in page and f'<option value="{product.pk}"' in page
    assert f"/jobs/cutout/new/?images={loose.pk}" in page and f"/jobs/erase/image/{loose.pk}/" in page
    # Adding it to a product from its page.
    owner_client.post("/catalog/products/add-photos/", {"images": [loose.pk], "product": product.pk})
    loose.refresh_from_db()
    assert loose.product == product and order(product)[-1] == loose.pk
    assert client_for(outsider).get(f"/catalog/images/{loose.pk}/").status_code == 404
    viewer_page = client_for(viewer).get(f"/catalog/images/{loose.pk}/").content.decode()
    assert "Remove background" not in viewer_page and "Delete this photo" not in viewer_page


def cutout_result(team, owner, source: ProductImage) -> Result:
    job = Job.objects.create_for_images(team=team, kind="cutout", images=[source], created_by=owner)
    result = Result(team=team, job=job, item=job.items.get(), content_type="image/png", width=320, height=240)
    buffer = io.BytesIO()
    Image.new("RGBA", (320, 240), (10, 120, 200, 255)).save(buffer, "PNG")
    result.file.save("cut.png", ContentFile(buffer.getvalue()), save=False)
    result.save()
    job.items.update(status=Status.SUCCESS)
    return result


def test_it_saves_a_result_to_the_product_as_its_cover(owner_client, team, owner, product_with_photos):
    product, ids = product_with_photos
    result = cutout_result(team, owner, ProductImage.objects.get(pk=ids[2]))
    page = owner_client.get(result.job.get_absolute_url()).content.decode()
    assert 'name="cover" value="1"' in page
    response = owner_client.post(f"/jobs/results/{result.pk}/save/", {"cover": "1"})
    assert response.status_code == 302 and response["Location"] == product.get_absolute_url()
    saved = product.ordered_images().first()
    assert saved.pk not in ids and order(product) == [saved.pk, *ids]
    with saved.file.storage.open(saved.file.name, "rb") as handle:
        assert Image.open(handle).getpixel((5, 5)) == (10, 120, 200, 255)
    # Saving again without the box changes nothing; with it, an existing saved photo becomes the cover.
    owner_client.post(f"/jobs/results/{result.pk}/save/")
    assert order(product)[0] == saved.pk
    owner_client.post(f"/catalog/products/{product.pk}/photos/", {"image": ids[0], "action": "cover"})
    owner_client.post(f"/jobs/results/{result.pk}/save/", {"cover": "1"})
    assert order(product)[0] == saved.pk


def test_it_saves_a_result_after_the_product_s_photos_without_the_box(
    owner_client, team, owner, product_with_photos
):
    product, ids = product_with_photos
    result = cutout_result(team, owner, ProductImage.objects.get(pk=ids[0]))
    owner_client.post(f"/jobs/results/{result.pk}/save/")
    assert order(product)[:4] == ids and len(order(product)) == 5
