"""The scene library page: 12 scenes a page, filters by type, category, name and whose scene it is, an htmx
partial with plain links that work without JavaScript, the team's own scenes listed first, another team's
never, and covers that are drawn by the worker instead of while the page loads."""

from __future__ import annotations

import io
import re

from django.core.files.base import ContentFile
from django_tasks_db.models import DBTaskResult
from PIL import Image

from processing.engines.scenes import list_presets
from processing.models import Scene
from processing.tasks import draw_scene_covers_task
from tests.conftest import client_for, make_team, make_user
from tests.test_scenes_helpers import presets  # noqa: F401

LIBRARY = "/jobs/scenes/"
COVER_TASK = "processing.tasks.draw_scene_covers_task"


def listed(response) -> list[str]:
    return re.findall(r'class="scene-item" data-model-num="([^"]+)"', response.content.decode())


def make_team_scene(team, name_en: str, *, name_zh: str = "", scene_types=(1,), categories=(3,)) -> Scene:
    scene = Scene.objects.create(
        model_num=f"T{Scene.objects.count():010X}",
        team=team,
        name_en=name_en,
        name_zh=name_zh,
        scene_types=list(scene_types),
        categories=list(categories),
        surface_y=0.8,
        product_box=[0.25, 0.25, 0.75, 0.8],
        palette=["#c8b49a"],
    )
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 180, 150)).save(buffer, "JPEG")
    scene.cover.save("cover-384.jpg", ContentFile(buffer.getvalue()))
    return scene


def test_it_pages_the_library_twelve_scenes_at_a_time(owner, team, presets):  # noqa: F811
    client = client_for(owner)
    first = client.get(LIBRARY)
    html = first.content.decode()
    assert len(listed(first)) == 12
    assert "1–12 of 60 scenes" in html and "Page 1 of 5" in html
    # The next page is a plain link (no JavaScript needed) that htmx also uses to swap the list only.
    assert 'href="?page=2"' in html and f'hx-get="{LIBRARY}?page=2"' in html
    seen = []
    for number in range(1, 6):
        seen += listed(client.get(LIBRARY, {"page": number}))
    assert seen == [preset.model_num for preset in list_presets()]  # every preset once, in library order
    assert listed(client.get(LIBRARY, {"page": 99})) == seen[-12:]  # past the end: the last page


def test_it_filters_by_type_category_and_name_and_keeps_the_filters_when_paging(owner, team, presets):  # noqa: F811
    client = client_for(owner)
    promotion = [p.model_num for p in list_presets() if 4 in p.scene_types]
    assert listed(client.get(LIBRARY, {"sceneType": "4"})) == promotion[:12]

    both = [p.model_num for p in list_presets() if 3 in p.categories and 1 in p.scene_types]
    assert both and listed(client.get(LIBRARY, {"sceneType": "1", "categoryType": "3"})) == both

    wanted = [p.model_num for p in list_presets() if 1 in p.categories]
    assert len(wanted) > 12  # enough for two pages
    page_one = client.get(LIBRARY, {"categoryType": "1", "q": ""})
    assert listed(page_one) == wanted[:12]
    html = page_one.content.decode()
    assert f"1–12 of {len(wanted)} scenes matching the filters" in html
    assert 'href="?categoryType=1&amp;q=&amp;page=2"' in html  # the next page keeps the filters
    page_two = client.get(LIBRARY, {"categoryType": "1", "q": "", "page": "2"})
    assert listed(page_two) == wanted[12:24]

    preset = list_presets()[7]
    word = max(preset.name_en.split(), key=len)
    by_name = listed(client.get(LIBRARY, {"q": word.upper()}))
    assert preset.model_num in by_name
    assert all(
        word.lower() in f"{p.name_en} {p.description_en}".lower()
        for p in list_presets()
        if p.model_num in by_name
    )
    assert listed(client.get(LIBRARY, {"q": preset.name_zh})) == [preset.model_num]
    nothing = client.get(LIBRARY, {"q": "no scene is called this"})
    assert listed(nothing) == [] and "No scenes match these filters." in nothing.content.decode()
    # A bad value drops that filter, not the page.
    assert len(listed(client.get(LIBRARY, {"sceneType": "99", "q": ""}))) == 12


def test_it_answers_htmx_with_the_list_only(owner, team, presets):  # noqa: F811
    client = client_for(owner)
    partial = client.get(LIBRARY, {"sceneType": "1", "page": "2"}, headers={"HX-Request": "true"})
    html = partial.content.decode()
    assert html.lstrip().startswith('<div id="scene-library"') and "<html" not in html
    indoor = [p.model_num for p in list_presets() if 1 in p.scene_types]
    assert listed(partial) == indoor[12:24]
    assert "HX-Request" in partial["Vary"]
    # htmx restoring a page from history needs the whole page.
    restore = client.get(LIBRARY, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.content.decode()


def test_it_lists_the_teams_own_scenes_first_and_never_another_teams(owner, team, presets):  # noqa: F811
    ours = make_team_scene(team, "Our oak kitchen counter", name_zh="橡木台面")
    newer = make_team_scene(team, "Our marble bathroom shelf", scene_types=(1, 3))
    rival_owner = make_user("rita")
    rival = make_team("Rival", rival_owner)
    theirs = make_team_scene(rival, "Rival oak kitchen counter")

    client = client_for(owner)
    first = client.get(LIBRARY)
    nums = listed(first)
    assert nums[:2] == [newer.model_num, ours.model_num] and len(nums) == 12
    html = first.content.decode()
    assert html.index("<h2>Your team's scenes") < html.index("<h2>Presets") and "1–12 of 62 scenes" in html
    assert listed(client.get(LIBRARY, {"source": "team"})) == [newer.model_num, ours.model_num]
    assert listed(client.get(LIBRARY, {"q": "oak kitchen"})) == [ours.model_num]
    assert listed(client.get(LIBRARY, {"q": "橡木台面"})) == [ours.model_num]
    assert listed(client.get(LIBRARY, {"sceneType": "3", "source": "team"})) == [newer.model_num]
    assert ours.model_num not in listed(client.get(LIBRARY, {"source": "presets"}))

    # The rival's scene is on no page, under no filter; the rival sees only its own and the presets.
    everything = [num for page in range(1, 7) for num in listed(client.get(LIBRARY, {"page": page}))]
    assert theirs.model_num not in everything and len(everything) == 62
    assert listed(client.get(LIBRARY, {"q": "Rival"})) == []
    rival_view = client_for(rival_owner)
    assert listed(rival_view.get(LIBRARY, {"source": "team"})) == [theirs.model_num]
    assert ours.model_num not in listed(rival_view.get(LIBRARY, {"q": "oak"}))


def test_it_asks_the_worker_for_missing_covers_instead_of_drawing_them_on_page_load(
    owner,
    team,
    presets,  # noqa: F811
    django_capture_on_commit_callbacks,
    media_root,
):
    client = client_for(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(LIBRARY)
    html = response.content.decode()
    # The presets were loaded without covers: the cards show their colours, nothing was drawn meanwhile.
    assert html.count("Cover being drawn…") == 12 and "/cover.jpg" not in html
    assert 'hx-trigger="every 3s"' in html  # the list refreshes itself until the covers are there
    assert not (media_root / "scenes").exists()
    assert DBTaskResult.objects.filter(task_path=COVER_TASK).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        client.get(LIBRARY, {"page": 2})
    assert DBTaskResult.objects.filter(task_path=COVER_TASK).count() == 1  # asked once, not per page

    assert draw_scene_covers_task.call() == 60  # what the worker does
    html = client.get(LIBRARY).content.decode()
    assert "Cover being drawn…" not in html and 'hx-trigger="every 3s"' not in html
    cover = re.search(r'src="(/jobs/scenes/\d+/cover\.jpg)"', html).group(1)
    image = Image.open(io.BytesIO(b"".join(client.get(cover).streaming_content)))
    assert image.size == (384, 384)
    assert draw_scene_covers_task.call() == 0  # nothing left to draw
