"""The SearchImageByPic `Filter` parser: grammar, evaluation, Django Q building, hostile input."""

from __future__ import annotations

import pytest
from django.db.models import Q

from processing.engines.search.filter import (
    MAX_FILTER_LENGTH,
    And,
    Compare,
    InvalidFilterClause,
    Or,
    compile_filter,
    evaluate,
    parse_filter,
    to_q,
    tokenize,
)


def make_attrs(int_attr=None, int_attr2=None, str_attr=None, str_attr2=None) -> dict:
    return {"int_attr": int_attr, "int_attr2": int_attr2, "str_attr": str_attr, "str_attr2": str_attr2}


def test_it_parses_the_seed_examples():
    assert parse_filter("int_attr >= 100") == Compare("int_attr", ">=", 100)
    assert parse_filter('str_attr != "value1"') == Compare("str_attr", "!=", "value1")
    assert parse_filter('int_attr = 1000 AND str_attr = "value1"') == And(
        (Compare("int_attr", "=", 1000), Compare("str_attr", "=", "value1"))
    )


def test_it_accepts_every_allowed_operator_per_field():
    for op in (">", ">=", "<", "<=", "="):
        for field in ("int_attr", "int_attr2"):
            assert parse_filter(f"{field}{op}5") == Compare(field, op, 5)
    for op in ("=", "!="):
        for field in ("str_attr", "str_attr2"):
            assert parse_filter(f'{field} {op} "x"') == Compare(field, op, "x")


def test_it_binds_and_tighter_than_or():
    node = parse_filter('int_attr = 1 OR int_attr = 2 AND str_attr = "red"')
    assert node == Or(
        (Compare("int_attr", "=", 1), And((Compare("int_attr", "=", 2), Compare("str_attr", "=", "red"))))
    )


def test_it_treats_keywords_case_insensitively_but_not_field_names():
    assert isinstance(parse_filter("int_attr = 1 and int_attr2 = 2"), And)
    with pytest.raises(InvalidFilterClause):
        parse_filter("INT_ATTR = 1")


def test_it_reads_negative_integers_and_escaped_quotes():
    assert parse_filter("int_attr > -5") == Compare("int_attr", ">", -5)
    assert parse_filter(r'str_attr = "say \"hi\" \\ ok"') == Compare("str_attr", "=", 'say "hi" \\ ok')


def test_it_treats_blank_filters_as_no_filter():
    assert parse_filter(None) is None
    assert parse_filter("   ") is None
    assert evaluate(None, make_attrs()) is True


def test_it_rejects_parentheses_unless_allowed():
    text = '(int_attr = 1 OR int_attr = 2) AND str_attr = "red"'
    with pytest.raises(InvalidFilterClause):
        parse_filter(text)
    node = parse_filter(text, allow_parens=True)
    assert isinstance(node, And)
    assert evaluate(node, make_attrs(int_attr=2, str_attr="red"))
    assert not evaluate(node, make_attrs(int_attr=3, str_attr="red"))


@pytest.mark.parametrize(
    "text",
    [
        "int_attr = 1; DROP TABLE catalog_product",
        "int_attr = 1 OR 1=1",
        "int_attr = 1 -- comment",
        "str_attr = 'red'",
        'str_attr = "red" OR "a"="a"',
        "str_attr = red",
        'int_attr = "5"',
        "int_attr = 5.5",
        "int_attr = 1e3",
        "int_attr = 99999999999",
        "int_attr = 0x10",
        'str_attr > "a"',
        'str_attr >= "a"',
        "int_attr != 3",
        "int_attr == 3",
        "int_attr <> 3",
        "int_attr =",
        "= 3",
        "int_attr 3",
        "int_attr = 1 AND",
        "AND int_attr = 1",
        "int_attr = 1 AND AND int_attr = 2",
        "int_attr = 1 OR OR int_attr = 2",
        "int_attr = 1 int_attr = 2",
        "price = 3",
        "id = 3",
        "int_attr3 = 1",
        "__class__ = 1",
        'str_attr = "unterminated',
        'str_attr = "bad \\n escape"',
        'str_attr = "line\nbreak"',
        "int_attr = 1 NOT int_attr = 2",
        "(int_attr = 1",
        "int_attr = 1)",
        "int_attr ＝ 1",
        "int_attr = ١",
    ],
)
def test_it_rejects_malformed_and_malicious_filters(text):
    with pytest.raises(InvalidFilterClause) as exc:
        parse_filter(text)
    assert exc.value.code == "InvalidFilterClause"
    assert exc.value.http_status == 400


def test_it_rejects_unbalanced_parentheses_even_when_allowed():
    for text in ("((int_attr = 1)", "(int_attr = 1))", "()", "(int_attr = 1 AND)"):
        with pytest.raises(InvalidFilterClause):
            parse_filter(text, allow_parens=True)


def test_it_rejects_filters_over_256_characters():
    clause = 'str_attr = "' + "a" * (MAX_FILTER_LENGTH - 13) + '"'
    assert len(clause) == MAX_FILTER_LENGTH
    assert parse_filter(clause) is not None
    with pytest.raises(InvalidFilterClause):
        parse_filter(clause + " ")


def test_it_handles_the_most_clauses_and_deepest_nesting_that_fit():
    many = " OR ".join(f"int_attr={i}" for i in range(20))
    many = many[: MAX_FILTER_LENGTH + 1].rsplit(" OR ", 1)[0]
    node = parse_filter(many)
    assert isinstance(node, Or)
    assert evaluate(node, make_attrs(int_attr=3))
    depth = (MAX_FILTER_LENGTH - len("int_attr=1")) // 2
    nested = "(" * depth + "int_attr=1" + ")" * depth
    assert parse_filter(nested, allow_parens=True) == Compare("int_attr", "=", 1)


def test_it_rejects_non_string_input():
    with pytest.raises(InvalidFilterClause):
        parse_filter(123)  # type: ignore[arg-type]


def test_it_reports_where_the_error_is():
    with pytest.raises(InvalidFilterClause) as exc:
        parse_filter("int_attr = 1 AND colour = 2")
    assert exc.value.position == "int_attr = 1 AND ".__len__()


def test_it_evaluates_against_attribute_dicts():
    pred = compile_filter('int_attr >= 2 AND int_attr < 4 AND str_attr2 != "Acme" OR str_attr = "red"')
    assert pred(make_attrs(int_attr=3, str_attr2="Northwind"))
    assert not pred(make_attrs(int_attr=3, str_attr2="Acme"))
    assert not pred(make_attrs(int_attr=4, str_attr2="Northwind"))
    assert pred(make_attrs(int_attr=9, str_attr="red"))


def test_it_never_matches_missing_attributes():
    assert not evaluate(parse_filter('str_attr != "red"'), make_attrs())
    assert not evaluate(parse_filter("int_attr > 0"), make_attrs())
    assert not evaluate(parse_filter("int_attr > 0"), make_attrs(int_attr="not a number"))


def test_it_builds_django_q_objects_with_values_as_parameters():
    q = to_q(parse_filter('int_attr > 2 AND str_attr = "x\' OR 1=1"'), Q, {"int_attr": "price_band"})
    assert q == Q(price_band__gt=2) & Q(str_attr__exact="x' OR 1=1")


def test_it_builds_not_equal_as_negation_excluding_nulls():
    q = to_q(parse_filter('str_attr2 != "Acme" OR int_attr2 <= 7'), Q)
    expected = (~Q(str_attr2="Acme") & Q(str_attr2__isnull=False)) | Q(int_attr2__lte=7)
    assert q == expected


def test_it_returns_an_empty_q_for_no_filter():
    assert to_q(None, Q) == Q()


def test_it_tokenizes_two_character_operators_first():
    kinds = [(t.kind, t.text) for t in tokenize("int_attr>=1")]
    assert kinds == [("FIELD", "int_attr"), ("OP", ">="), ("INT", "1"), ("EOF", "")]
