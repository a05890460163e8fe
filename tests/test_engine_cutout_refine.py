"""The cut-out's refine step on photos made here: keep and remove strokes and a box turn a wrong matte into
the right one, and leave alone what they do not touch."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from processing.engines.cutout import refine_matte, refine_matte_report, remove_background

HEIGHT, WIDTH = 600, 800


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum()) / float((a | b).sum())


def make_photo() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A shaded red jug with a blue handle, in front of a brown chest on a grey backdrop, with sensor noise.

    The jug and its handle are the product; the chest is what a model keeps with it by mistake."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    photo = np.full((HEIGHT, WIDTH, 3), 236.0, np.float32) + rng.normal(0, 3, (HEIGHT, WIDTH, 1))
    body = ((xx - 400) / 130) ** 2 + ((yy - 250) / 170) ** 2 <= 1
    ring = np.hypot(xx - 545, yy - 250)
    handle = (ring <= 60) & (ring >= 30) & (xx > 520)
    chest = (xx >= 200) & (xx < 620) & (yy >= 400) & (yy < 560) & ~body
    shade = (1 - 0.3 * yy / HEIGHT)[..., None]
    photo[body] = (np.array([190, 30, 40]) * shade)[body]
    photo[handle] = np.array([40, 70, 200])
    photo[chest] = (np.array([120, 80, 50]) * (0.8 + 0.2 * xx / WIDTH)[..., None])[chest]
    photo = np.clip(photo + rng.normal(0, 2, photo.shape), 0, 255).astype(np.uint8)
    return photo, {"product": body | handle, "body": body, "handle": handle, "chest": chest}


def soft(mask: np.ndarray) -> np.ndarray:
    """A matte as a model gives it: soft at the edges."""
    return cv2.GaussianBlur((mask * 255).astype(np.uint8), (5, 5), 0)


def stroke_line(points: list[tuple[int, int]], width: int) -> np.ndarray:
    canvas = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.polylines(canvas, [np.array(points, np.int32)], False, 1, width)
    return canvas.astype(bool)


def stroke_dab(centre: tuple[int, int], radius: int) -> np.ndarray:
    canvas = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.circle(canvas, centre, radius, 1, -1)
    return canvas.astype(bool)


def test_it_turns_a_wrong_matte_into_the_right_one_with_a_remove_and_a_keep_stroke():
    photo, parts = make_photo()
    # The model's mistake: the chest kept, the handle dropped.
    wrong = soft((parts["body"] | parts["chest"]) & ~parts["handle"])
    # One line across the chest (not covering it), one dab on the handle.
    remove = stroke_line([(300, 480), (500, 470)], 16)
    keep = stroke_dab((548, 205), 7)
    assert (remove & parts["chest"]).sum() < 0.1 * parts["chest"].sum()

    report = refine_matte_report(photo, wrong, keep=keep, remove=remove)

    before, after = wrong >= 128, report.alpha >= 128
    assert iou(before, parts["product"]) < 0.55
    assert iou(after, parts["product"]) > 0.97
    assert (after & parts["chest"]).sum() < 0.01 * parts["chest"].sum()  # the whole chest went
    assert (after & parts["handle"]).sum() > 0.9 * parts["handle"].sum()  # the whole handle came back
    assert report.removed > 0.9 * parts["chest"].sum() and report.added > 0.8 * parts["handle"].sum()
    # The model's own soft edge on the far side of the jug is untouched.
    far_edge = np.s_[200:300, 255:285]
    assert np.array_equal(report.alpha[far_edge], wrong[far_edge])


def test_it_cuts_away_what_the_matte_held_outside_a_box_and_its_part_inside():
    photo, parts = make_photo()
    wrong = soft(parts["product"] | parts["chest"])
    # The box stops above the chest's bottom half; the chest's top strip is inside it.
    box = (250, 60, 620, 440)

    refined = refine_matte(photo, wrong, box=box)

    after = refined >= 128
    assert iou(wrong >= 128, parts["product"]) < 0.6
    assert iou(after, parts["product"]) > 0.97
    inside_chest = parts["chest"].copy()
    inside_chest[440:] = False
    assert inside_chest.any() and (after & inside_chest).sum() < 0.02 * inside_chest.sum()
    outside = np.ones(after.shape, bool)
    outside[60:440, 250:620] = False
    assert not refined[outside].any()


def test_it_does_not_let_a_stroke_spill_over_a_right_matte():
    """A keep stroke along an edge also covers backdrop, a remove stroke along another covers jug: only
    the painted pixels change, the backdrop and the jug stay what they were."""
    photo, parts = make_photo()
    right = soft(parts["product"])
    keep = stroke_line([(270, 200), (270, 300)], 20)  # half on the jug's left edge, half on the backdrop
    remove = stroke_line([(400, 80), (430, 82)], 20)  # half on the jug's top, half on the backdrop

    report = refine_matte_report(photo, right, keep=keep, remove=remove)

    after = report.alpha >= 128
    assert iou(after, parts["product"]) > 0.97
    assert report.added < 3 * keep.sum() and report.removed < 3 * remove.sum()
    assert (report.alpha[keep] == 255).all() and (report.alpha[remove] == 0).all()
    away = ~cv2.dilate((keep | remove).astype(np.uint8), np.ones((81, 81), np.uint8)).astype(bool)
    assert np.array_equal(report.alpha[away], right[away])


def test_it_keeps_the_matte_without_strokes_and_refuses_masks_of_another_size():
    photo, parts = make_photo()
    matte = soft(parts["product"])
    assert np.array_equal(refine_matte(photo, matte), matte)
    with pytest.raises(ValueError, match="strokes"):
        refine_matte(photo, matte, keep=np.zeros((10, 10), bool))
    with pytest.raises(ValueError, match="matte"):
        refine_matte(photo, matte[:-1])
    with pytest.raises(ValueError, match="box"):
        refine_matte(photo, matte, box=(10, 10, 10, 40))


def test_it_composes_a_refined_matte_like_the_model_s():
    """remove_background(matte=...) puts the corrected matte on transparent, at the photo's size."""
    photo, parts = make_photo()
    refined = refine_matte(
        photo, soft(parts["body"] | parts["chest"]), remove=stroke_line([(300, 480), (500, 470)], 16)
    )
    result = remove_background(photo, background="transparent", matte=refined)
    alpha = np.asarray(result.image)[..., 3]
    assert result.image.size == (WIDTH, HEIGHT) and result.score == 1.0
    assert np.array_equal(alpha >= 128, refined >= 128)
    fitted = remove_background(photo, background="white", matte=refined, target_width=400, target_height=400)
    assert fitted.image.size == (400, 400)
    with pytest.raises(ValueError, match="matte"):
        remove_background(photo, matte=refined[:, :-1])
