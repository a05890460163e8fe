"""Property tests: parsers and decoders never crash on hostile input, and round trips hold."""

import base64
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from processing.api import ApiProblem, decode_base64_image
from processing.engines.erase import InvalidMask, decode_rle_mask, encode_rle_mask
from processing.engines.imageio import ImageDecodeError, decode_image
from processing.engines.search.errors import SearchParamError
from processing.engines.search.filter import evaluate, parse_filter

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


# --- the Filter grammar: generated well-formed filters mean what they say, in Python and in SQL -----------
_INT_FIELDS = st.sampled_from(["int_attr", "int_attr2"])
_STR_FIELDS = st.sampled_from(["str_attr", "str_attr2"])
_STR_VALUES = st.text(alphabet=st.characters(blacklist_characters="\r\n\x00", codec="utf-8"), max_size=8)


@st.composite
def filter_clauses(draw):
    """A random well-formed filter: its text and a Python predicate written independently of the parser."""
    clauses = []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            field, op = draw(_INT_FIELDS), draw(st.sampled_from([">", ">=", "<", "<=", "="]))
            value = draw(st.integers(-(2**31), 2**31 - 1))
            text = f"{field}{draw(st.sampled_from(['', ' ']))}{op}{value}"
            check = {
                ">": lambda a, f=field, v=value: a[f] is not None and a[f] > v,
                ">=": lambda a, f=field, v=value: a[f] is not None and a[f] >= v,
                "<": lambda a, f=field, v=value: a[f] is not None and a[f] < v,
                "<=": lambda a, f=field, v=value: a[f] is not None and a[f] <= v,
                "=": lambda a, f=field, v=value: a[f] is not None and a[f] == v,
            }[op]
        else:
            field, op, value = draw(_STR_FIELDS), draw(st.sampled_from(["=", "!="])), draw(_STR_VALUES)
            quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            text = f"{field} {op} {quoted}"
            if op == "=":
                check = lambda a, f=field, v=value: a[f] is not None and a[f] == v  # noqa: E731
            else:
                check = lambda a, f=field, v=value: a[f] is not None and a[f] != v  # noqa: E731
        clauses.append((text, check))
    joins = [draw(st.sampled_from(["AND", "OR", "and", "Or"])) for _ in clauses[1:]]
    text = clauses[0][0] + "".join(
        f" {join} {clause[0]}" for join, clause in zip(joins, clauses[1:], strict=True)
    )
    # AND binds tighter than OR: split into OR groups of AND-ed clauses.
    groups, current = [], [clauses[0][1]]
    for join, (_text, check) in zip(joins, clauses[1:], strict=True):
        if join.upper() == "AND":
            current.append(check)
        else:
            groups.append(current)
            current = [check]
    groups.append(current)
    return text, lambda attrs: any(all(check(attrs) for check in group) for group in groups)


_ATTRIBUTES = st.fixed_dictionaries(
    {
        "int_attr": st.none() | st.integers(-(2**31), 2**31 - 1),
        "int_attr2": st.none() | st.integers(-5, 5),
        "str_attr": st.none() | _STR_VALUES,
        "str_attr2": st.none() | st.sampled_from(["", "red", 'a"b', "a\\b"]),
    }
)


@FAST
@given(filter_clauses(), _ATTRIBUTES)
def test_it_evaluates_generated_filters_like_their_meaning(clause, attributes):
    text, meaning = clause
    try:
        node = parse_filter(text)
    except SearchParamError as error:
        assert len(text) > 256 or "clauses" in str(error), (text, error)  # only the length and count limits
        return
    assert evaluate(node, attributes) == meaning(attributes), text


@FAST
@given(st.text(min_size=257, max_size=400))
def test_it_refuses_filters_over_256_characters(text):
    with pytest.raises(SearchParamError) as caught:
        parse_filter(text)
    assert caught.value.code == "InvalidFilterClause"


@pytest.fixture
def filter_products(team):
    from catalog.models import Product

    rows = [
        (None, None, None, None),
        (5, -1, "red", ""),
        (100, 0, 'a"b', "acme"),
        (-(2**31), 2**31 - 1, "", "a\\b"),
        (7, 7, "Robert'); DROP TABLE catalog_product;--", "red"),
    ]
    return [
        Product.objects.create(
            team=team, title=f"P{n}", int_attr=a, int_attr2=b, str_attr=c or "", str_attr2=d or ""
        )
        for n, (a, b, c, d) in enumerate(rows)
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(filter_clauses().map(lambda clause: clause[0]), st.text(max_size=120)))
def test_it_runs_any_accepted_filter_as_a_parameterised_query_that_agrees_with_evaluate(
    filter_products, text
):
    """Filters become Django Q objects (parameters, never SQL text); the database and `evaluate` agree."""
    from django.db.models import Q

    from catalog.models import Product
    from catalog.search_index import FILTER_FIELDS
    from processing.engines.search.filter import to_q

    try:
        node = parse_filter(text)
    except SearchParamError:
        return
    by_db = set(
        Product.objects.filter(pk__in=[p.pk for p in filter_products])
        .filter(to_q(node, Q))
        .values_list("pk", flat=True)
    )
    expected = {
        p.pk
        for p in filter_products
        if evaluate(
            node,
            {
                "int_attr": p.int_attr,
                "int_attr2": p.int_attr2,
                "str_attr": p.str_attr,
                "str_attr2": p.str_attr2,
            },
        )
    }
    assert by_db == expected, text
    assert FILTER_FIELDS  # the search index maps the same four names onto product fields
    assert Product.objects.count() == len(filter_products)


# --- RLE masks: any sorted disjoint runs decode to exactly their pixels; anything else is refused --------
@FAST
@given(st.integers(1, 30), st.integers(1, 30), st.data())
def test_it_decodes_any_sorted_disjoint_runs_to_exactly_their_pixels(width, height, data):
    total = width * height
    cuts = sorted(data.draw(st.sets(st.integers(0, total), max_size=12)))
    runs = [(cuts[i], cuts[i + 1] - cuts[i]) for i in range(0, len(cuts) - 1, 2) if cuts[i + 1] > cuts[i]]
    text = " ".join(f"{start} {length}" for start, length in runs)
    mask = decode_rle_mask(text, width, height)
    expected = np.zeros(total, dtype=bool)
    for start, length in runs:
        expected[start : start + length] = True
    assert np.array_equal(mask.reshape(-1) > 0, expected)
    assert decode_rle_mask(encode_rle_mask(mask), width, height).tolist() == mask.tolist()


@FAST
@given(st.lists(st.integers(min_value=0, max_value=10**30), min_size=1, max_size=8))
def test_it_refuses_runs_outside_the_image_however_large_the_numbers(values):
    text = " ".join(str(value) for value in values)
    try:
        mask = decode_rle_mask(text, 40, 30)
    except InvalidMask:
        return
    assert mask.shape == (30, 40) and len(values) % 2 == 0 and max(values) <= 1200


# --- base64, sizes and the other small parsers ------------------------------------------------------------
@FAST
@given(st.binary(min_size=1, max_size=600), st.data())
def test_it_reads_base64_with_whitespace_and_a_data_url_prefix(payload, data):
    encoded = base64.b64encode(payload).decode()
    cuts = sorted(data.draw(st.lists(st.integers(0, len(encoded)), max_size=6)))
    spaced, previous = "", 0
    for cut in cuts:
        spaced += encoded[previous:cut] + data.draw(st.sampled_from([" ", "\n", "\r\n", "\t"]))
        previous = cut
    spaced += encoded[previous:]
    assert decode_base64_image(spaced, "imageBase64", 10_000) == payload
    assert decode_base64_image(f"data:image/png;base64,{encoded}", "imageBase64", 10_000) == payload


@FAST
@given(st.text(max_size=50))
def test_it_decodes_or_refuses_any_base64_text(text):
    try:
        decoded = decode_base64_image(text, "PicContent", 1000)
    except ApiProblem as problem:
        assert problem.kind in ("bad_base64", "too_large") and problem.field == "PicContent"
        return
    assert isinstance(decoded, bytes)


@FAST
@given(st.integers(min_value=1, max_value=3000))
def test_it_refuses_oversized_base64_before_decoding_it(limit):
    with pytest.raises(ApiProblem) as caught:
        decode_base64_image("A" * (limit * 4 // 3 + 9), "imageBase64", limit)
    assert caught.value.kind == "too_large"


@FAST
@given(
    st.one_of(
        st.none(),
        st.text(max_size=30),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
    )
)
def test_it_reads_size_parameters_in_range_or_names_the_field(value):
    from processing.api import int_param

    try:
        number = int_param({"targetWidth": value}, "targetWidth", 100, 3000)
    except ApiProblem as problem:
        assert problem.field == "targetWidth" and problem.kind == "invalid_input"
        return
    assert number is None or 100 <= number <= 3000


@FAST
@given(st.one_of(st.text(max_size=20), st.from_regex(r"\A-?\d{1,6}[xX]-?\d{1,6}\Z")))
def test_it_reads_command_line_sizes_in_range_or_refuses_them(text):
    from django.core.management import CommandError

    from processing.management.commands.cutout import parse_size

    try:
        size = parse_size(text)
    except CommandError:
        return
    assert size is None or all(100 <= side <= 4096 for side in size)


@FAST
@given(st.one_of(st.text(max_size=40), st.from_regex(r"\A\d{1,5},\d{1,5},\d{1,5},\d{1,5}\Z")))
def test_it_reads_search_regions_inside_the_picture_or_refuses_them(text):
    from processing.engines.search.subject import parse_region

    try:
        box = parse_region(text, 640, 480)
    except SearchParamError as error:
        assert error.code == "BadRequest"
        return
    assert 0 <= box.x0 < box.x1 <= 640 and 0 <= box.y0 < box.y1 <= 480


@FAST
@given(
    st.dictionaries(
        st.sampled_from(["x", "y", "scale"]), st.one_of(st.text(max_size=8), st.floats(), st.integers(-5, 5))
    )
)
def test_it_reads_placements_in_range_or_refuses_them(values):
    from processing.kinds.scenes import parse_placement

    try:
        placement = parse_placement(values)
    except ValueError:
        return
    if placement is not None:
        assert placement.x is None or 0 <= placement.x <= 1
        assert placement.y is None or 0 <= placement.y <= 1
        assert 0.2 <= placement.scale <= 3


# --- the image decoder: header mutations, declared-size bombs and deflate bombs ---------------------------
DECODE_CODES = {
    "empty",
    "not_an_image",
    "corrupt",
    "unsupported_format",
    "too_small",
    "too_large",
    "too_many_pixels",
}


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP", "BMP"])
def test_it_never_crashes_on_images_with_mutated_headers(image_format):
    original = make_real_image_bytes(image_format)

    @FAST
    @given(st.lists(st.tuples(st.integers(0, min(96, len(original) - 1)), st.integers(0, 255)), min_size=1, max_size=6),
           st.binary(max_size=16), st.integers(0, 96))  # fmt: skip
    def mutate_and_decode(flips, inserted, at):
        mutated = bytearray(original)
        for position, value in flips:
            mutated[position] = value
        mutated[at:at] = inserted
        try:
            decoded = decode_image(bytes(mutated), max_pixels=1_000_000, max_side=4000)
        except ImageDecodeError as error:
            assert error.code in DECODE_CODES
            return
        assert decoded.image.mode in ("RGB", "RGBA") and decoded.width * decoded.height <= 1_000_000

    mutate_and_decode()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_with(
    width: int, height: int, idat: bytes, *, bit_depth: int = 8, colour: int = 2, extra: bytes = b""
) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + extra + png_chunk(b"IDAT", idat)
            + png_chunk(b"IEND", b""))  # fmt: skip


@FAST
@given(st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1))
def test_it_refuses_any_declared_png_size_over_the_limit_before_decoding(width, height):
    """A pixel bomb: the header promises a huge canvas; the refusal comes from the header alone."""
    data = png_with(width, height, zlib.compress(b"\x00" * 64))
    try:
        decode_image(data, max_pixels=1_000_000, max_side=4000)
    except ImageDecodeError as error:
        if width * height > 1_000_000:
            assert error.code in ("too_many_pixels", "not_an_image"), error.code
        else:
            assert error.code in DECODE_CODES
        return
    assert width * height <= 1_000_000


@pytest.mark.parametrize("side", [30_000, 65_500])
def test_it_refuses_jpeg_and_webp_headers_that_declare_huge_canvases(side):
    jpeg = bytearray(make_real_image_bytes("JPEG"))
    sof = next(i for i in range(len(jpeg) - 1) if jpeg[i] == 0xFF and jpeg[i + 1] in (0xC0, 0xC2))
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(bytes(jpeg), max_pixels=50_000_000)
    assert caught.value.code in ("too_many_pixels", "too_large")

    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64), (1, 2, 3, 4)).save(buffer, "WEBP", lossless=True, exif=b"Exif\x00\x00")
    webp = bytearray(buffer.getvalue())
    vp8x = webp.find(b"VP8X")
    if vp8x >= 0:  # canvas width-1 and height-1 as 24-bit little-endian
        webp[vp8x + 12 : vp8x + 18] = (min(side, 16384) - 1).to_bytes(3, "little") * 2
        with pytest.raises(ImageDecodeError) as caught:
            decode_image(bytes(webp), max_pixels=1_000_000, max_side=4000)
        assert caught.value.code in DECODE_CODES - {"empty"}


def test_it_decodes_or_refuses_a_deflate_bomb_without_inflating_it():
    """20 MB of zeros deflate to ~20 kB; a 200x200 picture needs 120 kB of them. The decoder reads what the
    header asks for and no more (or refuses the file), and never hands back more pixels than declared."""
    bomb = zlib.compress(b"\x00" * 20_000_000, 9)
    assert len(bomb) < 64_000
    try:
        decoded = decode_image(png_with(200, 200, bomb), max_pixels=1_000_000)
    except ImageDecodeError as error:
        assert error.code in ("corrupt", "not_an_image")
    else:
        assert (decoded.width, decoded.height) == (200, 200)


def test_it_refuses_or_ignores_a_compressed_text_chunk_bomb():
    """A zTXt chunk that inflates to 50 MB: Pillow's text limit stops it; the decoder answers cleanly."""
    text_bomb = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"A" * 50_000_000, 9))
    rows = b"".join(b"\x00" + b"\x80" * 300 for _ in range(100))
    data = png_with(100, 100, zlib.compress(rows), extra=text_bomb)
    try:
        decoded = decode_image(data)
    except ImageDecodeError as error:
        assert error.code in ("not_an_image", "corrupt")
    else:
        assert decoded.image.size == (100, 100)
        assert len(decoded.image.info.get("Comment", "")) < 2_000_000


def test_it_refuses_a_bomb_beyond_pillows_own_limit_as_too_many_pixels():
    data = png_with(100_000, 100_000, zlib.compress(b"\x00" * 64), bit_depth=1, colour=0)
    with pytest.raises(ImageDecodeError) as caught:
        decode_image(data)
    assert caught.value.code == "too_many_pixels"
