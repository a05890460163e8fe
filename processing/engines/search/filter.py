"""The `Filter` parameter of SearchImageByPic: tokenizer, recursive-descent parser, evaluator, Q builder.

Grammar (from the seed: int_attr takes > >= < <= =, str_attr takes = and !=, clauses join with AND / OR,
at most 256 characters). The seed shows no parentheses, so they are rejected unless the caller opts in
with `allow_parens=True`. AND binds tighter than OR, as in SQL:

    filter     := or_expr EOF
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := primary ("AND" primary)*
    primary    := comparison | "(" or_expr ")"            -- parentheses only when allowed
    comparison := INT_FIELD INT_OP INTEGER | STR_FIELD STR_OP STRING
    INT_FIELD  := int_attr | int_attr2      INT_OP := > | >= | < | <= | =
    STR_FIELD  := str_attr | str_attr2      STR_OP := = | !=
    INTEGER    := -?[0-9]{1,10} within int32     STRING := "..." with \\" and \\\\ escapes (no newlines)

Keywords are case-insensitive (`and`, `Or`), field names are not. Everything else raises
`InvalidFilterClause` (code "InvalidFilterClause", HTTP 400).

Nothing here builds SQL. `to_q(ast, Q)` returns a Django `Q` for the caller's Q class, so this module never
imports Django; `field_map` maps `int_attr` etc. to model fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from processing.engines.search.errors import SearchParamError

MAX_FILTER_LENGTH = 256
MAX_CLAUSES = 32  # bounds recursion depth and the size of the generated query
INT_FIELDS = frozenset({"int_attr", "int_attr2"})
STR_FIELDS = frozenset({"str_attr", "str_attr2"})
INT_OPS = frozenset({">", ">=", "<", "<=", "="})
STR_OPS = frozenset({"=", "!="})
INT32 = (-(2**31), 2**31 - 1)


class InvalidFilterClause(SearchParamError):
    def __init__(self, detail: str, position: int | None = None) -> None:
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__("InvalidFilterClause", f"{detail}{where}")


# ---- AST -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    value: int | str


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


Node = Compare | And | Or


# ---- tokenizer -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # FIELD, OP, INT, STR, AND, OR, LPAREN, RPAREN, EOF
    text: str
    value: Any
    pos: int


_OPS = (">=", "<=", "!=", ">", "<", "=")
_DIGITS = frozenset("0123456789")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t":
            i += 1
            continue
        if c == "(":
            tokens.append(Token("LPAREN", c, None, i))
            i += 1
            continue
        if c == ")":
            tokens.append(Token("RPAREN", c, None, i))
            i += 1
            continue
        op = next((o for o in _OPS if text.startswith(o, i)), None)
        if op:
            tokens.append(Token("OP", op, op, i))
            i += len(op)
            continue
        if c == '"':
            j, buf = i + 1, []
            while True:
                if j >= n:
                    raise InvalidFilterClause("unterminated string", i)
                ch = text[j]
                if ch == "\\":
                    if j + 1 >= n or text[j + 1] not in '"\\':
                        raise InvalidFilterClause("bad escape in string", j)
                    buf.append(text[j + 1])
                    j += 2
                    continue
                if ch == '"':
                    break
                if ch in "\r\n\x00":
                    raise InvalidFilterClause("control character in string", j)
                buf.append(ch)
                j += 1
            tokens.append(Token("STR", text[i : j + 1], "".join(buf), i))
            i = j + 1
            continue
        # ASCII digits only: str.isdigit() and int() also accept other scripts' digits
        if c in _DIGITS or (c == "-" and i + 1 < n and text[i + 1] in _DIGITS):
            j = i + 1
            while j < n and text[j] in _DIGITS:
                j += 1
            if j < n and (text[j].isalnum() or text[j] in "._"):
                raise InvalidFilterClause("malformed number", i)
            lit = text[i:j]
            if len(lit.lstrip("-")) > 10:
                raise InvalidFilterClause("integer out of range", i)
            tokens.append(Token("INT", lit, int(lit), i))
            i = j
            continue
        if c.isascii() and (c.isalpha() or c == "_"):
            j = i + 1
            while j < n and text[j].isascii() and (text[j].isalnum() or text[j] == "_"):
                j += 1
            word = text[i:j]
            upper = word.upper()
            if upper in ("AND", "OR"):
                tokens.append(Token(upper, word, None, i))
            elif word in INT_FIELDS or word in STR_FIELDS:
                tokens.append(Token("FIELD", word, word, i))
            else:
                raise InvalidFilterClause(f"unknown field or keyword {word[:32]!r}", i)
            i = j
            continue
        raise InvalidFilterClause(f"unexpected character {c!r}", i)
    tokens.append(Token("EOF", "", None, n))
    return tokens


# ---- parser ----------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, tokens: list[Token], allow_parens: bool) -> None:
        self.tokens = tokens
        self.i = 0
        self.allow_parens = allow_parens
        self.clauses = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self, kind: str) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != kind:
            shown = tok.text[:20] if tok.kind != "EOF" else "end of filter"
            raise InvalidFilterClause(f"expected {kind.lower()}, found {shown!r}", tok.pos)
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_expr()
        self.take("EOF")
        return node

    def or_expr(self) -> Node:
        items = [self.and_expr()]
        while self.peek().kind == "OR":
            self.i += 1
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Node:
        items = [self.primary()]
        while self.peek().kind == "AND":
            self.i += 1
            items.append(self.primary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def primary(self) -> Node:
        tok = self.peek()
        if tok.kind == "LPAREN":
            if not self.allow_parens:
                raise InvalidFilterClause("parentheses are not supported", tok.pos)
            self.i += 1
            node = self.or_expr()
            self.take("RPAREN")
            return node
        return self.comparison()

    def comparison(self) -> Compare:
        field = self.take("FIELD")
        op = self.take("OP")
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise InvalidFilterClause("too many clauses", field.pos)
        if field.value in INT_FIELDS:
            if op.value not in INT_OPS:
                raise InvalidFilterClause(f"operator {op.value} not allowed on {field.value}", op.pos)
            val = self.peek()
            if val.kind != "INT":
                raise InvalidFilterClause(f"{field.value} needs an integer value", val.pos)
            self.i += 1
            if not INT32[0] <= val.value <= INT32[1]:
                raise InvalidFilterClause("integer out of range", val.pos)
            return Compare(field.value, op.value, val.value)
        if op.value not in STR_OPS:
            raise InvalidFilterClause(f"operator {op.value} not allowed on {field.value}", op.pos)
        val = self.peek()
        if val.kind != "STR":
            raise InvalidFilterClause(f'{field.value} needs a quoted string value ("...")', val.pos)
        self.i += 1
        return Compare(field.value, op.value, val.value)


def parse_filter(text: str | None, allow_parens: bool = False) -> Node | None:
    """Parse a Filter string; None or blank means no filter."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidFilterClause("filter must be a string")
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilterClause(f"filter longer than {MAX_FILTER_LENGTH} characters")
    if not text.strip():
        return None
    return _Parser(tokenize(text), allow_parens).parse()


# ---- evaluation ------------------------------------------------------------------------------------------

_INT_CMP: dict[str, Callable[[int, int], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
}


def evaluate(node: Node | None, attrs: Mapping[str, Any]) -> bool:
    """True when `attrs` (keys int_attr, int_attr2, str_attr, str_attr2) satisfy the filter. A missing or
    None attribute never satisfies a comparison, not even `!=` (SQL NULL semantics, like the Q version)."""
    if node is None:
        return True
    if isinstance(node, And):
        return all(evaluate(n, attrs) for n in node.items)
    if isinstance(node, Or):
        return any(evaluate(n, attrs) for n in node.items)
    value = attrs.get(node.field)
    if value is None:
        return False
    if node.field in INT_FIELDS:
        try:
            return _INT_CMP[node.op](int(value), int(node.value))
        except (TypeError, ValueError):
            return False
    return (str(value) == node.value) if node.op == "=" else (str(value) != node.value)


_Q_LOOKUP = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "exact"}


def to_q(node: Node | None, q_class: Any, field_map: Mapping[str, str] | None = None) -> Any:
    """Build a Django Q (pass `django.db.models.Q`) from the AST; values go in as parameters, never SQL.

    `!=` becomes `~Q(field=v) & Q(field__isnull=False)` so NULL rows are excluded, matching `evaluate`."""
    if node is None:
        return q_class()
    fmap = field_map or {}
    if isinstance(node, And | Or):
        parts = [to_q(n, q_class, fmap) for n in node.items]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node, And) else (out | p)
        return out
    field = fmap.get(node.field, node.field)
    if node.op == "!=":
        return ~q_class(**{field: node.value}) & q_class(**{f"{field}__isnull": False})
    return q_class(**{f"{field}__{_Q_LOOKUP[node.op]}": node.value})


def compile_filter(text: str | None, allow_parens: bool = False) -> Callable[[Mapping[str, Any]], bool]:
    """Parse once, return a predicate over attribute dicts."""
    node = parse_filter(text, allow_parens)
    return lambda attrs: evaluate(node, attrs)
