"""The preset data file (processing/engines/scenes/presets.toml) and the checks its loader makes."""

from __future__ import annotations

import re

import pytest

from processing.engines.scenes import library, render

GOOD = """\
[[preset]]
model_num = "10001"
name_en = "White studio sweep"
name_zh = "纯白摄影棚"
description_en = "Clean white backdrop."
description_zh = "干净的白色背景。"
scene_types = [1]
categories = [1, 2]
palette = ["#f4f4f3", "#dcdcdb"]
kind = "sweep"
light_angle = 110
light_softness = 0.9
[preset.params]
color = "#ebebea"
"""


def write(tmp_path, text: str):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_loads_and_names_only_known_generators():
    presets = library.load_presets()
    assert presets == library.PRESETS and len(presets) == 60
    assert set(library.KINDS) == set(render.GENERATORS)
    assert library.PRESETS_PATH.name == "presets.toml"


def test_a_good_file_gets_the_derived_fields(tmp_path):
    (preset,) = library.load_presets(write(tmp_path, GOOD))
    assert preset.surface_y == 0.78 and preset.product_box == (0.22, 0.24, 0.78, 0.78)  # the sweep's default
    assert preset.light_angle == 110.0 and preset.params == {"color": "#ebebea", "light": 110}
    assert preset.seed == 10001 * 7919 % 100003
    assert preset.scene_types == (1,) and preset.categories == (1, 2) and preset.text_box is None


# (test id, text replaced in GOOD, its replacement, what the error says)
BAD = [
    (
        "unknown-key",
        'kind = "sweep"',
        'kind = "sweep"\ncolour = "#ffffff"',
        "bad.toml: preset 10001: colour: unknown key",
    ),
    ("missing-field", 'kind = "sweep"\n', "", "bad.toml: preset 10001: kind: missing"),
    (
        "text-for-number",
        "light_softness = 0.9",
        'light_softness = "soft"',
        "preset 10001: light_softness: must be a number",
    ),
    (
        "bool-for-number",
        "light_angle = 110",
        "light_angle = true",
        "preset 10001: light_angle: must be a number",
    ),
    (
        "out-of-range",
        "light_softness = 0.9",
        "light_softness = 1.5",
        "preset 10001: light_softness: 1.5 is out of range",
    ),
    (
        "number-model-num",
        'model_num = "10001"',
        "model_num = 10001",
        "preset #1: model_num: must be a non-empty string",
    ),
    (
        "letters-in-model-num",
        'model_num = "10001"',
        'model_num = "A1"',
        "preset A1: model_num: must be a string of digits",
    ),
    (
        "unknown-scene-type",
        "scene_types = [1]",
        "scene_types = [5]",
        "preset 10001: scene_types: unknown scene type 5",
    ),
    (
        "unknown-category",
        "categories = [1, 2]",
        "categories = [1, 12]",
        "preset 10001: categories: unknown category 12",
    ),
    (
        "no-category",
        "categories = [1, 2]",
        "categories = []",
        "preset 10001: categories: must be a non-empty list",
    ),
    (
        "colour-name",
        'palette = ["#f4f4f3", "#dcdcdb"]',
        'palette = ["white"]',
        "preset 10001: palette: colours are written",
    ),
    (
        "unknown-generator",
        'kind = "sweep"',
        'kind = "beach"',
        "preset 10001: kind: unknown generator 'beach'",
    ),
    (
        "box-out-of-range",
        "light_softness = 0.9",
        "light_softness = 0.9\nsurface_y = 0.8\nproduct_box = [0.2, 0.2, 1.2, 0.8]",
        "preset 10001: product_box: 1.2 is out of range",
    ),
    (
        "empty-box",
        "light_softness = 0.9",
        "light_softness = 0.9\ntext_box = [0.5, 0.1, 0.4, 0.2]",
        "preset 10001: text_box: [0.5, 0.1, 0.4, 0.2] is empty",
    ),
    (
        "half-geometry",
        "light_softness = 0.9",
        "light_softness = 0.9\nsurface_y = 0.8",
        "preset 10001: product_box: missing",
    ),
    (
        "derived-param",
        'color = "#ebebea"',
        'color = "#ebebea"\nlight = 90',
        "preset 10001: params.light: is set from",
    ),
    (
        "no-geometry",
        'kind = "sweep"',
        'kind = "promo"',
        "preset 10001: product_box: missing: generator 'promo'",
    ),
    (
        "podium-out-of-range",
        'color = "#ebebea"',
        'color = "#ebebea"\npodium = { top = 1.4, r = 0.25 }',
        "preset 10001: params.podium.top: 1.4 is out of range",
    ),
    ("not-toml", "[preset.params]", "[preset.params\n", "bad.toml: not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "message"), [pytest.param(*case[1:], id=case[0]) for case in BAD])
def test_a_bad_file_is_rejected_naming_the_preset_and_field(tmp_path, old, new, message):
    assert GOOD.count(old) == 1
    with pytest.raises(ValueError, match=re.escape(message)):
        library.load_presets(write(tmp_path, GOOD.replace(old, new)))


def test_a_model_number_used_twice_is_rejected(tmp_path):
    with pytest.raises(
        ValueError, match=re.escape("bad.toml: preset 10001: model_num: used by an earlier preset")
    ):
        library.load_presets(write(tmp_path, GOOD + "\n" + GOOD))


def test_a_file_of_other_tables_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=re.escape("bad.toml: unknown top-level key 'presets'")):
        library.load_presets(write(tmp_path, GOOD.replace("preset", "presets")))
    with pytest.raises(ValueError, match=re.escape("bad.toml: no [[preset]] tables")):
        library.load_presets(write(tmp_path, "# empty\n"))
