"""The erase editor's page without a browser: detected elements listed by type with identical lines as one
(28 "PREVIEW ONLY" tiles are one line with a count), the always-visible action bar, and Accept answering
with a link to the new photo."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from PIL import Image

from catalog.models import ProductImage
from processing.kinds.erase import ERASE, ERASE_DETECT, TYPE_LABELS
from processing.models import Job, Result, Status
from processing.views.erase import element_groups
from tests.conftest import client_for, make_product, make_product_image

HTMX = {"HX-Request": "true"}


def element(kind: int, text: str, x: int, on_subject: bool = False) -> dict:
    return {
        "type": kind,
        "label": TYPE_LABELS[kind],
        "text": text,
        "box": [x, 10, x + 40, 30],
        "onSubject": on_subject,
    }


def tiled_detection() -> list[dict]:
    """28 tiles of one watermark, a shop name, and text printed on the product."""
    tiles = [element(1, "PREVIEW ONLY", 10 * n) for n in range(28)]
    return [
        *tiles[:10],
        element(2, "© Maple store", 5),
        *tiles[10:],
        element(3, "MAPLE", 50, on_subject=True),
    ]


def test_it_groups_elements_by_type_and_identical_lines():
    groups = element_groups(tiled_detection())
    assert [group["type"] for group in groups] == [1, 2, 3]
    watermark = groups[0]
    assert watermark["count"] == 28 and len(watermark["lines"]) == 1
    line = watermark["lines"][0]
    assert line["text"] == "PREVIEW ONLY" and line["count"] == 28 and line["checked"]
    assert line["indexes"] == [*range(10), *range(11, 29)]  # the indexes the editor's masks use
    printed = groups[2]
    assert printed["lines"][0]["on_subject"] == 1 and not printed["checked"]  # product text starts unticked
    # Spacing and case do not split a line.
    assert (
        len(element_groups([element(1, "Preview  only", 0), element(1, "PREVIEW ONLY", 9)])[0]["lines"]) == 1
    )


def detection_job(team, owner, image: ProductImage, elements: list[dict]) -> Job:
    job = Job.objects.create_for_images(team=team, kind=ERASE_DETECT, images=[image], created_by=owner)
    job.items.update(status=Status.SUCCESS)
    Job.objects.filter(pk=job.pk).update(status=Status.SUCCESS)
    result = Result(
        team=team,
        job=job,
        item=job.items.get(),
        content_type="application/json",
        metadata={"elements": elements, "subject_found": True},
    )
    result.file.save("detection.json", ContentFile(b'{"elements": []}'), save=False)
    result.save()
    return job


def test_it_lists_one_line_with_a_count_and_a_toggle_per_group(owner, team):
    image = make_product_image(team, name="mug.jpg")
    detection_job(team, owner, image, tiled_detection())
    page = client_for(owner).get(f"/jobs/erase/image/{image.pk}/").content.decode()
    assert page.count("PREVIEW ONLY") == 1 and "×28" in page
    assert page.count('class="erase-group-toggle"') == 3
    assert page.count('class="erase-line-toggle"') == 1 and page.count('class="erase-element-toggle"') == 30
    # The action bar holds the Erase button, above the photo; the canvas zooms.
    assert page.index('data-action="erase"') < page.index('class="erase-viewport"')
    assert 'data-action="zoom-in"' in page and "erase_editor.css" in page


def erase_result(team, owner, image: ProductImage) -> Result:
    job = Job.objects.create_for_images(team=team, kind=ERASE, images=[image], created_by=owner)
    job.items.update(status=Status.SUCCESS)
    Job.objects.filter(pk=job.pk).update(status=Status.SUCCESS)
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (250, 250, 250)).save(buffer, "PNG")
    result = Result(team=team, job=job, item=job.items.get(), content_type="image/png", width=320, height=240)
    result.file.save("erased.png", ContentFile(buffer.getvalue()), save=False)
    result.save()
    return result


def test_it_answers_accept_with_a_link_to_the_new_photo(owner, team):
    product = make_product(team, "Tumbler")
    image = make_product_image(team, product, name="tumbler.jpg")
    result = erase_result(team, owner, image)
    client = client_for(owner)
    status = client.get(f"/jobs/erase/result/{result.job_id}/", headers=HTMX).content.decode()
    assert 'hx-target="#saved-photo-slot"' in status and 'id="saved-photo-slot"' in status

    answer = client.post(f"/jobs/results/{result.pk}/save/", headers=HTMX)
    saved = ProductImage.objects.exclude(pk=image.pk).get()
    html = answer.content.decode()
    assert answer.status_code == 200 and "Saved as a new photo in Tumbler" in html
    assert f'href="/catalog/images/{saved.pk}/"' in html and f'href="{product.get_absolute_url()}"' in html
    assert saved.product == product
    photo_page = client.get(f"/catalog/images/{saved.pk}/").content.decode()
    assert "Tumbler" in photo_page and f"/catalog/images/{saved.pk}/file/" in photo_page
    # Accepting again says so, still with the link.
    again = client.post(f"/jobs/results/{result.pk}/save/", headers=HTMX).content.decode()
    assert "Already saved" in again and f'href="/catalog/images/{saved.pk}/"' in again
    assert ProductImage.objects.count() == 2


def test_it_takes_a_loose_photo_s_accept_to_the_new_photo_without_javascript(owner, team):
    image = make_product_image(team, name="loose.jpg")
    result = erase_result(team, owner, image)
    response = client_for(owner).post(f"/jobs/results/{result.pk}/save/")
    saved = ProductImage.objects.exclude(pk=image.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/catalog/images/{saved.pk}/"
    assert saved.product is None


def test_it_refuses_accept_to_a_viewer_and_another_team(owner, team, viewer, outsider):
    image = make_product_image(team, name="x.jpg")
    result = erase_result(team, owner, image)
    assert client_for(viewer).post(f"/jobs/results/{result.pk}/save/", headers=HTMX).status_code == 403
    assert client_for(outsider).post(f"/jobs/results/{result.pk}/save/", headers=HTMX).status_code == 404
    assert ProductImage.objects.count() == 1
