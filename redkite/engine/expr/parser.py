"""Pratt (top-down operator precedence) parser for Milvus filter expressions.

Each token kind has a left binding power (how tightly it binds to the expression on
its left) and "nud" / "led" handlers, as in jmespath's parser. Binding powers, loosest
first::

    or ||                      10  left associative, chains flattened
    and &&                     20  left associative, chains flattened
    not !          (prefix)    30  ``not a > 1`` is ``not (a > 1)``
    == != < <= > >=            40  chains only as ranges: ``1 < x <= 5``
    in, not in, like, not like, is [not] null
                               40
    + -                        50
    * / %                      60
    - +            (prefix)    70
    **                         80  right associative
    [ ]            (postfix)   90  JSON keys, list and ARRAY indexes
    exists         (prefix)    85  ``exists meta["k"]``

:func:`parse` is memoized on the filter text, so compiling the same filter again does
not tokenize it again.
"""

from __future__ import annotations

import functools

from . import ast
from .diagnostics import describe_token_text, filter_error
from .tokens import Token, tokenize

MAX_DEPTH = 100  # nesting limit: keeps binder and evaluator far from Python's recursion limit

COMPARISON_OPS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_ASCENDING = frozenset({"<", "<="})
_DESCENDING = frozenset({">", ">="})

_LEFT_BINDING_POWER = {
    "or": 10, "and": 20,
    "==": 40, "!=": 40, "<": 40, "<=": 40, ">": 40, ">=": 40,
    "in": 40, "like": 40, "is": 40,
    "+": 50, "-": 50, "*": 60, "/": 60, "%": 60, "**": 80, "[": 90,
}
_NOT_BINDING_POWER = 30
_COMPARISON_BINDING_POWER = 40
_UNARY_BINDING_POWER = 70
_EXISTS_BINDING_POWER = 85
_LITERAL_KINDS = frozenset({"int", "float", "string"})


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.nesting = 0

    # -- token helpers -------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek_kind(self, offset: int = 1) -> str:
        index = min(self.index + offset, len(self.tokens) - 1)
        return self.tokens[index].kind

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def expect(self, kind: str, what: str) -> Token:
        if self.current.kind != kind:
            raise self.unexpected(self.current, f"expected {what}")
        return self.advance()

    def unexpected(self, token: Token, hint: str = ""):
        if token.kind == "eof":
            problem = "unexpected end of filter"
        else:
            problem = f"unexpected token {describe_token_text(token.text)}"
        if hint:
            problem = f"{problem}; {hint}"
        return filter_error(self.text, token.position, problem)

    # -- driver --------------------------------------------------------------------
    def parse(self) -> ast.Expr:
        if self.current.kind == "eof":
            raise filter_error(self.text, 0, "empty filter expression")
        expression = self.expression(0)
        if self.current.kind != "eof":
            raise self.unexpected(self.current)
        if ast.depth(expression) > MAX_DEPTH:
            raise filter_error(self.text, expression.position,
                               f"filter nested too deeply (more than {MAX_DEPTH} levels)")
        return expression

    def expression(self, right_binding_power: int) -> ast.Expr:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise filter_error(self.text, self.current.position,
                               f"filter nested too deeply (more than {MAX_DEPTH} levels)")
        left = self.nud(self.advance())
        while right_binding_power < self.left_binding_power():
            left = self.led(self.advance(), left)
        self.nesting -= 1
        return left

    def left_binding_power(self) -> int:
        kind = self.current.kind
        if kind == "not":  # infix only as "not in" / "not like"
            return _COMPARISON_BINDING_POWER if self.peek_kind() in ("in", "like") else 0
        return _LEFT_BINDING_POWER.get(kind, 0)

    # -- prefix handlers ---------------------------------------------------------------
    def nud(self, token: Token) -> ast.Expr:
        kind = token.kind
        if kind in _LITERAL_KINDS:
            return ast.Literal(token.position, token.value)
        if kind in ("true", "false"):
            return ast.Literal(token.position, kind == "true")
        if kind == "placeholder":
            return ast.Placeholder(token.position, str(token.value))
        if kind == "name":
            if self.current.kind == "(":
                return self.call(token)
            return ast.Name(token.position, str(token.value))
        if kind == "(":
            inner = self.expression(0)
            self.expect(")", "')' to close '('")
            return inner
        if kind == "[":
            return ast.ListLiteral(token.position, self.sequence("]"))
        if kind in ("-", "+"):
            return ast.Unary(token.position, kind, self.expression(_UNARY_BINDING_POWER))
        if kind == "not":
            return ast.Not(token.position, self.expression(_NOT_BINDING_POWER))
        if kind == "exists":
            return ast.Exists(token.position, self.expression(_EXISTS_BINDING_POWER))
        raise self.unexpected(token)

    def sequence(self, closer: str) -> tuple[ast.Expr, ...]:
        """Comma-separated expressions up to ``closer`` (a trailing comma is allowed)."""
        items: list[ast.Expr] = []
        while self.current.kind != closer:
            items.append(self.expression(0))
            if self.current.kind == ",":
                self.advance()
            elif self.current.kind != closer:
                raise self.unexpected(self.current, f"expected ',' or '{closer}'")
        self.advance()
        return tuple(items)

    def call(self, name: Token) -> ast.Call:
        self.advance()  # "("
        return ast.Call(name.position, str(name.value).lower(), self.sequence(")"))

    # -- infix handlers ----------------------------------------------------------------
    def led(self, token: Token, left: ast.Expr) -> ast.Expr:
        kind = token.kind
        if kind in ("and", "or"):
            right = self.expression(_LEFT_BINDING_POWER[kind])
            operands = left.operands if isinstance(left, ast.Logical) and left.op == kind else (left,)
            position = left.position if isinstance(left, ast.Logical) and left.op == kind else token.position
            return ast.Logical(position, kind, operands + (right,))
        if kind in COMPARISON_OPS:
            return self.comparison(token, left)
        if kind == "**":
            return ast.Arithmetic(token.position, kind, left, self.expression(_LEFT_BINDING_POWER[kind] - 1))
        if kind in ("+", "-", "*", "/", "%"):
            return ast.Arithmetic(token.position, kind, left, self.expression(_LEFT_BINDING_POWER[kind]))
        if kind == "[":
            key = self.expression(0)
            self.expect("]", "']' to close '['")
            return ast.Index(token.position, left, key)
        if kind == "is":
            negated = self.current.kind == "not"
            if negated:
                self.advance()
            self.expect("null", "'null' after 'is'" if not negated else "'null' after 'is not'")
            return ast.IsNull(token.position, left, negated)
        return self.membership(token, left)

    def membership(self, token: Token, left: ast.Expr) -> ast.Expr:
        """``in`` / ``like``, possibly preceded by ``not``."""
        negated = token.kind == "not"
        if negated:
            token = self.advance()  # "in" or "like", guaranteed by left_binding_power
        right = self.expression(_COMPARISON_BINDING_POWER)
        if token.kind == "in":
            return ast.In(token.position, left, right, negated)
        return ast.Like(token.position, left, right, negated)

    def comparison(self, token: Token, left: ast.Expr) -> ast.Comparison:
        ops = [token.kind]
        positions = [token.position]
        operands = [left, self.expression(_COMPARISON_BINDING_POWER)]
        while self.current.kind in COMPARISON_OPS:
            op_token = self.advance()
            ops.append(op_token.kind)
            positions.append(op_token.position)
            operands.append(self.expression(_COMPARISON_BINDING_POWER))
        if len(ops) > 1 and not (set(ops) <= _ASCENDING or set(ops) <= _DESCENDING):
            raise filter_error(self.text, positions[1],
                               "comparisons can only be chained as a range such as "
                               "'1 < x <= 5' or '10 > x >= 2'")
        return ast.Comparison(token.position, tuple(ops), tuple(operands), tuple(positions))


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> ast.Expr:
    """Parse ``text`` into a syntax tree; raises FilterSyntaxError. Memoized per text."""
    return Parser(text).parse()
