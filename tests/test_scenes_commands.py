"""The two management commands: `load_scene_presets` (idempotent) and `compose IN_DIR OUT_DIR`."""

import io

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from processing.engines.scenes import CATEGORIES, SCENE_TYPES, list_presets
from processing.models import Scene
from tests.test_scenes_helpers import make_cutout_png


def test_it_loads_presets_and_covers_once(db, media_root):
    out = io.StringIO()
    call_command("load_scene_presets", "--no-text-cache", stdout=out, stderr=io.StringIO())
    assert "60 created, 0 updated, 60 cover(s) rendered" in out.getvalue()
    presets = list(Scene.objects.presets())
    assert [s.model_num for s in presets] == [p.model_num for p in list_presets()]
    assert all(s.cover and not s.background for s in presets)  # backgrounds render on first use
    with presets[0].cover.open("rb") as handle:
        assert Image.open(handle).size == (384, 384)
    files = sorted(p.name for p in (media_root / "scenes" / "presets").rglob("*"))
    again = io.StringIO()
    call_command("load_scene_presets", "--no-text-cache", stdout=again, stderr=io.StringIO())
    assert "0 created, 0 updated, 0 cover(s) rendered" in again.getvalue()
    assert sorted(p.name for p in (media_root / "scenes" / "presets").rglob("*")) == files
    # every category and every type has scenes
    for category in CATEGORIES:
        assert any(category in s.categories for s in presets)
    for scene_type in SCENE_TYPES:
        assert any(scene_type in s.scene_types for s in presets)
    meta = presets[0].meta()
    assert 0 < meta["surface_y"] <= 1 and len(meta["product_box"]) == 4 and presets[0].palette


def test_it_says_in_its_help_that_backgrounds_render_lazily():
    from processing.management.commands.load_scene_presets import Command

    assert "first use" in Command.help and "minutes" in Command.help


def test_it_composes_a_folder_onto_a_scene_and_lists_bad_files(db, tmp_path):
    in_dir, out_dir = tmp_path / "in", tmp_path / "out"
    in_dir.mkdir()
    (in_dir / "tall.png").write_bytes(make_cutout_png(400, 600))
    (in_dir / "wide.png").write_bytes(make_cutout_png(700, 400, wide=True))
    (in_dir / "broken.jpg").write_bytes(b"not a picture")
    (in_dir / "notes.txt").write_text("ignored")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "compose", str(in_dir), str(out_dir), "--scene", "10001", "--size", "1000x800", stdout=out, stderr=err
    )
    assert sorted(p.name for p in out_dir.iterdir()) == ["tall.jpg", "wide.jpg"]
    for path in out_dir.iterdir():
        assert Image.open(path).size == (1000, 800)
    assert "2 of 3 images written" in out.getvalue() and "broken.jpg" in out.getvalue()
    assert "6/6" in err.getvalue()  # the progress bar ran to the end


def test_it_refuses_an_unknown_scene_or_size(db, tmp_path):
    (tmp_path / "a.png").write_bytes(make_cutout_png())
    with pytest.raises(CommandError, match="Unknown scene"):
        call_command("compose", str(tmp_path), str(tmp_path / "out"), "--scene", "00000")
    with pytest.raises(CommandError, match="--size"):
        call_command("compose", str(tmp_path), str(tmp_path / "out"), "--scene", "10001", "--size", "4000x10")
