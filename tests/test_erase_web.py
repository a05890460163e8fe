"""Erase in the browser without a browser: the batch job (scope: printed product text stays), the
editor's detection and hand-mask jobs, the results gallery, and team isolation."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from catalog.models import ProductImage
from processing.engines.erase import decode_rle_mask, encode_rle_mask
from processing.kinds import ItemOutcome
from processing.kinds.erase import INLINE_MASK_CHARS
from processing.models import Job, Result, Status
from tests.conftest import client_for, make_product
from tests.test_erase_api import LOGO_BOX, PRINTED_BOX, PROMO_BOX, make_erase_photo, red_pixels, region

HTMX = {"HX-Request": "true"}


def run_job(job: Job) -> Job:
    """What the worker does, in this process."""
    assert job.claim()
    job.run()
    job.refresh_from_db()
    return job


def add_photo(team, owner, product=None, promo: bool = True) -> ProductImage:
    image, _ = ProductImage.objects.ingest(
        team=team,
        data=make_erase_photo(promo=promo),
        original_filename="mug.png",
        uploaded_by=owner,
        product=product,
    )
    return image


def pixels(field_file) -> np.ndarray:
    with field_file.storage.open(field_file.name, "rb") as handle:
        return np.asarray(Image.open(io.BytesIO(handle.read())).convert("RGB"))


def test_it_offers_erase_next_to_remove_background(owner, team):
    product = make_product(team)
    image = add_photo(team, owner, product, promo=False)
    client = client_for(owner)
    photos = client.get("/catalog/photos/").content.decode()
    assert "/jobs/erase/new/" in photos and "Erase elements" in photos
    page = client.get(product.get_absolute_url()).content.decode()
    assert f"/jobs/erase/new/?images={image.pk}" in page
    form = client.get(f"/jobs/erase/new/?images={image.pk}").content.decode()
    assert f"/jobs/erase/image/{image.pk}/" in form  # each photo can open the editor
    # Defaults: nothing on the product, every type on the background.
    assert form.count('name="object_types"') == 4 and form.count('name="non_object_types"') == 4
    assert (
        'name="object_types" value="1" ' in form and "checked" not in form.split('name="non_object_types"')[0]
    )


def test_it_refuses_a_batch_with_no_types(owner, team):
    image = add_photo(team, owner, promo=False)
    response = client_for(owner).post("/jobs/erase/new/", {"images": [image.pk]})
    assert response.status_code == 200 and "Choose at least one type" in response.content.decode()
    assert not Job.objects.exists()


def test_it_keeps_product_text_in_a_batch_with_background_types_only(owner, team):
    product = make_product(team)
    image = add_photo(team, owner, product)
    response = client_for(owner).post(
        "/jobs/erase/new/", {"images": [image.pk], "non_object_types": ["1", "2", "3", "4"]}
    )
    job = Job.objects.get(kind="erase")
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.params["object_types"] == [] and job.params["non_object_types"] == [1, 2, 3, 4]
    run_job(job)
    assert job.status == Status.SUCCESS, job.items.get().error_message
    result = Result.objects.get(job=job)
    before, after = pixels(image.file), pixels(result.file)
    assert np.array_equal(region(after, PRINTED_BOX), region(before, PRINTED_BOX))
    assert red_pixels(region(before, PROMO_BOX)) > 500 and red_pixels(region(after, PROMO_BOX)) < 20
    kept = [e for e in result.metadata["elements"] if e["onSubject"]]
    assert kept and not any(e["removed"] for e in kept)
    assert result.metadata["source_image"] == image.pk

    client = client_for(owner)
    page = client.get(job.get_absolute_url()).content.decode()
    assert "erase-results" in page and "compare-range" in page
    assert f"/jobs/erase/image/{image.pk}/" in page  # re-open in editor
    assert f"/jobs/results/{result.pk}/save/" in page
    saved = client.post(f"/jobs/results/{result.pk}/save/")
    assert saved.status_code == 302 and product.images.count() == 2  # the original is kept


def test_it_detects_elements_for_the_editor_then_erases_a_painted_mask(owner, team):
    image = add_photo(team, owner)
    client = client_for(owner)
    editor = client.get(f"/jobs/erase/image/{image.pk}/").content.decode()
    assert f'data-width="{image.width}"' in editor and "erase_editor.js" in editor
    assert f"/jobs/erase/image/{image.pk}/detect/" in editor and 'hx-trigger="load"' in editor

    started = client.post(f"/jobs/erase/image/{image.pk}/detect/", headers=HTMX)
    detect = Job.objects.get(kind="erase_detect")
    assert 'hx-trigger="every 1s"' in started.content.decode()
    assert client.post(f"/jobs/erase/image/{image.pk}/detect/", headers=HTMX).status_code == 200
    assert Job.objects.filter(kind="erase_detect").count() == 1  # reused, not run twice
    run_job(detect)
    assert detect.status == Status.SUCCESS
    status = client.get(f"/jobs/erase/detect/{detect.pk}/", headers=HTMX).content.decode()
    assert "hx-trigger" not in status and "erase-element-toggle" in status and "data-elements-url" in status
    payload = client.get(f"/jobs/erase/detect/{detect.pk}/elements.json").json()
    assert (payload["width"], payload["height"]) == (image.width, image.height) and payload["subject"]
    assert payload["elements"] and all(e["mask"] for e in payload["elements"])
    promo = next(e for e in payload["elements"] if not e["onSubject"] and e["box"][1] < PROMO_BOX[3])
    assert decode_rle_mask(promo["mask"], image.width, image.height).any()

    # What the editor sends: the selected element's pixels plus a painted rectangle, as one RLE.
    mask = decode_rle_mask(promo["mask"], image.width, image.height) > 0
    x0, y0, x1, y1 = LOGO_BOX
    mask[y0 - 6 : y1 + 7, x0 - 6 : x1 + 7] = True
    detection_result = Result.objects.get(job=detect)
    response = client.post(
        f"/jobs/erase/image/{image.pk}/apply/",
        {"mask": encode_rle_mask(mask), "detection": detection_result.pk},
        headers=HTMX,
    )
    job = Job.objects.get(kind="erase")
    assert 'hx-trigger="every 1s"' in response.content.decode()
    item = job.items.get()
    assert item.image == image and item.params["detection_result"] == detection_result.pk
    run_job(job)
    assert job.status == Status.SUCCESS, item.error_message
    result = Result.objects.get(job=job)
    assert result.metadata["mode"] == "mask" and result.metadata["erased_pixels"] == int(mask.sum())
    before, after = pixels(image.file), pixels(result.file)
    assert region(after, LOGO_BOX).mean() > 200 and red_pixels(region(after, PROMO_BOX)) < 20
    assert np.array_equal(after[~mask], before[~mask])
    shown = client.get(f"/jobs/erase/result/{job.pk}/", headers=HTMX).content.decode()
    assert (
        "hx-trigger" not in shown and "compare-range" in shown and f"/jobs/results/{result.pk}/save/" in shown
    )


def test_it_stores_a_large_painted_mask_as_a_file(owner, team, media_root):
    image = add_photo(team, owner, promo=False)
    mask = np.zeros((image.height, image.width), np.uint8)
    mask[100:500:2, 20:30] = mask[100:500:2, 40:50] = mask[100:500:2, 60:70] = 1  # a long RLE text
    rle = encode_rle_mask(mask)
    assert len(rle) > INLINE_MASK_CHARS
    client_for(owner).post(f"/jobs/erase/image/{image.pk}/apply/", {"mask": rle}, headers=HTMX)
    item = Job.objects.get(kind="erase").items.get()
    assert "mask" not in item.params and item.params["mask_file"].startswith(f"teams/{team.pk}/erase-masks/")
    assert (media_root / item.params["mask_file"]).read_text() == rle


@pytest.mark.parametrize("mask", ["", "0 5 3", "12 x", f"{640 * 640} 1"])
def test_it_refuses_empty_or_malformed_editor_masks(owner, team, mask):
    image = add_photo(team, owner, promo=False)
    response = client_for(owner).post(f"/jobs/erase/image/{image.pk}/apply/", {"mask": mask}, headers=HTMX)
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert not Job.objects.exists()


def test_it_keeps_the_editor_and_results_inside_the_team(owner, team, teammate, viewer, outsider):
    image = add_photo(team, owner, promo=False)
    detect = Job.objects.create_for_images(team=team, kind="erase_detect", images=[image], created_by=owner)
    erase_job = Job.objects.create_for_images(
        team=team, kind="erase", images=[image], created_by=owner, params={"non_object_types": [1]}
    )
    item = erase_job.items.get()
    assert erase_job.claim() and item.claim()
    item.succeed(
        ItemOutcome(width=640, height=640, file_bytes=make_erase_photo(promo=False), content_type="image/png")
    )
    result = Result.objects.get(job=erase_job)
    rival = client_for(outsider)
    for url in (
        f"/jobs/erase/image/{image.pk}/",
        f"/jobs/erase/detect/{detect.pk}/",
        f"/jobs/erase/detect/{detect.pk}/elements.json",
        f"/jobs/erase/result/{erase_job.pk}/",
        f"/jobs/{erase_job.pk}/",
        f"/jobs/results/{result.pk}/file/",
        f"/jobs/results/{result.pk}/download.png",
        f"/jobs/{erase_job.pk}/download.zip",
    ):
        assert rival.get(url, headers=HTMX).status_code == 404, url
    for url in (
        f"/jobs/erase/image/{image.pk}/detect/",
        f"/jobs/erase/image/{image.pk}/apply/",
        f"/jobs/results/{result.pk}/save/",
    ):
        assert rival.post(url, {"mask": "0 10"}, headers=HTMX).status_code == 404, url
    # Another team's photo ids are ignored by the batch form.
    response = rival.post("/jobs/erase/new/", {"images": [image.pk], "non_object_types": ["1"]})
    assert (
        response.status_code == 200 and not Job.objects.filter(team=outsider.memberships.get().team).exists()
    )
    # A detection job is not an erase job, and the other way round.
    assert client_for(owner).get(f"/jobs/erase/result/{detect.pk}/", headers=HTMX).status_code == 404
    # Viewers look but do not start jobs; teammates may.
    assert client_for(viewer).get(f"/jobs/erase/image/{image.pk}/").status_code == 403
    assert (
        client_for(viewer).post(f"/jobs/erase/image/{image.pk}/apply/", {"mask": "0 10"}).status_code == 403
    )
    assert client_for(teammate).get(f"/jobs/erase/image/{image.pk}/").status_code == 200
    assert client_for(viewer).get(f"/jobs/{erase_job.pk}/").status_code == 200
