"""Property tests: parsers and decoders never crash on hostile input, and round trips hold."""

import base64
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from processing.api import ApiProblem, decode_base64_image
from processing.engines.erase_rle import InvalidMask, decode_rle_mask, encode_rle_mask
from processing.engines.imageio import ImageDecodeError, decode_image
from processing.engines.search_errors import SearchParamError
from processing.engines.search_filter import evaluate, parse_filter

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.text(max_size=300))
def test_it_parses_or_refuses_any_filter_text(text):
    try:
        node = parse_filter(text)
    except SearchParamError as error:
        assert error.code == "InvalidFilterClause"
        return
    attributes = {"int_attr": 5, "int_attr2": -1, "str_attr": "red", "str_attr2": "acme"}
    assert evaluate(node, attributes) in (True, False)


@FAST
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["int_attr", "int_attr2"]),
            st.sampled_from([">", ">=", "<", "<=", "="]),
            st.integers(min_value=-(10**6), max_value=10**6),
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.sampled_from(["AND", "OR"]), min_size=5, max_size=5),
)
def test_it_accepts_every_well_formed_integer_filter(clauses, joins):
    text = " ".join(
        f"{field}{operator}{value}" + (f" {joins[index]} " if index < len(clauses) - 1 else "")
        for index, (field, operator, value) in enumerate(clauses)
    )
    if len(text) <= 256:
        assert parse_filter(text) is not None


@FAST
@given(st.integers(min_value=1, max_value=40), st.integers(min_value=1, max_value=40), st.data())
def test_it_round_trips_any_mask_through_rle(width, height, data):
    bits = data.draw(st.lists(st.booleans(), min_size=width * height, max_size=width * height))
    mask = np.array(bits, dtype=bool).reshape(height, width)
    decoded = decode_rle_mask(encode_rle_mask(mask), width, height)
    assert np.array_equal(decoded.astype(bool), mask)


@FAST
@given(st.text(alphabet="0123456789 -,x\n", max_size=200))
def test_it_decodes_or_refuses_any_rle_text(text):
    try:
        mask = decode_rle_mask(text, 30, 20)
    except InvalidMask:
        return
    assert mask.shape == (20, 30)


@FAST
@given(st.binary(max_size=2000))
def test_it_decodes_or_refuses_any_base64(payload):
    encoded = base64.b64encode(payload).decode()
    assert decode_base64_image(encoded, "imageBase64", 10_000) == payload
    try:
        decode_base64_image(encoded[:-1] + "*", "imageBase64", 10_000)
    except ApiProblem as problem:
        assert problem.field == "imageBase64"


def make_real_image_bytes(image_format: str) -> bytes:
    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 255, size=(120, 160, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, image_format)
    return buffer.getvalue()


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_it_never_crashes_on_mutated_real_images(image_format):
    original = make_real_image_bytes(image_format)

    @FAST
    @given(
        st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(0, 255)), max_size=12), st.data()
    )
    def mutate_and_decode(flips, data):
        mutated = bytearray(original)
        for position, value in flips:
            mutated[position] = value
        cut = data.draw(st.integers(min_value=1, max_value=len(mutated)))
        try:
            decoded = decode_image(bytes(mutated[:cut]), max_pixels=1_000_000)
        except ImageDecodeError as error:
            assert error.code in {"empty", "not_an_image", "corrupt", "unsupported_format", "too_small",
                                  "too_large", "too_many_pixels"}  # fmt: skip
            return
        assert decoded.image.mode in ("RGB", "RGBA") and decoded.width * decoded.height <= 1_000_000

    mutate_and_decode()
