"""Team scenes: upload, the editor's geometry, renders on any aspect, and privacy: another team gets 404
on every page and file, and never sees the scene in recommendations or API results."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from processing.models import Job, Result, Scene, Status
from tests.conftest import client_for, make_product
from tests.test_scenes_helpers import add_photo, make_scene_photo, presets, token_for  # noqa: F401

QUERY_URL = "/ai/image/background/generation/scene/query"


@pytest.fixture
def team_scene(owner, team, presets):  # noqa: F811
    response = client_for(owner).post(
        "/jobs/scenes/new/",
        {
            "photo": SimpleUploadedFile("kitchen.jpg", make_scene_photo(), "image/jpeg"),
            "name_en": "Our oak kitchen counter",
            "name_zh": "我们的橡木厨房台面",
            "description_en": "Kitchen counter for mugs, cups and cookware",
            "scene_types": ["1"],
            "categories": ["3", "1"],
        },
    )
    scene = Scene.objects.get(team=team)
    assert response.status_code == 302 and response["Location"] == scene.get_absolute_url()
    return scene


def test_it_stores_an_uploaded_scene_at_2048_with_a_cover(team_scene):
    assert team_scene.model_num.startswith("T") and team_scene.categories == [1, 3]
    assert (team_scene.background_width, team_scene.background_height) == (2048, 1365)
    with team_scene.cover.open("rb") as handle:
        assert Image.open(handle).size == (384, 384)
    assert team_scene.palette


def test_it_refuses_a_file_that_is_not_an_image(owner, team, presets):  # noqa: F811
    response = client_for(owner).post(
        "/jobs/scenes/new/",
        {
            "photo": SimpleUploadedFile("a.jpg", b"not an image", "image/jpeg"),
            "name_en": "x",
            "scene_types": ["1"],
            "categories": ["1"],
        },
    )
    assert response.status_code == 200 and not Scene.objects.filter(team=team).exists()


def test_it_saves_the_surface_line_and_box_from_the_editor(owner, team_scene):
    client = client_for(owner)
    page = client.get(team_scene.get_absolute_url()).content.decode()
    assert 'id="scene-editor"' in page and "scene_editor.js" in page
    response = client.post(
        team_scene.get_absolute_url(),
        {
            "name_en": "Counter",
            "scene_types": ["1", "3"],
            "categories": ["3"],
            "surface_y": "0.66",
            "box_x0": "0.6",
            "box_y0": "0.2",
            "box_x1": "0.3",  # dragged right to left: stored normalised
            "box_y1": "0.66",
            "light_angle": "45",
            "light_softness": "0.4",
        },
    )
    assert response.status_code == 302
    team_scene.refresh_from_db()
    assert team_scene.surface_y == 0.66 and team_scene.product_box == [0.3, 0.2, 0.6, 0.66]
    assert team_scene.scene_types == [1, 3] and team_scene.light_angle == 45


def test_it_renders_a_product_on_a_team_scene_standing_on_its_surface(owner, team, team_scene):
    Scene.objects.filter(pk=team_scene.pk).update(surface_y=0.66, product_box=[0.3, 0.2, 0.7, 0.66])
    product = make_product(team, "Blue mug")
    photo = add_photo(team, product)
    for aspect, long_side, size in (("1:1", 1024, (1024, 1024)), ("9:16", 1024, (576, 1024))):
        client_for(owner).post(
            f"/jobs/scenes/product/{product.pk}/render/",
            {
                "images": [photo.pk],
                "scenes": [team_scene.model_num],
                "aspect": aspect,
                "long_side": long_side,
            },
        )
        job = Job.objects.latest("pk")
        assert job.claim()
        job.run()
        job.refresh_from_db()
        assert job.status == Status.SUCCESS, job.items.get().error_message
        result = Result.objects.get(job=job)
        assert (result.width, result.height) == size
        geometry = result.metadata["geometry"]
        # the photo (1365 px high at 2048 wide) is cropped to the aspect over its full height
        assert abs(geometry["baseline_y"] - round(0.66 * size[1])) <= 3
        x0, _y0, x1, _y1 = geometry["subject_box"]
        assert 0 <= x0 < x1 <= size[0]


def test_it_keeps_team_scenes_private(owner, outsider, team, team_scene):
    rival = client_for(outsider)
    num = team_scene.model_num
    assert rival.get(f"/jobs/scenes/{num}/").status_code == 404
    assert rival.post(f"/jobs/scenes/{num}/", {"name_en": "mine"}).status_code == 404
    assert rival.post(f"/jobs/scenes/{num}/delete/").status_code == 404
    assert rival.get(f"/jobs/scenes/{num}/photo.jpg").status_code == 404
    assert rival.get(f"/jobs/scenes/{num}/cover.jpg").status_code == 404
    assert Client().get(f"/jobs/scenes/{num}/cover.jpg").status_code == 404
    assert client_for(owner).get(f"/jobs/scenes/{num}/cover.jpg").status_code == 200
    assert num not in rival.get("/jobs/scenes/").content.decode()
    assert num in client_for(owner).get("/jobs/scenes/").content.decode()
    # a rival's own product cannot be rendered or previewed on the scene
    rival_team = outsider.memberships.get().team
    product = make_product(rival_team, "Rival mug")
    photo = add_photo(rival_team, product)
    preview = rival.get(f"/jobs/scenes/product/{product.pk}/preview.png", {"scene": num, "image": photo.pk})
    assert preview.status_code == 404
    rival.post(f"/jobs/scenes/product/{product.pk}/render/", {"images": [photo.pk], "scenes": [num]})
    assert not Job.objects.filter(kind="scene_render").exists()
    # nor does the tab recommend it
    tab = rival.get(f"/jobs/scenes/product/{product.pk}/")
    assert num not in {choice.scene.model_num for choice in tab.context["choices"]}


def test_it_recommends_team_scenes_only_to_their_team(owner, outsider, team, team_scene):
    own = token_for(team, owner)
    rival_team = outsider.memberships.get().team
    rival = token_for(rival_team, outsider)
    headers = {"Authorization": f"Bearer {own}"}
    body = Client().get(QUERY_URL, {"productTitle": "ceramic coffee mug"}, headers=headers).json()
    nums = [item["modelNum"] for item in body["data"]]
    assert team_scene.model_num in nums and len(nums) == 61
    mine = next(item for item in body["data"] if item["modelNum"] == team_scene.model_num)
    assert {"signal": "team_scene"} in mine["reasons"]
    assert any(reason["signal"] == "title_similarity" for reason in mine["reasons"])
    team_scene.refresh_from_db()
    assert team_scene.text_vector and team_scene.text_vector_key  # embedded once, cached on the row
    # the signed cover URL works without a session, a tampered one does not
    cover = mine["coverUrl"].replace("http://testserver", "")
    assert "sig=" in cover and Client().get(cover).status_code == 200
    assert Client().get(cover[:-3] + "xyz").status_code == 404

    rival_body = (
        Client()
        .get(QUERY_URL, {"productTitle": "ceramic coffee mug"}, headers={"Authorization": f"Bearer {rival}"})
        .json()
    )
    assert team_scene.model_num not in [item["modelNum"] for item in rival_body["data"]]
    generated = (
        Client()
        .post(
            "/ai/image/background/generation",
            {"modelNum": team_scene.model_num, "imageBase64": "AAAA"},
            content_type="application/json",
            headers={"Authorization": f"Bearer {rival}"},
        )
        .json()
    )
    assert generated["resCode"] == 700 and "modelNum" in generated["resMessage"]


def test_it_ranks_a_team_scene_by_the_same_rules(owner, team, team_scene):
    headers = {"Authorization": f"Bearer {token_for(team, owner)}"}
    kitchen = (
        Client().get(QUERY_URL, {"productTitle": "kitchen counter mug", "count": 100}, headers=headers).json()
    )
    phone = (
        Client()
        .get(QUERY_URL, {"productTitle": "smartphone screen protector", "count": 100}, headers=headers)
        .json()
    )

    def rank(body):
        return [item["modelNum"] for item in body["data"]].index(team_scene.model_num)

    assert rank(kitchen) < rank(phone)
    filtered = Client().get(QUERY_URL, {"categoryType": "7"}, headers=headers).json()
    assert team_scene.model_num not in [item["modelNum"] for item in filtered["data"]]


def test_it_deletes_a_team_scene_with_its_files(owner, team_scene, media_root):
    files = [team_scene.cover.name, team_scene.background.name]
    assert client_for(owner).post(f"/jobs/scenes/{team_scene.model_num}/delete/").status_code == 302
    assert not Scene.objects.filter(pk=team_scene.pk).exists()
    assert not any((media_root / name).exists() for name in files)


def test_it_serves_the_editor_photo_to_members(owner, teammate, team_scene):
    response = client_for(teammate).get(f"/jobs/scenes/{team_scene.model_num}/photo.jpg")
    assert response.status_code == 200
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (2048, 1365)
