"""Uploading photos: good files are stored once, bad files get a clear message and leave nothing."""

import base64
import gzip
import io
from pathlib import Path

import pytest
from django.urls import reverse
from PIL import Image

from catalog.models import ProductImage
from processing.models import Job, JobItem
from tests.conftest import client_for, make_image_bytes
from tests.test_access_matrix import catalog_objects, clients, world  # noqa: F401 (shared fixtures)
from tests.test_imageio import (
    make_16bit_png,
    make_bomb_png,
    make_cmyk_jpeg,
    make_exif_rotated_jpeg,
    make_palette_png_with_transparency,
)


def upload_one(client, name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(reverse("catalog:upload_file"), {"file": SimpleUploadedFile(name, data)})


def stored_files(media_root: Path) -> list[Path]:
    return [path for path in media_root.rglob("*") if path.is_file()] if media_root.exists() else []


BAD_FILES = {
    "truncated.jpg": (lambda: make_image_bytes(800, 600)[:3000], "damaged or truncated"),
    "notes.jpg": (lambda: b"just some text, not a photo\n" * 10, "not an image"),
    "dot.png": (lambda: make_image_bytes(1, 1, image_format="PNG"), "at least 100 pixels"),
    "bomb.png": (make_bomb_png, "megapixels"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_it_refuses_bad_files_with_a_message_and_leaves_nothing(owner_client, team, media_root, name):
    make_bytes, expected_message = BAD_FILES[name]
    response = upload_one(owner_client, name, make_bytes())
    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False and expected_message in body["error"]
    assert ProductImage.objects.count() == 0
    assert stored_files(media_root) == []


GOOD_AWKWARD_FILES = {
    "cmyk.jpg": (make_cmyk_jpeg, (200, 150)),
    "deep.png": (make_16bit_png, (200, 150)),
    "palette.png": (make_palette_png_with_transparency, (160, 120)),
    "rotated.jpg": (make_exif_rotated_jpeg, (100, 300)),
}


@pytest.mark.parametrize("name", GOOD_AWKWARD_FILES)
def test_it_accepts_awkward_but_valid_photos(owner_client, team, name, settings):
    settings.MIN_IMAGE_SIDE = 100
    make_bytes, expected_size = GOOD_AWKWARD_FILES[name]
    response = upload_one(owner_client, name, make_bytes())
    assert response.status_code == 200, response.content
    image = ProductImage.objects.get()
    assert (image.width, image.height) == expected_size  # EXIF orientation applied to the recorded size
    assert image.original_filename == name


def test_it_recognises_a_reupload_of_the_same_bytes(owner_client, team, media_root):
    data = make_image_bytes()
    first = upload_one(owner_client, "a.jpg", data).json()
    second = upload_one(owner_client, "copy-of-a.jpg", data).json()
    assert first["image"]["id"] == second["image"]["id"]
    assert second["image"]["duplicate"] is True
    assert ProductImage.objects.count() == 1
    assert len(stored_files(media_root)) == 1


def test_it_keeps_the_same_bytes_apart_in_two_teams(owner_client, team, outsider):
    data = make_image_bytes()
    upload_one(owner_client, "a.jpg", data)
    upload_one(client_for(outsider), "a.jpg", data)
    assert ProductImage.objects.count() == 2
    assert ProductImage.objects.values("team").distinct().count() == 2


def test_it_stores_the_content_type_from_the_bytes_not_the_name(owner_client, team):
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (1, 2, 3)).save(buffer, "PNG")
    upload_one(owner_client, "looks-like.jpg", buffer.getvalue())
    image = ProductImage.objects.get()
    assert image.format == "PNG" and image.content_type == "image/png"
    assert image.file.name.endswith(".png")


def test_it_lets_good_files_through_when_a_batch_has_bad_ones(owner_client, team, media_root):
    from django.core.files.uploadedfile import SimpleUploadedFile

    files = [
        SimpleUploadedFile("good-1.jpg", make_image_bytes(colour=(10, 200, 10))),
        SimpleUploadedFile("broken.jpg", b"\xff\xd8\xff garbage"),
        SimpleUploadedFile("good-2.png", make_image_bytes(colour=(10, 10, 200), image_format="PNG")),
    ]
    response = owner_client.post(reverse("catalog:upload"), {"files": files}, follow=True)
    assert response.status_code == 200
    assert sorted(ProductImage.objects.values_list("original_filename", flat=True)) == [
        "good-1.jpg",
        "good-2.png",
    ]
    page = response.content.decode()
    assert "broken.jpg" in page and "not an image" in page
    job = Job.objects.get()
    assert job.kind == "image_facts" and job.items.count() == 2
    assert len(stored_files(media_root)) == 2


def test_it_starts_one_facts_job_for_a_finished_batch(owner_client, team):
    ids = [
        upload_one(owner_client, f"p{n}.jpg", make_image_bytes(colour=(n * 40, 90, 90))).json()["image"]["id"]
        for n in range(3)
    ]
    response = owner_client.post(reverse("catalog:upload_finish"), {"images": ids})
    assert response.status_code == 200
    job = Job.objects.get()
    assert sorted(JobItem.objects.filter(job=job).values_list("image_id", flat=True)) == sorted(ids)
    assert 'id="job-status"' in response.content.decode()


def test_it_does_not_let_a_viewer_upload(team, viewer, media_root):
    response = upload_one(client_for(viewer), "a.jpg", make_image_bytes())
    assert response.status_code == 403
    assert ProductImage.objects.count() == 0
    assert client_for(viewer).get(reverse("catalog:upload")).status_code == 403


def test_it_refuses_files_over_the_size_limit(owner_client, team, settings):
    settings.MAX_UPLOAD_BYTES = 2048
    response = upload_one(owner_client, "big.jpg", make_image_bytes(800, 800))
    assert response.status_code == 422 and "larger than" in response.json()["error"]


def test_it_deletes_files_with_their_product(
    owner_client, team, media_root, django_capture_on_commit_callbacks
):
    ids = [
        upload_one(owner_client, f"p{n}.jpg", make_image_bytes(colour=(n * 60, 20, 20))).json()["image"]["id"]
        for n in range(2)
    ]
    owner_client.post(reverse("catalog:product_create"), {"title": "Red mug", "category": 3, "images": ids})
    product = team.products.get()
    assert product.images.count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("catalog:product_delete", args=[product.pk]))
    assert ProductImage.objects.count() == 0
    assert stored_files(media_root) == []


# --- active content: SVG and HTML never become stored images -------------------------------------------
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="400" height="400">'
    b'<script>alert(document.cookie)</script><rect width="400" height="400" fill="red"/></svg>'
)
HTML = b"<!doctype html><html><body><script>fetch('/catalog/team/tokens/')</script><h1>hi</h1></body></html>"
ACTIVE_FILES = {
    "drawing.svg": (SVG, "image/svg+xml"),
    "drawing-named.png": (SVG, "image/png"),
    "gzipped.svgz": (gzip.compress(SVG), "image/svg+xml"),
    "page.html": (HTML, "text/html"),
    "page-named.jpg": (HTML, "image/jpeg"),
    "jpeg-magic-then-html.jpg": (b"\xff\xd8\xff\xe0" + HTML, "image/jpeg"),
    "xhtml.xhtml": (
        b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"></html>',
        "application/xhtml+xml",
    ),
}


@pytest.mark.parametrize("name", ACTIVE_FILES)
def test_it_refuses_svg_and_html_uploads(owner_client, team, media_root, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data, content_type = ACTIVE_FILES[name]
    response = owner_client.post(
        reverse("catalog:upload_file"), {"file": SimpleUploadedFile(name, data, content_type=content_type)}
    )
    assert response.status_code == 422 and response.json()["ok"] is False
    assert ProductImage.objects.count() == 0 and stored_files(media_root) == []


def test_it_names_and_types_a_stored_file_by_its_decoded_format(owner_client, team):
    """A real JPEG with an HTML tail, named .html and sent as text/html, is stored and served as a JPEG:
    the name and the browser's content type are never trusted."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    polyglot = make_image_bytes(300, 200) + HTML
    upload = SimpleUploadedFile("evil.html", polyglot, content_type="text/html")
    assert owner_client.post(reverse("catalog:upload_file"), {"file": upload}).status_code == 200
    image = ProductImage.objects.get()
    assert image.content_type == "image/jpeg" and image.file.name.endswith(".jpg")
    for download in ("", "1"):
        response = owner_client.get(reverse("catalog:image_file", args=[image.pk]), {"download": download})
        assert response["Content-Type"] == "image/jpeg"
        assert response["X-Content-Type-Options"] == "nosniff"
        disposition = response["Content-Disposition"]
        assert (
            disposition.startswith("attachment" if download else "inline")
            and 'filename="evil.jpg"' in disposition
        )


def test_it_serves_every_file_download_with_a_disposition_and_nosniff(world, clients):  # noqa: F811
    """Photos, thumbnails, tiles, results (file, converted download, ZIP), scene files and signed links."""
    from processing.api import signed_result_path
    from processing.views.scenes import signed_cover_path

    urls = [
        reverse("catalog:image_file", args=[world.image.pk]),
        reverse("catalog:image_file", args=[world.image.pk]) + "?download=1",
        reverse("catalog:image_thumbnail", args=[world.image.pk]),
        reverse("processing:result_file", args=[world.result.pk]),
        reverse("processing:result_download", args=[world.result.pk, "webp"]),
        reverse("processing:job_zip", args=[world.result.job.pk]),
        reverse("processing:scene_photo", args=[world.scene.model_num]),
        reverse("processing:scene_cover", args=[world.scene.model_num]),
    ]
    for url in urls:
        response = clients["owner"].get(url)
        assert response.status_code == 200, url
        assert response["X-Content-Type-Options"] == "nosniff", url
        assert response.get("Content-Disposition"), url
        assert not response["Content-Type"].startswith(("text/html", "image/svg")), url
    for url in (signed_result_path(world.result.pk), signed_cover_path(world.scene)):
        response = clients["anonymous"].get(url)
        assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff", url
        assert response.get("Content-Disposition"), url


@pytest.fixture
def api_token(team, owner):
    from catalog.models import ApiToken, SearchInstance

    SearchInstance.objects.create(team=team, name="uploads1")
    return ApiToken.objects.create_token(team, "uploads", owner)[1]


@pytest.mark.parametrize("payload", [SVG, HTML, gzip.compress(SVG)], ids=["svg", "html", "svgz"])
def test_it_refuses_svg_and_html_through_the_apis(api_token, client, payload, settings):
    settings.API_RATE_LIMIT_QPS = 1000
    encoded = base64.b64encode(payload).decode()
    headers = {"Authorization": f"APPCODE {api_token}"}
    cut = client.post(
        "/ai/image/cut/out", {"imageBase64": encoded, "backGroundType": "TRANSPARENT"}, headers=headers
    )
    assert cut.json()["resCode"] == 700 and "imageBase64" in cut.json()["resMessage"]
    erase = client.post(
        "/ai/image/removal", {"image_Base64": encoded, "object_remove_elements": "[1]"}, headers=headers
    )
    assert erase.json()["resCode"] in (702, 704)
    scene = client.post(
        "/ai/image/background/generation/scene/query", {"imageBase64": encoded}, headers=headers
    )
    assert scene.json()["resCode"] == 700
    add = client.post(
        "/api/imagesearch",
        {
            "Action": "AddImage",
            "InstanceName": "uploads1",
            "ProductId": "P1",
            "PicName": "a.svg",
            "PicContent": encoded,
        },
        headers=headers,
    )
    assert add.status_code == 400 and add.json()["Code"] == "UnsupportedPicFormat"
    assert ProductImage.objects.count() == 0
