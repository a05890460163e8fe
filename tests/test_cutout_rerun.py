"""Re-running one cut-out with other settings from its result, and the cut-out form's background colour
and custom size fields."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from catalog.models import ProductImage
from processing.engines.cutout import pipeline
from processing.forms import CutoutForm
from processing.models import Job, Result, Status
from tests.conftest import client_for, make_product
from tests.test_api_cutout import make_product_photo


@pytest.fixture
def exact_matte(monkeypatch):
    """The model replaced by the photo's exact matte (the red shape of make_product_photo): settings, not
    the model, are what these tests look at."""

    def fake_analyse(rgb: np.ndarray, model_type: str = "general", **_kwargs) -> pipeline.Analysis:
        red = (rgb[..., 0] > 150) & (rgb[..., 1] < 90)
        alpha = np.where(red, 255, 0).astype(np.uint8)
        return pipeline.Analysis(alpha, 0.9, alpha.astype(np.float32) / 255.0)

    monkeypatch.setattr(pipeline, "analyse", fake_analyse)


def run_job(job: Job) -> Job:
    assert job.claim()
    job.run()
    job.refresh_from_db()
    return job


def finished_cutout(team, owner, **params) -> Result:
    product = make_product(team, "Red mug")
    photo, _created = ProductImage.objects.ingest(
        team=team,
        data=make_product_photo(400, 400),
        original_filename="mug.jpg",
        uploaded_by=owner,
        product=product,
    )
    job = Job.objects.create_for_images(
        team=team, kind="cutout", images=[photo], created_by=owner, params=params
    )
    job = run_job(job)
    assert job.status == Status.SUCCESS
    return job.results.get()


def result_pixels(result: Result) -> np.ndarray:
    with result.file.storage.open(result.file.name, "rb") as handle:
        return np.asarray(Image.open(io.BytesIO(handle.read())))


def test_it_reruns_one_photo_with_other_settings_from_its_result(owner, team, teammate, exact_matte):
    first = finished_cutout(
        team,
        owner,
        background="white",
        target_width=800,
        target_height=800,
        margin=0.05,
        model_type="general",
    )
    editor = client_for(teammate)
    job_page = editor.get(first.job.get_absolute_url()).content.decode()
    assert f"/jobs/results/{first.pk}/rerun/" in job_page and "Re-run with other settings" in job_page

    # The form starts from the settings the result was made with.
    form_page = editor.get(f"/jobs/results/{first.pk}/rerun/")
    assert form_page.status_code == 200
    initial = form_page.context["form"].initial
    assert (initial["background"], initial["size"], initial["margin"], initial["model_type"]) == (
        "white",
        "800x800",
        5,
        "general",
    )
    html = form_page.content.decode()
    assert 'value="800x800" selected' in html and "photo mug.jpg again" in html

    response = editor.post(
        f"/jobs/results/{first.pk}/rerun/",
        {
            "background": "colour",
            "background_colour": "#3366cc",
            "model_type": "human",
            "size": "custom",
            "width": "500",
            "height": "400",
            "margin": "10",
        },
    )
    rerun = Job.objects.exclude(pk=first.job_id).get()
    assert response.status_code == 302 and response["Location"] == rerun.get_absolute_url()
    assert [item.image_id for item in rerun.items.all()] == [first.item.image_id]
    assert rerun.params["background"] == "#3366cc" and rerun.params["model_type"] == "human"
    assert (rerun.params["target_width"], rerun.params["target_height"], rerun.params["margin"]) == (
        500,
        400,
        0.1,
    )
    assert rerun.params["rerun_of"] == {"job": first.job_id, "result": first.pk}

    rerun = run_job(rerun)
    second = rerun.results.get()
    pixels = result_pixels(second)
    assert pixels.shape == (400, 500, 3)
    assert tuple(pixels[2, 2]) == (0x33, 0x66, 0xCC) and tuple(pixels[-3, -3]) == (0x33, 0x66, 0xCC)
    assert second.metadata["background"] == "#3366cc" and second.metadata["model_type"] == "human"
    page = editor.get(rerun.get_absolute_url()).content.decode()
    assert f'a re-run of <a href="/jobs/{first.job_id}/">job #{first.job_id}</a>' in page
    # The first result is untouched.
    assert result_pixels(first).shape == (800, 800, 3)


def test_it_prefills_a_transparent_original_size_run(owner, team, exact_matte):
    result = finished_cutout(team, owner, background="transparent", margin=0.0, keep_shadow=True)
    initial = client_for(owner).get(f"/jobs/results/{result.pk}/rerun/").context["form"].initial
    assert (initial["background"], initial["size"], initial["margin"], initial["keep_shadow"]) == (
        "transparent",
        "original",
        0,
        True,
    )
    colour = CutoutForm.initial_from_params(
        {"background": "#102030", "target_width": 640, "target_height": 480}
    )
    assert colour["background"] == "colour" and colour["background_colour"] == "#102030"
    assert (colour["size"], colour["width"], colour["height"]) == ("custom", 640, 480)


def test_it_refuses_reruns_to_viewers_other_teams_and_other_kinds(owner, team, viewer, outsider, exact_matte):
    result = finished_cutout(team, owner, background="white")
    url = f"/jobs/results/{result.pk}/rerun/"
    assert client_for(viewer).get(url).status_code == 403
    assert client_for(viewer).post(url, {"background": "white"}).status_code == 403
    assert client_for(outsider).get(url).status_code == 404
    assert client_for(outsider).post(url, {"background": "white"}).status_code == 404
    assert (
        "Re-run with other settings"
        not in client_for(viewer).get(result.job.get_absolute_url()).content.decode()
    )
    assert Job.objects.count() == 1

    facts = Job.objects.create_for_images(
        team=team, kind="image_facts", images=[result.item.image], created_by=owner
    )
    facts_result = run_job(facts).results.get()
    assert client_for(owner).get(f"/jobs/results/{facts_result.pk}/rerun/").status_code == 404


def test_it_explains_when_the_original_photo_is_gone(owner, team, exact_matte):
    result = finished_cutout(team, owner, background="white")
    result.item.image.delete()
    client = client_for(owner)
    response = client.get(f"/jobs/results/{result.pk}/rerun/", follow=True)
    assert "no longer in the catalog" in response.content.decode()
    assert Job.objects.filter(kind="cutout").count() == 1


def form(**data) -> CutoutForm:
    base = {"background": "white", "model_type": "general", "size": "1000x1000", "margin": "5"}
    return CutoutForm({**base, **data})


def background_of(**data) -> str:
    valid = form(**data)
    assert valid.is_valid(), valid.errors
    return valid.job_params()["background"]


def test_it_takes_any_hex_colour_and_refuses_others():
    assert background_of(background="colour", background_colour="#A0b1C2") == "#a0b1c2"
    assert background_of(background="colour", background_colour="#abc") == "#aabbcc"
    assert background_of(background="colour", background_colour="#FFFFFF") == "white"
    bad = form(background="colour", background_colour="blue")
    assert not bad.is_valid() and "#rrggbb" in str(bad.errors["background_colour"])
    missing = form(background="colour", background_colour="")
    assert not missing.is_valid() and "Choose the background colour" in str(missing.errors)
    # A colour typed but not picked is ignored, errors included.
    assert background_of(background="transparent", background_colour="nonsense") == "transparent"


def test_it_ignores_the_custom_size_fields_unless_custom_is_picked():
    preset = form(size="800x800", width="5", height="99999")
    assert preset.is_valid(), preset.errors
    assert (preset.job_params()["target_width"], preset.job_params()["target_height"]) == (800, 800)
    assert "width" not in preset.cleaned_data
    custom = form(size="custom", width="5")
    assert not custom.is_valid() and "width" in custom.errors
    assert not form(size="custom").is_valid()
    custom = form(size="custom", width="600")
    assert custom.is_valid() and custom.job_params()["target_width"] == 600


def test_it_marks_the_fields_that_only_show_for_their_choice(owner, team):
    photo, _created = ProductImage.objects.ingest(
        team=team, data=make_product_photo(), original_filename="mug.jpg", uploaded_by=owner
    )
    page = client_for(owner).get("/jobs/cutout/new/", {"images": [photo.pk]}).content.decode()
    assert 'data-shown-when="size=custom"' in page and 'data-shown-when="background=colour"' in page
    assert 'type="color" name="background_colour"' in page and 'value="colour"' in page
