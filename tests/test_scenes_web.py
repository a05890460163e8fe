"""A product's Scenes tab: recommendations with reasons, htmx filters, the placement preview, and renders
as `scene_render` jobs whose results land in the job page's gallery."""

import io

import numpy as np
import pytest
from PIL import Image

from catalog.models import Category
from processing.engines.scenes import get_preset
from processing.engines.scenes.compose import crop_rect
from processing.models import Job, Result, Status
from tests.conftest import client_for, make_product
from tests.test_scenes_helpers import add_photo, make_cutout_png, presets  # noqa: F401


@pytest.fixture
def product(team, presets):  # noqa: F811
    return make_product(team, "Red ceramic coffee mug 350ml", category=Category.HOME_GARDEN)


def run_job(job: Job) -> Job:
    """What the worker does, in this process."""
    assert job.claim()
    job.run()
    job.refresh_from_db()
    return job


def test_it_links_the_scenes_tab_from_the_product_page(owner, product):
    page = client_for(owner).get(product.get_absolute_url()).content.decode()
    assert f"/jobs/scenes/product/{product.pk}/" in page


def test_it_shows_recommended_scenes_with_names_tags_and_reasons(owner, team, product):
    add_photo(team, product)
    response = client_for(owner).get(f"/jobs/scenes/product/{product.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('class="scene-card"') == 60
    choices = response.context["choices"]
    assert choices[0].score >= choices[-1].score
    top = choices[0]
    assert 3 in top.scene.categories  # Home & Garden for a mug
    assert top.scene.name_en in page and "Home &amp; Garden" in page
    assert any("likely (from the title+image)" in reason for reason in top.reason_texts())
    assert "colours: contrast" in page


def test_it_filters_with_an_htmx_partial(owner, product):
    response = client_for(owner).get(
        f"/jobs/scenes/product/{product.pk}/",
        {"categoryType": "7", "sceneType": "2"},
        headers={"HX-Request": "true"},
    )
    page = response.content.decode()
    assert "<html" not in page and 'id="scene-grid"' in page
    nums = [choice.scene.model_num for choice in response.context["choices"]]
    assert nums and all(7 in get_preset(num).categories and 2 in get_preset(num).scene_types for num in nums)
    assert page.count('class="scene-card"') == len(nums)


def test_it_previews_the_placement_the_user_chose(owner, team, product):
    photo = add_photo(team, product)
    url = f"/jobs/scenes/product/{product.pk}/preview.png"
    client = client_for(owner)
    response = client.get(
        url, {"scene": "10009", "image": photo.pk, "aspect": "3:4", "x": "0.3", "y": "0.85", "scale": "0.6"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (384, 512)
    x0, _y0, x1, y1 = (int(v) for v in response["X-Subject-Box"].split(","))
    assert abs((x0 + x1) / 2 - 0.3 * 384) <= 2 and abs(y1 - 0.85 * 512) <= 2
    bigger = client.get(
        url, {"scene": "10009", "image": photo.pk, "aspect": "3:4", "x": "0.3", "y": "0.85", "scale": "1.2"}
    )
    bx0, by0, bx1, by1 = (int(v) for v in bigger["X-Subject-Box"].split(","))
    assert (by1 - by0) > 1.8 * (y1 - _y0)
    assert client.get(url, {"scene": "10009", "image": photo.pk, "x": "7"}).status_code == 400


def test_it_renders_a_scene_as_a_job_with_the_subject_on_the_surface(owner, team, product):
    photo = add_photo(team, product)
    response = client_for(owner).post(
        f"/jobs/scenes/product/{product.pk}/render/",
        {"images": [photo.pk], "scenes": ["10001"], "aspect": "4:3", "long_side": "1024"},
    )
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.kind == "scene_render" and job.items.count() == 1
    job = run_job(job)
    assert job.status == Status.SUCCESS
    result = Result.objects.get()
    assert (result.width, result.height) == (1024, 768)
    geometry = result.metadata["geometry"]
    preset = get_preset("10001")
    # the output is a 4:3 crop of the square scene; the footprint stands on the preset's surface line
    x0, y0, x1, _y1 = crop_rect(
        2048, 1024, 768, {"product_box": preset.product_box, "surface_y": preset.surface_y}
    )
    expected_surface = (preset.surface_y * 2048 - y0) * 1024 / (x1 - x0)
    assert abs(geometry["baseline_y"] - expected_surface) <= 3
    assert geometry["subject_box"][3] == geometry["baseline_y"]
    with result.file.open("rb") as handle:
        rendered = np.asarray(Image.open(handle).convert("RGB"), np.int16)
    x0, y0, x1, y1 = geometry["subject_box"]
    centre = rendered[(y0 + y1) // 2, (x0 + x1) // 2]
    assert centre[0] > 120 and centre[1] < 90 and centre[2] < 90  # the red product, not the white sweep


def test_it_renders_several_photos_on_one_scene_as_a_consistent_set(owner, team, product):
    tall = add_photo(team, product, make_cutout_png(400, 600), "tall.png")
    wide = add_photo(team, product, make_cutout_png(700, 400, colour=(30, 90, 200), wide=True), "wide.png")
    client_for(owner).post(
        f"/jobs/scenes/product/{product.pk}/render/",
        {"images": [tall.pk, wide.pk], "scenes": ["10001", "10009"], "aspect": "1:1", "long_side": "800"},
    )
    job = run_job(Job.objects.get())
    assert job.status == Status.SUCCESS and job.items.count() == 4
    by_scene: dict[str, list[dict]] = {}
    for result in Result.objects.filter(job=job):
        assert (result.width, result.height) == (800, 800)
        assert result.metadata["set_size"] == 2
        by_scene.setdefault(result.metadata["scene"], []).append(result.metadata["geometry"])
    for geometries in by_scene.values():
        baselines = {g["baseline_y"] for g in geometries}
        assert max(baselines) - min(baselines) <= 1  # one baseline for the set
        centres = [(g["subject_box"][0] + g["subject_box"][2]) / 2 for g in geometries]
        assert abs(centres[0] - centres[1]) <= 2


def test_it_shows_the_renders_in_the_job_gallery_and_saves_one_to_the_product(owner, team, product):
    photo = add_photo(team, product)
    client = client_for(owner)
    client.post(
        f"/jobs/scenes/product/{product.pk}/render/",
        {"images": [photo.pk], "scenes": ["10002"], "aspect": "9:16", "long_side": "1024"},
    )
    job = run_job(Job.objects.get())
    result = Result.objects.get(job=job)
    page = client.get(job.get_absolute_url()).content.decode()
    assert "scene-result" in page and f"/jobs/results/{result.pk}/download.jpg" in page
    assert f"/jobs/results/{result.pk}/save/" in page
    download = client.get(f"/jobs/results/{result.pk}/download.png")
    assert download.status_code == 200 and Image.open(io.BytesIO(download.content)).size == (576, 1024)
    response = client.post(f"/jobs/results/{result.pk}/save/")
    assert response.status_code == 302 and product.images.count() == 2


def test_it_refuses_viewers_and_bad_requests(viewer, owner, team, product):
    photo = add_photo(team, product)
    url = f"/jobs/scenes/product/{product.pk}/render/"
    assert client_for(viewer).post(url, {"images": [photo.pk], "scenes": ["10001"]}).status_code == 403
    for bad in (
        {"images": [photo.pk], "scenes": []},
        {"images": [], "scenes": ["10001"]},
        {"images": [photo.pk], "scenes": ["10001"], "aspect": "2:1"},
        {"images": [photo.pk], "scenes": ["10001"], "long_side": "4096"},
        {"images": [photo.pk], "scenes": ["10001"], "x": "0.5", "y": "3"},
    ):
        response = client_for(owner).post(url, bad)
        assert response.status_code == 302 and response["Location"].endswith(f"/scenes/product/{product.pk}/")
    assert not Job.objects.exists()


def test_it_shows_the_library_with_filters(owner, team, presets):  # noqa: F811
    client = client_for(owner)
    page = client.get("/jobs/scenes/").content.decode()
    assert page.count('class="scene-item"') == 12 and "of 60 scenes" in page  # paged: see test_scenes_library
    partial = client.get("/jobs/scenes/", {"sceneType": "4"}, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()
    assert all(4 in scene.scene_types for scene in partial.context["page"].object_list)


def test_it_serves_preset_covers_to_anyone_rendering_them_once(presets, client, media_root):  # noqa: F811
    response = client.get("/jobs/scenes/10005/cover.jpg")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (384, 384)
    covers = list((media_root / "scenes" / "presets" / "10005").iterdir())
    client.get("/jobs/scenes/10005/cover.jpg")
    assert list((media_root / "scenes" / "presets" / "10005").iterdir()) == covers
    assert client.get("/jobs/scenes/nope/cover.jpg").status_code == 404


def test_it_cuts_out_a_plain_photo_once_and_reuses_the_cut_out(owner, team, product, media_root):
    from tests.test_api_cutout import make_product_photo

    photo = add_photo(team, product, make_product_photo(480, 480), "mug.jpg")
    client_for(owner).post(
        f"/jobs/scenes/product/{product.pk}/render/",
        {"images": [photo.pk], "scenes": ["10001"], "aspect": "1:1", "long_side": "512"},
    )
    job = run_job(Job.objects.get())
    assert job.status == Status.SUCCESS, job.items.get().error_message
    cutouts = list((media_root / "teams" / str(team.pk) / "scene-cutouts").rglob("*.png"))
    assert len(cutouts) == 1
    with Image.open(cutouts[0]) as cut:
        alpha = np.asarray(cut.getchannel("A"))
    assert alpha[0, 0] == 0 and alpha[240, 240] > 240  # background gone, the mug kept
    preview = client_for(owner).get(
        f"/jobs/scenes/product/{product.pk}/preview.png", {"scene": "10001", "image": photo.pk}
    )
    assert preview.status_code == 200
    assert list((media_root / "teams" / str(team.pk) / "scene-cutouts").rglob("*.png")) == cutouts
