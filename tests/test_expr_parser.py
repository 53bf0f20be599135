"""Tokenizer, Pratt parser, binder and template tests for redkite.engine.expr."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from redkite.engine.expr import CompiledFilter, FieldInfo, TableSource, compile_filter
from redkite.engine.expr import ast, parser, plan, tokens
from redkite.engine.expr.parser import parse
from redkite.errors import ErrorCode, FilterSyntaxError, MilvusException
from redkite.types import DataType as D

FIELDS = {f.name: f for f in [
    FieldInfo("id", D.INT64, is_primary=True),
    FieldInfo("age", D.INT32, nullable=True),
    FieldInfo("score", D.FLOAT),
    FieldInfo("name", D.VARCHAR, nullable=True),
    FieldInfo("flag", D.BOOL),
    FieldInfo("meta", D.JSON, nullable=True),
    FieldInfo("arr", D.ARRAY, D.INT64),
    FieldInfo("sarr", D.ARRAY, D.VARCHAR),
    FieldInfo("vec", D.FLOAT_VECTOR),
]}


def bind(text, dynamic="$meta", params=None):
    return compile_filter(text, FIELDS, dynamic, params).plan


def error_of(text, dynamic="$meta", params=None) -> str:
    with pytest.raises(FilterSyntaxError) as caught:
        compile_filter(text, FIELDS, dynamic, params)
    return caught.value.message


def caret_column(message: str) -> int:
    """1-based column of the caret drawn under the filter."""
    caret_line = message.splitlines()[-1]
    return caret_line.index("^") - 1  # two spaces of indent, 1-based


# -- tokens --------------------------------------------------------------------------------

def test_tokens_literals_and_keywords():
    kinds = [(t.kind, t.value) for t in tokens.tokenize(
        "a AND b Or NOT c && d || !e In LiKe iS NuLl EXISTS True FALSE")][:-1]
    assert [k for k, _ in kinds] == ["name", "and", "name", "or", "not", "name", "and", "name", "or",
                                     "not", "name", "in", "like", "is", "null", "exists", "true", "false"]
    values = [t.value for t in tokens.tokenize("12 0x1F 0o17 0b101 1.5 .5 1. 1e-3 2E+2 0 9223372036854775808")][:-1]
    assert values == [12, 31, 15, 5, 1.5, 0.5, 1.0, 0.001, 200.0, 0, 2**63]
    assert [type(v) for v in values[:4]] == [int] * 4


def test_tokens_strings_and_escapes():
    values = [t.value for t in tokens.tokenize(r'''"a\"b" 'c\'d' "tab\t" "\u00e9\x41" "50\%" 'x"y' ""''')][:-1]
    assert values == ['a"b', "c'd", "tab\t", "éA", "50\\%", 'x"y', ""]


def test_tokens_operators_longest_match():
    kinds = [t.kind for t in tokens.tokenize("a**b<=c>=d!=e==f<g>h%i/j")][:-1]
    assert kinds == ["name", "**", "name", "<=", "name", ">=", "name", "!=", "name", "==", "name",
                     "<", "name", ">", "name", "%", "name", "/", "name"]


def test_token_positions():
    assert [t.position for t in tokens.tokenize('ab  >= "x"')] == [0, 4, 7, 10]


# -- parser ------------------------------------------------------------------------------

def shape(node) -> object:
    """A compact, position-free rendering of a syntax tree."""
    if isinstance(node, ast.Literal):
        return node.value
    if isinstance(node, ast.Name):
        return node.name
    if isinstance(node, ast.Placeholder):
        return "{" + node.name + "}"
    if isinstance(node, ast.ListLiteral):
        return [shape(i) for i in node.items]
    if isinstance(node, ast.Index):
        return ("[]", shape(node.target), shape(node.key))
    if isinstance(node, ast.Call):
        return (node.name + "()",) + tuple(shape(a) for a in node.args)
    if isinstance(node, ast.Unary):
        return (node.op, shape(node.operand))
    if isinstance(node, ast.Not):
        return ("not", shape(node.operand))
    if isinstance(node, ast.Arithmetic):
        return (node.op, shape(node.left), shape(node.right))
    if isinstance(node, ast.Comparison):
        out = [shape(node.operands[0])]
        for op, operand in zip(node.ops, node.operands[1:]):
            out += [op, shape(operand)]
        return tuple(out)
    if isinstance(node, ast.Logical):
        return (node.op,) + tuple(shape(o) for o in node.operands)
    if isinstance(node, ast.In):
        return ("not in" if node.negated else "in", shape(node.operand), shape(node.values))
    if isinstance(node, ast.Like):
        return ("not like" if node.negated else "like", shape(node.operand), shape(node.pattern))
    if isinstance(node, ast.IsNull):
        return ("is not null" if node.negated else "is null", shape(node.operand))
    if isinstance(node, ast.Exists):
        return ("exists", shape(node.operand))
    raise AssertionError(node)


@pytest.mark.parametrize("text,expected", [
    ("a or b and c", ("or", "a", ("and", "b", "c"))),
    ("a and b or c", ("or", ("and", "a", "b"), "c")),
    ("a or b or c || d", ("or", "a", "b", "c", "d")),
    ("a && b AND c", ("and", "a", "b", "c")),
    ("not a > 1", ("not", ("a", ">", 1))),
    ("not a and b", ("and", ("not", "a"), "b")),
    ("!a || b", ("or", ("not", "a"), "b")),
    ("not not a", ("not", ("not", "a"))),
    ("a + b * c > 1", (("+", "a", ("*", "b", "c")), ">", 1)),
    ("a - b - c == 0", (("-", ("-", "a", "b"), "c"), "==", 0)),
    ("-2 ** 2 < x", (("-", ("**", 2, 2)), "<", "x")),
    ("2 ** 3 ** 2 == x", (("**", 2, ("**", 3, 2)), "==", "x")),
    ("2 ** -1 == x", (("**", 2, ("-", 1)), "==", "x")),
    ("a % 2 == 0", (("%", "a", 2), "==", 0)),
    ("1 < x <= 5", (1, "<", "x", "<=", 5)),
    ("10 > x >= 2", (10, ">", "x", ">=", 2)),
    ("(a > 1) == true", (("a", ">", 1), "==", True)),
    ("id in [1, 2]", ("in", "id", [1, 2])),
    ("id not in [1, 2,]", ("not in", "id", [1, 2])),
    ("id IN []", ("in", "id", [])),
    ('name like "a%"', ("like", "name", "a%")),
    ('name NOT LIKE "a%"', ("not like", "name", "a%")),
    ("x is null", ("is null", "x")),
    ("x IS NOT NULL", ("is not null", "x")),
    ('exists meta["a"]', ("exists", ("[]", "meta", "a"))),
    ('EXISTS $meta["k"] and x', ("and", ("exists", ("[]", "$meta", "k")), "x")),
    ('meta["a"]["b"][0] > 1', (("[]", ("[]", ("[]", "meta", "a"), "b"), 0), ">", 1)),
    ("ARRAY_CONTAINS(arr, 1)", ("array_contains()", "arr", 1)),
    ("Json_Contains_Any(meta['t'], [1, 'x'])", ("json_contains_any()", ("[]", "meta", "t"), [1, "x"])),
    ("array_length(arr) == 0", (("array_length()", "arr"), "==", 0)),
    ("age > {a} and name in {names}", ("and", ("age", ">", "{a}"), ("in", "name", "{names}"))),
    ("flag", "flag"),
    ("TRUE", True),
    ("((x))", "x"),
])
def test_parse_shapes(text, expected):
    assert shape(parse(text)) == expected


def test_nodes_carry_positions():
    tree = parse('age >= 3 and meta["k"] like "x%"')
    assert isinstance(tree, ast.Logical)
    comparison, like = tree.operands
    assert comparison.position == 4 and comparison.op_positions == (4,)
    assert comparison.operands[1].position == 7
    assert like.position == 23 and like.operand.position == 17 and ast.start(like) == 13


def test_the_example_from_the_brief():
    with pytest.raises(FilterSyntaxError) as caught:
        compile_filter("id >>> 3", FIELDS)
    error = caught.value
    assert isinstance(error, MilvusException) and error.code == ErrorCode.PARAMETER_INVALID == 1100
    assert error.message == ("invalid filter: unexpected token '>' at column 5\n"
                             "  id >>> 3\n"
                             "      ^")


@pytest.mark.parametrize("text,column,words", [
    ("", 1, "empty filter"),
    ("   ", 1, "empty filter"),
    ("age >", 6, "unexpected end of filter"),
    ("age > 1 +", 10, "unexpected end"),
    ("(age > 1", 9, "expected ')'"),
    ("age > 1)", 8, "unexpected token ')'"),
    ("age = 1", 5, "use '=='"),
    ("age > 1 & x", 9, "unexpected character '&'"),
    ('name == "abc', 9, "unterminated string"),
    ("name == 'abc\\", 9, "unterminated string"),
    ("age > 012", 7, "leading zeros"),
    ("age > 12abc", 7, "invalid number"),
    ("age > 0x", 7, "invalid number"),
    ("age > 1e999", 7, "out of range"),
    ("id in [1 2]", 10, "expected ',' or ']'"),
    ("f(", 3, "unexpected end"),
    ("a == b == c", 8, "chained as a range"),
    ("1 < a > 2", 7, "chained as a range"),
    ("x is 1", 6, "expected 'null'"),
    ("x is not", 9, "expected 'null'"),
    ("age > {", 8, "parameter name"),
    ("age > {a", 9, "'}'"),
    ("$ > 1", 1, "'$' must be followed"),
    ('name == "\\u12"', 10, "\\u escape"),
    ("age > 1 age", 9, "unexpected token 'age'"),
    ("not", 4, "unexpected end"),
    ("id in", 6, "unexpected end"),
    ("@", 1, "unexpected character '@'"),
])
def test_syntax_errors_show_a_caret(text, column, words):
    message = error_of(text)
    assert message.startswith("invalid filter: ")
    assert words in message.splitlines()[0]
    assert f"at column {column}" in message.splitlines()[0]
    assert message.splitlines()[1] == "  " + text
    assert caret_column(message) == column


def test_multiline_filters_point_at_the_line():
    message = error_of("age > 1 and\nname ==")
    assert "at line 2 column 8" in message
    assert message.splitlines()[1] == "  name =="
    assert caret_column(message) == 8


def test_long_filters_show_a_window():
    text = "id in [" + ", ".join(str(i) for i in range(500)) + "] and age >"
    message = error_of(text)
    shown = message.splitlines()[1]
    assert len(shown) < 200 and shown.startswith("  ...")
    assert shown[caret_column(message) + 1:].startswith("") and "age >" in shown


def test_deep_nesting_is_an_error_not_a_crash():
    for text in ["(" * 5000 + "x" + ")" * 5000, "not " * 5000 + "flag", "-" * 5000 + "1 > 0",
                 "1" + " + 1" * 3000 + " > 0", "x" + "[0]" * 3000 + " > 0", "[" * 3000 + "]" * 3000]:
        assert "nested too deeply" in error_of(text)


def test_long_flat_chains_are_fine():
    text = " or ".join(f"id == {i}" for i in range(3000))
    compiled = compile_filter(text, FIELDS)
    assert isinstance(compiled.plan, plan.Or) and len(compiled.plan.operands) == 3000


# -- binder ------------------------------------------------------------------------------

@pytest.mark.parametrize("text,column,words", [
    ('age == "10"', 5, "cannot compare INT32 field 'age' with string literal \"10\""),
    ("name > 5", 6, "cannot compare VARCHAR field 'name' with integer literal 5"),
    ("flag > true", 6, "cannot order booleans"),
    ("flag == 1", 6, "cannot compare BOOL field 'flag' with integer literal 1"),
    ('age like "1%"', 1, "'like' needs a VARCHAR field or a JSON value"),
    ("name like 1", 11, "pattern of 'like' must be a string"),
    ('name like "a\\\\"', 11, "lone escape"),
    ("array_contains(age, 1)", 16, "needs an ARRAY field or a JSON value, got INT32 field 'age'"),
    ('array_contains(arr, "1")', 21, "cannot match integer values against string literal \"1\""),
    ("array_contains(arr, [1])", 21, "a list is not allowed here"),
    ("array_contains_all(arr, 1)", 25, "expects a list"),
    ("array_contains(arr)", 1, "takes 2 arguments, got 1"),
    ("array_length(arr, 1) > 0", 1, "takes 1 argument, got 2"),
    ("frobnicate(arr) > 0", 1, "unknown function 'frobnicate'"),
    ('id in [1, "a"]', 11, "cannot match integer values against string literal \"a\""),
    ("flag in [1]", 10, "cannot match boolean values against integer literal 1"),
    ("id in 5", 7, "expects a list"),
    ("id in [age]", 8, "expected a literal value, got INT32 field 'age'"),
    ("id in [[1]]", 7, "nested lists"),
    ("arr == 1", 5, "index it"),
    ("arr > arr", 5, "cannot take ARRAY field 'arr'"),
    ("meta == 1", 6, "JSON field 'meta' as a whole"),
    ("meta + 1 > 0", 1, "must be numeric, got JSON field 'meta'"),
    ('name + 1 > 0', 1, "left operand of '+' must be numeric, got VARCHAR field 'name'"),
    ("age", 1, "the filter must be a boolean expression, got INT32 field 'age'"),
    ('meta["a"]', 1, "compare it, e.g. == true"),
    ("age and flag", 1, "operand of 'and' must be a boolean expression"),
    ("not age", 5, "operand of 'not' must be a boolean"),
    ("vec is null", 1, "field 'vec' of type FLOAT_VECTOR cannot be used"),
    ("age[0] > 1", 4, "cannot index into INT32 field 'age'"),
    ('arr["a"] > 1', 5, "must be indexed by an integer"),
    ("arr[-1] > 1", 5, "must not be negative"),
    ("arr[1.5] > 1", 5, "non-negative integer"),
    ("arr[0][0] > 1", 7, "cannot index into element of ARRAY field 'arr'"),
    ("exists meta", 8, "'exists' needs a JSON key path"),
    ("exists age", 8, "'exists' needs a JSON key path"),
    ("age > 9223372036854775808", 7, "out of the int64 range"),
    ("age > 9223372036854775807 + 1", 27, "out of the int64 range"),
    ("age > 1 / 0", 7, "division by zero"),
    ("age > 5 % 0", 7, "division by zero"),
    ("id == [1, 2]", 7, "list literal is only allowed"),
    ("(age > 1) in [true]", 2, "must be a value, not a condition"),
    ('"a" like "a%"', 1, "'like' needs a VARCHAR field"),
])
def test_type_errors_show_a_caret(text, column, words):
    message = error_of(text)
    assert words in message.splitlines()[0], message
    assert f"at column {column}" in message.splitlines()[0], message
    assert caret_column(message) == column


def test_unknown_fields_depend_on_the_dynamic_field():
    message = error_of("colour == 'red'", dynamic=None)
    assert "field 'colour' does not exist" in message and caret_column(message) == 1
    assert "no dynamic field" in error_of('$meta["a"] == 1', dynamic=None)
    assert bind("colour == 'red'") == plan.Compare("==", plan.JsonPath("$meta", ("colour",)), plan.Const("red"))
    assert bind('$meta["a"]["b"] > 1') == plan.Compare(">", plan.JsonPath("$meta", ("a", "b")), plan.Const(1))
    assert "field '$other' does not exist" in error_of("$other > 1")
    # field names are case-sensitive: AGE is a dynamic key, not the age field
    assert bind("AGE is null") == plan.IsNull(plan.JsonPath("$meta", ("AGE",)))


def test_referenced_fields():
    compiled = compile_filter('age > 1 and meta["a"] == 2 or colour == "x" or array_contains(arr, 1)',
                              FIELDS, "$meta")
    assert compiled.referenced_fields == frozenset({"age", "meta", "$meta", "arr"})
    assert compile_filter("true", FIELDS).referenced_fields == frozenset()


def test_constant_folding():
    assert bind("1 < 2") == plan.Const(True)
    assert bind("2 ** 10 == 1024 and flag") == plan.Column("flag", D.BOOL, plan.ValueKind.BOOL)
    assert bind("age > 1 or true") == plan.Const(True)
    assert bind("age > 1 and false") == plan.Const(False)
    assert bind("not (1 == 1.0)") == plan.Const(False)
    assert bind("age > -9223372036854775808") == plan.Compare(">", plan.Column(
        "age", D.INT32, plan.ValueKind.INT), plan.Const(-(2**63)))
    assert bind("age > -(3 - 5) * 2") == plan.Compare(">", plan.Column(
        "age", D.INT32, plan.ValueKind.INT), plan.Const(4))
    assert bind("age > 7 % -3 + 7 / 2") == plan.Compare(">", plan.Column(
        "age", D.INT32, plan.ValueKind.INT), plan.Const(1 + 3.5))
    assert bind('"x" in ["x", "y"]') == plan.Const(True)
    assert bind("1 in [1.0, 2]") == plan.Const(True)
    assert bind("3 is null") == plan.Const(False)
    assert compile_filter("1 < 2", FIELDS).constant is True
    assert compile_filter("age > 1", FIELDS).constant is None


def test_float32_fields_compare_with_float32_literals():
    assert bind("score == 0.1") == plan.Compare("==", plan.Column(
        "score", D.FLOAT, plan.ValueKind.FLOAT, None, True), plan.Const(float(np.float32(0.1))))
    assert bind("score in [0.1]").values == (float(np.float32(0.1)),)


def test_chained_range_binds_to_a_conjunction():
    age = plan.Column("age", D.INT32, plan.ValueKind.INT)
    assert bind("1 < age <= 5") == plan.And((plan.Compare("<", plan.Const(1), age),
                                             plan.Compare("<=", age, plan.Const(5))))


def test_not_in_and_not_like_bind_to_not():
    assert isinstance(bind("id not in [1]"), plan.Not)
    assert isinstance(bind("name not like 'a%'"), plan.Not)
    assert isinstance(bind("name is not null"), plan.Not)


# -- templates ---------------------------------------------------------------------------

def test_templates_substitute_literals():
    compiled = compile_filter("age > {a} and name in {names}", FIELDS, None, {"a": 3, "names": ["x", "y"]})
    age = plan.Column("age", D.INT32, plan.ValueKind.INT)
    name = plan.Column("name", D.VARCHAR, plan.ValueKind.STRING)
    assert compiled.plan == plan.And((plan.Compare(">", age, plan.Const(3)), plan.InList(name, ("x", "y"))))


def test_templates_cannot_inject_syntax():
    compiled = compile_filter("name == {v}", FIELDS, None, {"v": '"x" or true'})
    assert compiled.plan == plan.Compare("==", plan.Column("name", D.VARCHAR, plan.ValueKind.STRING),
                                         plan.Const('"x" or true'))
    # a placeholder inside a string literal is just text
    assert bind('name == "{v}"', params={"v": 1}).right == plan.Const("{v}")


def test_template_params_types():
    assert bind("flag == {f}", params={"f": np.bool_(True)}).right == plan.Const(True)
    assert bind("id in {ids}", params={"ids": np.array([1, 2])}).values == (1, 2)
    assert bind('meta["a"] in {v}', params={"v": [[1, 2], (3,)]}).values == ((1, 2), (3,))
    assert bind("age > {a}", params={"a": np.int32(4)}).right == plan.Const(4)
    assert bind("score > {a}", params={"a": 1.5}).right == plan.Const(1.5)
    assert bind("{lo} < age", params={"lo": -(2**63)}).left == plan.Const(-(2**63))


@pytest.mark.parametrize("text,params,column,words", [
    ("age > {a}", None, 7, "missing value for template parameter 'a'"),
    ("age > {a}", {"b": 1}, 7, "missing value for template parameter 'a'"),
    ("age > {a}", {"a": [1]}, 7, "list literal is only allowed"),
    ("age > {a}", {"a": None}, 7, "unsupported value: NoneType"),
    ("age > {a}", {"a": {"x": 1}}, 7, "unsupported value: dict"),
    ("id in {a}", {"a": 3}, 7, "expects a list"),
    ("id in {a}", {"a": [1, "x"]}, 7, "cannot match integer values against string"),
    ("age > {a}", {"a": 2**64}, 7, "out of the int64 range"),
    ("name == {a}", {"a": 1}, 6, "cannot compare VARCHAR field 'name' with integer literal 1"),
    ("flag == { a }", {"a": 1}, 6, "cannot compare BOOL field"),
])
def test_template_errors(text, params, column, words):
    message = error_of(text, params=params)
    assert words in message.splitlines()[0], message
    assert caret_column(message) == column


def test_template_cache_keeps_types_apart():
    as_bool = compile_filter("flag == {v}", FIELDS, None, {"v": True})
    assert as_bool.plan.right == plan.Const(True)
    with pytest.raises(FilterSyntaxError):
        compile_filter("flag == {v}", FIELDS, None, {"v": 1})
    assert compile_filter("age == {v}", FIELDS, None, {"v": 1.0}).plan.right.value.__class__ is float
    assert compile_filter("age == {v}", FIELDS, None, {"v": 1}).plan.right.value.__class__ is int


# -- caching -----------------------------------------------------------------------------

def test_compiling_twice_does_not_tokenize_twice(monkeypatch):
    calls = []
    real = parser.tokenize
    monkeypatch.setattr(parser, "tokenize", lambda text: calls.append(text) or real(text))
    text = "age > 41 and name like 'cache-test-%'"
    first = compile_filter(text, FIELDS)
    # a different schema or params still reuses the parsed tree
    compile_filter(text, {**FIELDS, "extra": FieldInfo("extra", D.INT8)})
    assert compile_filter(text, FIELDS) is first
    assert calls == [text]


def test_compile_cache_follows_the_schema():
    text = "cache_probe > 1"
    assert isinstance(compile_filter(text, FIELDS, "$meta").plan.left, plan.JsonPath)
    fields = {**FIELDS, "cache_probe": FieldInfo("cache_probe", D.INT64)}
    assert isinstance(compile_filter(text, fields, "$meta").plan.left, plan.Column)


def test_field_objects_are_duck_typed():
    class Schema:  # like redkite.schema.FieldSchema
        def __init__(self, name, dtype, element_type=None, nullable=False, is_primary=False):
            self.name, self.dtype, self.element_type = name, dtype, element_type
            self.nullable, self.is_primary = nullable, is_primary

    fields = {"n": Schema("n", D.INT16), "a": Schema("a", D.ARRAY, D.BOOL)}
    compiled = compile_filter("n > 1 and array_contains(a, true)", fields)
    assert isinstance(compiled, CompiledFilter)
    table = pa.table({"n": pa.array([1, 2, 3], pa.int16()),
                      "a": pa.array([[True], [False], [True, False]], pa.list_(pa.bool_()))})
    assert compiled.evaluate(TableSource(table)).tolist() == [False, False, True]


def test_non_string_filter_or_params():
    with pytest.raises(FilterSyntaxError):
        compile_filter(None, FIELDS)  # type: ignore[arg-type]
    with pytest.raises(FilterSyntaxError):
        compile_filter("id > {a}", FIELDS, None, [("a", 1)])  # type: ignore[arg-type]
