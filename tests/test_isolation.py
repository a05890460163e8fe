"""Team isolation: every page and file URL of one team answers 404 to members of another team."""

import pytest
from django.urls import reverse

from processing.models import Job, Status
from tests.conftest import client_for, make_product, make_product_image


@pytest.fixture
def catalog_objects(team, owner):
    product = make_product(team, "Bamboo cutting board", sku="BB-01")
    image = make_product_image(team, product=product)
    from processing.engines.imagefacts import make_thumbnail
    from processing.engines.imageio import decode_image

    image.store_thumbnail(make_thumbnail(decode_image(image.read_bytes()).image), {"width": image.width})
    job = Job.objects.create_for_images(team=team, kind="image_facts", images=[image], created_by=owner)
    assert job.claim()
    job.run()
    result = job.results.get()
    return {"product": product, "image": image, "job": job, "result": result}


def object_urls(objects) -> dict[str, str]:
    product, image, job, result = objects["product"], objects["image"], objects["job"], objects["result"]
    return {
        "product detail": reverse("catalog:product_detail", args=[product.pk]),
        "product edit": reverse("catalog:product_edit", args=[product.pk]),
        "image file": reverse("catalog:image_file", args=[image.pk]),
        "image thumbnail": reverse("catalog:image_thumbnail", args=[image.pk]),
        "image tile": reverse("catalog:image_tile", args=[image.pk]),
        "job page": reverse("processing:job_detail", args=[job.pk]),
        "result file": reverse("processing:result_file", args=[result.pk]),
        "result download": reverse("processing:result_download", args=[result.pk, "png"]),
        "job zip": reverse("processing:job_zip", args=[job.pk]),
    }


def test_it_shows_every_object_to_the_owner_and_teammates(catalog_objects, owner, teammate, viewer):
    for user in (owner, teammate, viewer):
        client = client_for(user)
        for name, url in object_urls(catalog_objects).items():
            if name == "product edit" and user is viewer:
                continue
            response = client.get(url)
            assert response.status_code in (200, 302), f"{user} {name}: {response.status_code}"


def test_it_answers_404_to_an_outsider_for_every_object(catalog_objects, outsider):
    client = client_for(outsider)
    for name, url in object_urls(catalog_objects).items():
        assert client.get(url).status_code == 404, name
    posts = {
        "product delete": reverse("catalog:product_delete", args=[catalog_objects["product"].pk]),
        "image delete": reverse("catalog:image_delete", args=[catalog_objects["image"].pk]),
        "job cancel": reverse("processing:job_cancel", args=[catalog_objects["job"].pk]),
        "result save": reverse("processing:result_save", args=[catalog_objects["result"].pk]),
    }
    for name, url in posts.items():
        assert client.post(url).status_code == 404, name
    catalog_objects["product"].refresh_from_db()


def test_it_keeps_other_teams_out_of_lists(catalog_objects, outsider):
    client = client_for(outsider)
    for url in (
        reverse("catalog:product_list"),
        reverse("catalog:photo_list"),
        reverse("processing:job_list"),
    ):
        page = client.get(url).content.decode()
        assert "Bamboo cutting board" not in page
        assert f"/jobs/{catalog_objects['job'].pk}/" not in page
        assert "photo.jpg" not in page


def test_it_does_not_attach_another_teams_photos_to_a_product(catalog_objects, outsider):
    client = client_for(outsider)
    stolen = catalog_objects["image"]
    client.post(
        reverse("catalog:product_create"), {"title": "Mine now", "category": 1, "images": [stolen.pk]}
    )
    stolen.refresh_from_db()
    assert stolen.product == catalog_objects["product"]


def test_it_does_not_start_jobs_on_another_teams_photos(catalog_objects, outsider):
    client = client_for(outsider)
    response = client.post(
        reverse("processing:cutout_new"),
        {
            "images": [catalog_objects["image"].pk],
            "background": "white",
            "model_type": "general",
            "size": "original",
            "margin": 5,
        },
    )
    assert response.status_code == 200 and "No photos chosen" in response.content.decode()
    assert not Job.objects.filter(team__memberships__user=outsider).exists()


def test_it_refuses_changes_by_a_viewer(catalog_objects, viewer):
    client = client_for(viewer)
    product = catalog_objects["product"]
    assert client.post(reverse("catalog:product_delete", args=[product.pk])).status_code == 403
    assert client.get(reverse("catalog:product_edit", args=[product.pk])).status_code == 403
    assert client.post(reverse("processing:job_cancel", args=[catalog_objects["job"].pk])).status_code == 403
    assert client.get(reverse("catalog:product_create")).status_code == 403
    assert client.get(reverse("processing:cutout_new")).status_code == 403
    assert (
        client.post(reverse("processing:result_save", args=[catalog_objects["result"].pk])).status_code == 403
    )
    product.refresh_from_db()


def test_it_sends_anonymous_visitors_to_the_login_page(catalog_objects, client):
    for name, url in object_urls(catalog_objects).items():
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), name


def test_it_serves_files_with_safe_headers(catalog_objects, owner):
    response = client_for(owner).get(
        reverse("catalog:image_file", args=[catalog_objects["image"].pk]), {"download": "1"}
    )
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_it_scopes_the_cancel_of_a_finished_job(catalog_objects, owner):
    job = catalog_objects["job"]
    assert job.status == Status.SUCCESS
    client_for(owner).post(reverse("processing:job_cancel", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == Status.SUCCESS
