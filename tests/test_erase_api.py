"""`GET/POST /ai/image/removal`: every error code of the seed, a detection run scoped to the
background, and the RLE `mask` parameter. Test photos are drawn here with a CJK font."""

from __future__ import annotations

import io
import json
from unittest import mock

import numpy as np
import pytest
from django.test import Client
from PIL import Image, ImageDraw

from processing.engines.erase import encode_rle_mask
from processing.models import Job, Status
from tests.http_fixtures import image_server
from tests.test_api_cutout import api_token, b64  # noqa: F401
from tests.test_engine_erase import make_font

URL = "/ai/image/removal"
SIZE = 640
# Where the test photo's elements are drawn (x0, y0, x1, y1).
PROMO_BOX = (110, 40, 540, 125)  # red promo text on the backdrop
PRINTED_BOX = (222, 328, 395, 400)  # "MAPLE" printed on the product
LOGO_BOX = (40, 560, 120, 610)  # a dark hand-erasable sticker on the backdrop


def make_erase_photo(size: int = SIZE, image_format: str = "PNG", promo: bool = True) -> bytes:
    """A blue product on a smooth light backdrop, with printed product text, promo text on the
    backdrop and a small dark sticker."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    base = np.stack([238 - ys / 50, 236 - ys / 45, 230 - xs / 60], axis=2)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((190, 160, 450, 560), radius=30, fill=(40, 90, 150))
    draw.text((230, 330), "MAPLE", font=make_font(44), fill=(245, 220, 120))
    if promo:
        draw.text((120, 40), "限时特价 Big Sale", font=make_font(48), fill=(220, 30, 30))
    draw.rectangle(LOGO_BOX, fill=(30, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()


def region(array: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    return array[y0:y1, x0:x1].astype(np.int16)


def red_pixels(array: np.ndarray) -> int:
    r, g, b = array[..., 0], array[..., 1], array[..., 2]
    return int(((r > 150) & (g < 110) & (b < 110)).sum())


def call(token: str | None, *, as_json: bool = False, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if as_json:
        return Client().post(URL, json.dumps(params), content_type="application/json", headers=headers)
    return Client().post(URL, params, headers=headers)


def fetch_result(body: dict) -> np.ndarray:
    response = Client().get(body["data"]["imageUrl"].replace("http://testserver", ""))
    assert response.status_code == 200
    return np.asarray(Image.open(io.BytesIO(b"".join(response.streaming_content))).convert("RGB"))


def original(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


# --- errors ------------------------------------------------------------------------------------------
def test_it_refuses_a_call_without_a_token(db):
    response = call(None, object_remove_elements="[]", image_Base64=b64(make_erase_photo()))
    assert response.status_code == 401 and response.json()["resCode"] == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"image_Base64": "AAAA"}, "object_remove_elements"),
        ({"object_remove_elements": "[5]", "image_Base64": "AAAA"}, "object_remove_elements"),
        ({"object_remove_elements": "[1, 'x']", "image_Base64": "AAAA"}, "object_remove_elements"),
        ({"object_remove_elements": "two", "image_Base64": "AAAA"}, "object_remove_elements"),
        (
            {"object_remove_elements": "[]", "non_object_remove_elements": "[0]", "image_Base64": "AAAA"},
            "non_object_remove_elements",
        ),
        ({"object_remove_elements": "[]", "image_Base64": "AAAA"}, "non_object_remove_elements"),
        ({"object_remove_elements": "[1]"}, "image_url or image_Base64"),
    ],
)
def test_it_answers_700_naming_the_bad_field(api_token, params, field):  # noqa: F811
    body = call(api_token, **params).json()
    assert body["resCode"] == 700 and body["success"] is False
    assert field in body["resMessage"]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.jpg", "http://10.0.0.1/a.jpg", "http://127.0.0.1/a.jpg"]
)
def test_it_answers_701_for_urls_it_may_not_or_cannot_fetch(api_token, url):  # noqa: F811
    body = call(api_token, object_remove_elements="[1]", image_url=url).json()
    assert body["resCode"] == 701 and "image_url" in body["resMessage"]


def test_it_answers_701_when_the_download_fails(api_token, settings):  # noqa: F811
    settings.IMAGE_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    with image_server(
        {"/page.html": (200, {"Content-Type": "text/html"}, b"<html>not an image</html>")}
    ) as base:
        missing = call(api_token, object_remove_elements="[1]", image_url=f"{base}/gone.jpg").json()
        not_image = call(api_token, object_remove_elements="[1]", image_url=f"{base}/page.html").json()
    assert missing["resCode"] == 701 and not_image["resCode"] == 701


@pytest.mark.parametrize("value", ["%%% not base64 %%%", b64(b"plain text, no picture")])
def test_it_answers_702_for_bad_base64(api_token, value):  # noqa: F811
    body = call(api_token, object_remove_elements="[1]", image_Base64=value).json()
    assert body["resCode"] == 702 and "image_Base64" in body["resMessage"]


@pytest.mark.parametrize(("width", "height"), [(400, 800), (800, 511), (3100, 600)])
def test_it_answers_703_outside_512_to_3000_pixels(api_token, width, height):  # noqa: F811
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 200, 200)).save(buffer, "PNG")
    body = call(api_token, object_remove_elements="[1]", image_Base64=b64(buffer.getvalue())).json()
    assert body["resCode"] == 703, body


@pytest.mark.parametrize("image_format", ["WEBP", "GIF"])
def test_it_answers_704_for_formats_other_than_jpg_png_bmp(api_token, image_format):  # noqa: F811
    buffer = io.BytesIO()
    Image.new("RGB", (600, 600), (200, 200, 200)).save(buffer, image_format)
    body = call(api_token, object_remove_elements="[1]", image_Base64=b64(buffer.getvalue())).json()
    assert body["resCode"] == 704 and "use JPG, PNG, BMP" in body["resMessage"], body


def test_it_answers_705_for_files_over_the_limit(api_token, monkeypatch):  # noqa: F811
    from processing.views import api_erase

    monkeypatch.setattr(api_erase, "MAX_BYTES", 64 * 1024)
    noise = np.random.default_rng(3).integers(0, 255, (600, 600, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    assert len(buffer.getvalue()) > 64 * 1024
    body = call(api_token, object_remove_elements="[1]", image_Base64=b64(buffer.getvalue())).json()
    assert body["resCode"] == 705


def test_it_answers_501_over_the_rate_limit(api_token, settings):  # noqa: F811
    settings.API_RATE_LIMIT_QPS = 2
    with mock.patch("processing.api.time.time", return_value=2_000_000.0):
        codes = [call(api_token, object_remove_elements="[9]").json()["resCode"] for _ in range(4)]
    assert codes == [700, 700, 501, 501]


# --- success --------------------------------------------------------------------------------------------
def test_it_erases_background_text_and_keeps_product_text(api_token, team, settings):  # noqa: F811
    photo = make_erase_photo()
    settings.IMAGE_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    with image_server({"/photo.jpg": (200, {"Content-Type": "image/jpeg"}, photo)}) as base:
        body = call(
            api_token,
            as_json=True,
            # The seed gives the URL priority: the tiny base64 image would answer 703 if it were used.
            image_Base64=b64(make_erase_photo(size=200, promo=False)),
            image_url=f"{base}/photo.jpg",
            object_remove_elements=[],
            non_object_remove_elements=[1, 2, 3, 4],
        ).json()
    assert body["success"] is True and body["resCode"] == 200, body
    data = body["data"]
    assert (data["width"], data["height"]) == (SIZE, SIZE) and data["maskUsed"] is False
    elements = data["elements"]
    assert all({"type", "box", "onSubject", "removed"} <= set(element) for element in elements)
    promo = [e for e in elements if e["box"][1] < PROMO_BOX[3] and not e["onSubject"]]
    printed = [e for e in elements if e["onSubject"]]
    assert promo and all(e["removed"] and 1 <= e["type"] <= 4 for e in promo)
    assert printed and not any(e["removed"] for e in printed)
    before, after = original(photo), fetch_result(body)
    assert red_pixels(region(before, PROMO_BOX)) > 500 and red_pixels(region(after, PROMO_BOX)) < 20
    assert np.array_equal(region(after, PRINTED_BOX), region(before, PRINTED_BOX))
    job = Job.objects.get()
    assert job.team == team and job.status == Status.SUCCESS and job.kind == "erase"
    assert job.params["non_object_types"] == [1, 2, 3, 4] and job.params["object_types"] == []


def test_it_erases_a_painted_rle_mask_only(api_token):  # noqa: F811
    photo = make_erase_photo(promo=False)
    mask = np.zeros((SIZE, SIZE), np.uint8)
    x0, y0, x1, y1 = LOGO_BOX
    mask[y0 - 6 : y1 + 7, x0 - 6 : x1 + 7] = 1
    body = call(
        api_token, image_Base64=b64(photo), object_remove_elements="[]", mask=encode_rle_mask(mask)
    ).json()
    assert body["resCode"] == 200, body
    assert body["data"]["maskUsed"] is True and body["data"]["elements"] == []
    before, after = original(photo), fetch_result(body)
    assert region(before, LOGO_BOX).mean() < 40
    assert region(after, LOGO_BOX).mean() > 200  # the sticker is filled with the light backdrop
    untouched = mask == 0
    assert np.array_equal(after[untouched], before[untouched])  # nothing else changed, text included
    assert body["data"]["erasedPixels"] == int(mask.sum())


@pytest.mark.parametrize(
    "mask",
    [
        "10 5 20",  # odd count
        "10 five",  # not a number
        "10 0",  # empty run
        "100 20 110 5",  # overlapping runs
        f"{SIZE * SIZE - 5} 10",  # past the last pixel
        "[1, 2]",  # not RLE
    ],
)
def test_it_answers_700_naming_mask_for_malformed_masks(api_token, mask):  # noqa: F811
    body = call(
        api_token, image_Base64=b64(make_erase_photo(promo=False)), object_remove_elements="[]", mask=mask
    )
    body = body.json()
    assert body["resCode"] == 700, body
    assert body["resMessage"].startswith("invalid input: mask")
    assert not Job.objects.exists()
