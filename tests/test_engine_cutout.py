"""Cut-out engine on images generated here: subject kept, holes cleared, output geometry.

Model-backed tests share one module-level set of inferences to keep the suite fast; geometry
tests feed a known matte through the real composition code without the model.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from processing.engines import cutout
from processing.engines.cutout import matte, model, pipeline
from processing.engines.cutout import subject as subject_selection

SIZE = 512


def make_ellipse_mask(size: int = SIZE, centre=(256, 280), axes=(110, 150)) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    return ((xx - centre[0]) / axes[0]) ** 2 + ((yy - centre[1]) / axes[1]) ** 2 <= 1.0


def make_ring_mask(size: int = SIZE, centre=(256, 256), outer: int = 170, inner: int = 95) -> np.ndarray:
    yy, xx = np.mgrid[:size, :size]
    radius = np.hypot(xx - centre[0], yy - centre[1])
    return (radius <= outer) & (radius >= inner)


def make_shaded_subject(mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    # A little shading makes the shape look like an object rather than a flat sticker.
    yy, _ = np.mgrid[: mask.shape[0], : mask.shape[1]]
    shade = 1.0 - 0.35 * (yy / mask.shape[0])
    return np.clip(np.array(colour, np.float32)[None, None] * shade[..., None], 0, 255)


def make_scene(mask: np.ndarray, background: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    scene = background.astype(np.float32).copy()
    scene[mask] = make_shaded_subject(mask, colour)[mask]
    return scene.astype(np.uint8)


def make_plain_background(size: int = SIZE) -> np.ndarray:
    return np.full((size, size, 3), 238, np.uint8)


def make_textured_background(size: int = SIZE) -> np.ndarray:
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:size, :size]
    grain = 0.5 + 0.5 * np.sin(xx / 9.0 + 3.0 * np.sin(yy / 41.0))
    noise = rng.normal(0.0, 0.06, (size, size))
    tone = np.clip(0.55 + 0.25 * grain + noise, 0, 1)
    wood = np.array([196, 160, 118], np.float32)
    return (tone[..., None] * wood[None, None]).astype(np.uint8)


def make_matte_mask(alpha: np.ndarray) -> np.ndarray:
    return alpha >= 128


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


@pytest.fixture(scope="module")
def model_available() -> None:
    path = cutout.model_path("general")
    if not path.is_file():
        # Not a skip: `make test` fetches the models first, so a missing file is a setup bug.
        raise cutout.ModelMissingError(f"cut-out model {path} is missing: run `make models`")


@pytest.fixture(scope="module")
def plain_result(model_available) -> tuple[np.ndarray, cutout.CutoutResult]:
    mask = make_ellipse_mask()
    image = Image.fromarray(make_scene(mask, make_plain_background(), (200, 40, 40)))
    return mask, cutout.remove_background(image)


@pytest.fixture(scope="module")
def textured_alpha(model_available) -> tuple[np.ndarray, np.ndarray]:
    mask = make_ellipse_mask(centre=(240, 260), axes=(130, 120))
    return mask, cutout.predict_alpha(make_scene(mask, make_textured_background(), (40, 90, 210)))


@pytest.fixture(scope="module")
def ring_alpha(model_available) -> tuple[np.ndarray, np.ndarray]:
    mask = make_ring_mask()
    return mask, cutout.predict_alpha(make_scene(mask, make_plain_background(), (30, 30, 40)))


def test_it_keeps_a_shape_on_a_plain_background(plain_result):
    mask, result = plain_result
    assert iou(make_matte_mask(result.alpha), mask) > 0.9
    assert 0.0 <= result.score <= 1.0


def test_it_keeps_size_and_position_without_a_target(plain_result):
    mask, result = plain_result
    assert (result.width, result.height) == (SIZE, SIZE)
    assert result.image.size == (SIZE, SIZE) and result.image.mode == "RGB"
    ys, xs = np.nonzero(mask)
    x0, y0, x1, y1 = result.subject_box
    assert abs(x0 - xs.min()) <= 6 and abs(x1 - (xs.max() + 1)) <= 6
    assert abs(y0 - ys.min()) <= 6 and abs(y1 - (ys.max() + 1)) <= 6


def test_it_paints_pure_white_outside_the_subject(plain_result):
    _, result = plain_result
    pixels = np.asarray(result.image)
    assert (pixels[result.alpha == 0] == 255).all()
    assert pixels[SIZE // 2, SIZE // 2, 0] > 150 and pixels[SIZE // 2, SIZE // 2, 2] < 90


def test_it_keeps_a_shape_on_a_textured_background(textured_alpha):
    mask, alpha = textured_alpha
    assert iou(make_matte_mask(alpha), mask) > 0.85


def test_it_clears_the_hole_of_a_ring(ring_alpha):
    mask, alpha = ring_alpha
    hole = make_ring_mask(outer=80, inner=0)
    assert alpha[hole].mean() < 40
    assert iou(make_matte_mask(alpha), mask) > 0.85


def test_it_raises_a_clear_error_when_the_model_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("VITRINE_MODEL_DIR", str(tmp_path))
    with pytest.raises(cutout.ModelMissingError, match="make models"):
        model.get_session("general")


def test_it_rejects_an_unknown_model_type():
    with pytest.raises(ValueError, match="model_type"):
        cutout.model_path("cats")


# --- geometry, with a known matte instead of the model ---------------------------------------


def make_known_matte(width: int, height: int, box: tuple[int, int, int, int]) -> np.ndarray:
    alpha = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = box
    alpha[y0:y1, x0:x1] = 255
    return alpha


@pytest.fixture
def known_matte(monkeypatch):
    """Photo 600x400 with a 120x200 subject off-centre; the model replaced by its exact matte."""
    box = (60, 100, 180, 300)
    alpha = make_known_matte(600, 400, box)
    rgb = np.full((400, 600, 3), 90, np.uint8)
    rgb[alpha > 0] = (20, 160, 60)

    def fake_analyse(image_rgb: np.ndarray, model_type: str = "general") -> pipeline.Analysis:
        return pipeline.Analysis(alpha.copy(), 0.9, alpha.astype(np.float32) / 255.0)

    monkeypatch.setattr(pipeline, "analyse", fake_analyse)
    return Image.fromarray(rgb), box


def test_it_fits_the_subject_into_the_target_size_centred_with_margin(known_matte):
    image, _ = known_matte
    result = cutout.remove_background(image, target_width=500, target_height=500, margin=0.1)
    assert result.image.size == (500, 500) and (result.width, result.height) == (500, 500)
    x0, y0, x1, y1 = result.subject_box
    # The subject is taller than wide: its height fills the usable 80%, width keeps the ratio.
    assert abs((y1 - y0) - 400) <= 2 and abs((x1 - x0) - 240) <= 2
    assert abs(y0 - 50) <= 2 and abs((500 - y1) - 50) <= 2
    assert abs(x0 - (500 - x1)) <= 2


def test_it_keeps_the_aspect_ratio_when_only_the_width_is_given(known_matte):
    image, _ = known_matte
    result = cutout.remove_background(image, target_width=300, margin=0.05)
    assert result.width == 300
    assert abs(result.height - 500) <= 2  # 120x200 subject: 270 px wide -> 450 px tall + margins


def test_it_keeps_the_aspect_ratio_when_only_the_height_is_given(known_matte):
    image, _ = known_matte
    result = cutout.remove_background(image, target_height=1000, margin=0.0)
    assert result.height == 1000 and abs(result.width - 600) <= 2


def test_it_makes_the_outside_exactly_white_on_target_size(known_matte):
    image, _ = known_matte
    result = cutout.remove_background(image, target_width=400, target_height=300)
    pixels = np.asarray(result.image)
    assert result.image.mode == "RGB"
    assert (pixels[result.alpha == 0] == 255).all()
    assert (pixels[:10] == 255).all() and (pixels[:, :10] == 255).all()


def test_it_makes_the_outside_transparent(known_matte):
    image, _ = known_matte
    result = cutout.remove_background(image, background="transparent", target_width=400, target_height=400)
    pixels = np.asarray(result.image)
    assert result.image.mode == "RGBA"
    assert (pixels[..., 3][result.alpha == 0] == 0).all()
    x0, y0, x1, y1 = result.subject_box
    assert pixels[(y0 + y1) // 2, (x0 + x1) // 2, 3] == 255


def test_it_keeps_position_in_transparent_mode_without_a_target(known_matte):
    image, box = known_matte
    result = cutout.remove_background(image, background="transparent")
    assert result.image.size == image.size
    assert result.subject_box == box


def test_it_rejects_an_unknown_background(known_matte):
    image, _ = known_matte
    for bad in ("green", "#12345", "#12345g", "123456"):
        with pytest.raises(ValueError, match="background"):
            cutout.remove_background(image, background=bad)


def test_it_paints_the_outside_in_any_colour(known_matte):
    image, _ = known_matte
    result = cutout.remove_background(image, background="#3366cc", target_width=400, target_height=300)
    pixels = np.asarray(result.image)
    assert result.image.mode == "RGB"
    assert (pixels[result.alpha == 0] == (0x33, 0x66, 0xCC)).all()
    x0, y0, x1, y1 = result.subject_box
    assert tuple(pixels[(y0 + y1) // 2, (x0 + x1) // 2]) == (20, 160, 60)
    # White given as a colour is the white background, pixel for pixel.
    white = cutout.remove_background(image, background="white", target_width=400, target_height=300)
    as_colour = cutout.remove_background(image, background="#ffffff", target_width=400, target_height=300)
    assert np.array_equal(np.asarray(white.image), np.asarray(as_colour.image))


# --- selection, splitting and passes, on synthetic probability maps (no model) ---------------


def test_it_does_not_count_a_thin_stand_reaching_the_frame_as_running_into_it():
    prob = np.zeros((400, 400), np.float32)
    prob[150:300, 120:280] = 1.0  # the product's body
    prob[300:400, 198:202] = 1.0  # its thin stand, down to the bottom edge
    _, components = subject_selection.find_components(prob)
    assert len(components) == 1 and components[0].touched_sides == 0
    prob[300:400, 120:280] = 1.0  # a base as wide as the body: cut by the frame, furniture-like
    _, components = subject_selection.find_components(prob)
    assert components[0].touched_sides == 1


def make_product_on_chair() -> tuple[np.ndarray, np.ndarray]:
    prob = np.zeros((400, 400), np.float32)
    rgb = np.full((400, 400, 3), 235, np.uint8)
    prob[100:400, 40:200] = 1.0  # chair, running into the bottom of the frame
    prob[180:300, 200:215] = 0.7  # where the two touch, the model is less sure
    prob[150:300, 215:330] = 1.0  # product leaning against it
    rgb[100:400, 40:215] = (150, 110, 70)
    rgb[150:300, 215:330] = (40, 80, 200)
    return rgb, prob


def test_it_splits_a_product_off_the_furniture_it_touches():
    rgb, prob = make_product_on_chair()
    subject, dropped = subject_selection.split_fused(rgb, prob, prob >= 0.5)
    assert dropped is not None
    assert subject[220, 270] and not subject[350, 100]
    assert dropped[350, 100] and not dropped[220, 270]


def test_it_splits_by_colour_when_the_model_is_sure_of_product_and_furniture_alike():
    rgb, prob = make_product_on_chair()
    prob[180:300, 200:215] = 1.0  # no weaker seam: the blob does not fall apart by confidence
    subject, dropped = subject_selection.split_fused(rgb, prob, prob >= 0.5)
    assert dropped is not None
    assert subject[220, 270] and not subject[350, 100]
    assert dropped[350, 100] and not dropped[220, 270]
    saved = dict(cutout.STEPS)
    cutout.STEPS["colour_split"] = False
    try:
        assert subject_selection.split_fused(rgb, prob, prob >= 0.5)[1] is None
    finally:
        cutout.STEPS.update(saved)


def test_it_does_not_split_a_blob_in_view_by_colour():
    rgb, prob = make_product_on_chair()
    prob[180:300, 200:215] = 1.0
    prob[330:, :], rgb[330:, :] = 0.0, 235  # the "chair" no longer reaches the frame
    subject, dropped = subject_selection.split_fused(rgb, prob, prob >= 0.5)
    assert dropped is None and (subject == (prob >= 0.5)).all()


def test_it_clears_a_separate_piece_only_when_it_matches_its_own_surroundings():
    rgb = np.full((300, 300, 3), 230, np.uint8)
    prob = np.zeros((300, 300), np.float32)
    prob[60:200, 60:180] = 1.0  # a stick
    rgb[60:200, 60:180] = (230, 60, 90)
    rgb[40:60, 40:200] = (90, 60, 180)  # a purple stripe in the backdrop just above it
    prob[220:250, 200:260] = 0.7  # a purple puck: a colour found around the subject,
    rgb[220:250, 200:260] = (90, 60, 180)  # but not around the puck itself
    cleared = matte.clear_enclosed_background(rgb, prob)
    assert cleared[235, 230] > 0.5
    rgb[220:250, 200:260] = 230  # a piece in the backdrop's own colour is background
    cleared = matte.clear_enclosed_background(rgb, prob)
    assert cleared[235, 230] == 0.0


def test_it_leaves_a_lone_product_whole():
    rgb, prob = make_product_on_chair()
    prob[:, :215] = 0.0
    subject, dropped = subject_selection.split_fused(rgb, prob, prob >= 0.5)
    assert dropped is None and (subject == (prob >= 0.5)).all()


@pytest.mark.parametrize("size", [(300, 200), (900, 1400), (2000, 600), (5000, 5000)])
def test_it_keeps_the_crop_pass_within_its_budget(size):
    width, height = pipeline.refine_input_size(*size)
    assert width % 32 == 0 and height % 32 == 0
    assert width * height <= pipeline.REFINE_MAX_PIXELS


def test_it_looks_again_closer_when_nothing_is_confident(monkeypatch):
    calls = []

    def fake_run_model(rgb, size, model_type="general"):
        calls.append(rgb.shape[:2])
        width, height = size
        prob = np.zeros((height, width), np.float32)
        if len(calls) >= 2:  # the whole view sees nothing; the closer look and the crop do
            prob[height // 3 : 2 * height // 3, width // 3 : 2 * width // 3] = 1.0
        return prob

    monkeypatch.setattr(model, "run_model", fake_run_model)
    alpha = cutout.predict_alpha(np.full((600, 600, 3), 200, np.uint8))
    assert len(calls) == 3
    assert calls[1][0] < 600  # the second look is on a part of the photo
    assert (alpha >= 128).sum() > 1000
