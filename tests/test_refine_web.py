"""The cut-out refine editor without a browser: the model's matte as the editor's "before", a refine with
strokes as its own job, saving a new version composed with the first result's settings (the old one
stays), and who may do what."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw

from catalog.models import ProductImage
from processing.engines.erase import encode_rle_mask
from processing.kinds.refine import CUTOUT_MATTE, CUTOUT_REFINE, INLINE_STROKES_CHARS
from processing.models import Job, JobItem, Result, Status
from tests.conftest import client_for, make_product

HTMX = {"HX-Request": "true"}
SIZE = 640
STAND = (120, 420, 520, 560)  # a blue stand the mug sits on: the model keeps it with the mug
MUG = (230, 170, 410, 430)
LID = (250, 120, 390, 170)  # a pale lid, close to the backdrop: the model drops it


def make_stand_photo() -> bytes:
    """A red mug with a pale lid on a blue stand, on a light backdrop (PNG)."""
    image = Image.new("RGB", (SIZE, SIZE), (236, 236, 232))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(STAND, radius=10, fill=(90, 110, 160))
    draw.rounded_rectangle(MUG, radius=24, fill=(190, 30, 40))
    draw.rectangle(LID, fill=(222, 222, 216))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def stand_only() -> np.ndarray:
    """The stand's pixels the mug does not cover."""
    mask = np.zeros((SIZE, SIZE), bool)
    x0, y0, x1, y1 = STAND
    mask[y0 + 12 : y1 - 12, x0 + 12 : x1 - 12] = True
    mx0, _my0, mx1, my1 = MUG
    mask[: my1 + 6, mx0 - 6 : mx1 + 6] = False
    return mask


def box_mask(box: tuple[int, int, int, int], margin: int = 6) -> np.ndarray:
    mask = np.zeros((SIZE, SIZE), bool)
    x0, y0, x1, y1 = box
    mask[y0 + margin : y1 - margin, x0 + margin : x1 - margin] = True
    return mask


def strokes() -> tuple[np.ndarray, np.ndarray]:
    """A remove line across the stand (a small part of it) and a keep line along the lid."""
    remove = np.zeros((SIZE, SIZE), bool)
    remove[478:502, 160:480] = True
    keep = np.zeros((SIZE, SIZE), bool)
    keep[138:152, 290:350] = True
    return keep, remove


def run_job(job: Job) -> Job:
    """What the worker does, in this process."""
    assert job.claim()
    job.run()
    job.refresh_from_db()
    return job


def decoded(field_file) -> Image.Image:
    with field_file.storage.open(field_file.name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


@pytest.fixture
def cutout(team, owner):
    """A transparent cut-out of the stand photo, made by the real engine: it kept the stand."""
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
    result = Result.objects.get(job=job)
    alpha = np.asarray(decoded(result.file))[..., 3]
    assert (alpha[stand_only()] >= 128).mean() > 0.9  # the model's mistake this editor is for
    assert (alpha[box_mask(LID)] >= 128).mean() < 0.1
    return result


def test_it_refines_a_cut_out_and_saves_a_new_version(cutout, owner):
    client = client_for(owner)
    image = cutout.item.image
    page = client.get(f"/jobs/cutout/refine/{cutout.pk}/").content.decode()
    assert f"/catalog/images/{image.pk}/file/" in page and f"/jobs/cutout/refine/{cutout.pk}/matte/" in page
    assert "refine_editor.js" in page

    # Opening the editor computes the model's matte once; a second open reuses it.
    base_answer = client.post(f"/jobs/cutout/refine/{cutout.pk}/matte/", headers=HTMX)
    assert base_answer.status_code == 200
    client.post(f"/jobs/cutout/refine/{cutout.pk}/matte/", headers=HTMX)
    matte_job = Job.objects.get(kind=CUTOUT_MATTE)
    run_job(matte_job)
    status = client.get(
        f"/jobs/cutout/refine/{cutout.pk}/matte/{matte_job.pk}/", headers=HTMX
    ).content.decode()
    matte_result = Result.objects.get(job=matte_job)
    assert f'data-matte-result="{matte_result.pk}"' in status
    before = np.asarray(decoded(matte_result.file))
    result_alpha = np.asarray(decoded(cutout.file))[..., 3]
    assert before.shape == (SIZE, SIZE)
    assert ((before >= 128) == (result_alpha >= 128)).mean() > 0.999  # the matte the result was made of

    keep, remove = strokes()
    answer = client.post(
        f"/jobs/cutout/refine/{cutout.pk}/apply/",
        {"keep": encode_rle_mask(keep), "remove": encode_rle_mask(remove), "base": matte_result.pk},
        headers=HTMX,
    )
    refine_job = Job.objects.get(kind=CUTOUT_REFINE)
    assert answer.status_code == 200 and f"/apply/{refine_job.pk}/" in answer.content.decode()
    run_job(refine_job)
    run = client.get(f"/jobs/cutout/refine/{cutout.pk}/apply/{refine_job.pk}/", headers=HTMX).content.decode()
    refined = Result.objects.get(job=refine_job)
    assert f'data-refine-result="{refined.pk}"' in run and "removed" in run
    after = np.asarray(decoded(refined.file))
    assert (after[stand_only()] >= 128).mean() < 0.05  # the whole stand went, not just the stroke
    assert (after[box_mask(LID)] >= 128).mean() > 0.95  # the whole lid came back
    assert (after[box_mask(MUG, 30)] == 255).all()
    assert refined.metadata["removed_pixels"] > 0.8 * stand_only().sum()

    saved = client.post(f"/jobs/cutout/refine/{cutout.pk}/save/", {"refined": refined.pk}, headers=HTMX)
    version_job = Job.objects.filter(kind="cutout").exclude(pk=cutout.job_id).get()
    assert saved.status_code == 200 and f"/save/{version_job.pk}/" in saved.content.decode()
    assert version_job.params["background"] == "transparent"
    run_job(version_job)
    assert version_job.status == Status.SUCCESS
    done = client.get(
        f"/jobs/cutout/refine/{cutout.pk}/save/{version_job.pk}/", headers=HTMX
    ).content.decode()
    version = Result.objects.get(job=version_job)
    assert "Saved as a new version" in done and version_job.get_absolute_url() in done
    assert f"/jobs/results/{version.pk}/save/" in done and 'name="cover"' in done
    png = decoded(version.file)
    assert png.mode == "RGBA" and png.size == (SIZE, SIZE)
    alpha = np.asarray(png)[..., 3]
    assert (alpha[stand_only()] >= 128).mean() < 0.05 and (alpha[box_mask(LID)] >= 128).mean() > 0.95
    assert version.metadata["refined_from"] == cutout.pk and version.metadata["matte_result"] == refined.pk
    # The old version stays as it was.
    assert np.array_equal(np.asarray(decoded(Result.objects.get(pk=cutout.pk).file))[..., 3], result_alpha)
    assert "refined by hand" in client.get(version_job.get_absolute_url()).content.decode()

    # Refining the new version goes on from its own matte: no new model run.
    again = client.get(f"/jobs/cutout/refine/{version.pk}/").content.decode()
    assert f'data-matte-result="{refined.pk}"' in again
    assert Job.objects.filter(kind=CUTOUT_MATTE).count() == 1


def test_it_says_what_is_wrong_with_the_strokes(cutout, owner):
    client = client_for(owner)
    client.post(f"/jobs/cutout/refine/{cutout.pk}/matte/", headers=HTMX)
    matte_result_job = run_job(Job.objects.get(kind=CUTOUT_MATTE))
    base = Result.objects.get(job=matte_result_job).pk
    url = f"/jobs/cutout/refine/{cutout.pk}/apply/"
    nothing = client.post(url, {"keep": "", "remove": "", "base": base}, headers=HTMX).content.decode()
    assert "Nothing to refine" in nothing
    too_long = client.post(url, {"keep": f"0 {SIZE * SIZE + 5}", "base": base}, headers=HTMX).content.decode()
    assert "do not fit this photo" in too_long
    bad_box = client.post(url, {"box": "1,2,3", "base": base}, headers=HTMX).content.decode()
    assert "four whole numbers" in bad_box
    save = client.post(
        f"/jobs/cutout/refine/{cutout.pk}/save/", {"refined": ""}, headers=HTMX
    ).content.decode()
    assert "Refine the cut-out first" in save
    assert not Job.objects.filter(kind=CUTOUT_REFINE).exists()
    assert Job.objects.filter(kind="cutout").count() == 1


def test_it_refines_with_a_box_only(cutout, owner):
    client = client_for(owner)
    client.post(f"/jobs/cutout/refine/{cutout.pk}/matte/", headers=HTMX)
    base = Result.objects.get(job=run_job(Job.objects.get(kind=CUTOUT_MATTE))).pk
    client.post(
        f"/jobs/cutout/refine/{cutout.pk}/apply/", {"box": "200,100,440,440", "base": base}, headers=HTMX
    )
    job = run_job(Job.objects.get(kind=CUTOUT_REFINE))
    after = np.asarray(decoded(Result.objects.get(job=job).file))
    assert job.items.get().params["box"] == [200, 100, 440, 440]
    assert not after[440:].any() and not after[:, :200].any() and (after[box_mask(MUG, 30)] == 255).all()


def test_it_keeps_long_strokes_in_storage_and_deletes_them_with_the_job(
    cutout, owner, django_capture_on_commit_callbacks
):
    client = client_for(owner)
    client.post(f"/jobs/cutout/refine/{cutout.pk}/matte/", headers=HTMX)
    base = Result.objects.get(job=run_job(Job.objects.get(kind=CUTOUT_MATTE))).pk
    # A checkered stroke: thousands of runs, far more than fits inline.
    remove = np.zeros((SIZE, SIZE), bool)
    remove[430:560:2, 130:510:2] = True
    rle = encode_rle_mask(remove)
    assert len(rle) > INLINE_STROKES_CHARS
    client.post(f"/jobs/cutout/refine/{cutout.pk}/apply/", {"remove": rle, "base": base}, headers=HTMX)
    job = run_job(Job.objects.get(kind=CUTOUT_REFINE))
    name = job.items.get().params["strokes_file"]
    assert default_storage.exists(name) and job.status == Status.SUCCESS
    assert (np.asarray(decoded(Result.objects.get(job=job).file))[remove] == 0).all()
    with django_capture_on_commit_callbacks(execute=True):
        job.delete()
    assert not default_storage.exists(name)


def test_it_keeps_the_editor_to_editors_of_the_team(cutout, owner, viewer, outsider):
    url = f"/jobs/cutout/refine/{cutout.pk}/"
    assert client_for(viewer).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).post(f"{url}matte/", headers=HTMX).status_code == 404
    # Another team's matte cannot be the base of this team's refine, nor saved as its version.
    rival_team = outsider.memberships.get().team
    rival_image = ProductImage.objects.ingest(
        team=rival_team, data=make_stand_photo(), original_filename="x.png", uploaded_by=outsider
    )[0]
    rival_job = Job.objects.create_with_items(
        team=rival_team, kind=CUTOUT_REFINE, items=[JobItem(image=rival_image)], enqueue=False
    )
    rival = Result(team=rival_team, job=rival_job, item=rival_job.items.get(), content_type="image/png")
    rival.file.save("m.png", ContentFile(b"not needed"), save=False)
    rival.save()
    client = client_for(owner)
    keep, _remove = strokes()
    answer = client.post(f"{url}apply/", {"keep": encode_rle_mask(keep), "base": rival.pk}, headers=HTMX)
    assert "not ready or not this photo" in answer.content.decode()
    saved = client.post(f"{url}save/", {"refined": rival.pk}, headers=HTMX).content.decode()
    assert "Refine the cut-out first" in saved
    assert not Job.objects.filter(team=cutout.team, kind=CUTOUT_REFINE).exists()


def test_it_explains_that_a_cut_out_without_its_photo_cannot_be_refined(cutout, owner):
    image = cutout.item.image
    image.delete()
    response = client_for(owner).get(f"/jobs/cutout/refine/{cutout.pk}/", follow=True)
    assert "was deleted, so it cannot be refined" in response.content.decode()
    assert (
        "Refine: keep and remove brushes"
        not in client_for(owner).get(cutout.job.get_absolute_url()).content.decode()
    )


def test_it_links_the_refine_editor_from_each_cut_out_result(cutout, owner, viewer):
    page = client_for(owner).get(cutout.job.get_absolute_url()).content.decode()
    assert f"/jobs/cutout/refine/{cutout.pk}/" in page
    assert (
        f"/jobs/cutout/refine/{cutout.pk}/"
        not in client_for(viewer).get(cutout.job.get_absolute_url()).content.decode()
    )
