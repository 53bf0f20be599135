"""Tokenizer for Milvus filter expressions.

A hand-written scanner (no backtracking regular expressions) producing
:class:`Token` objects. Token kinds are short strings:

* ``"name"`` (identifiers, including ``$meta``), ``"int"``, ``"float"``, ``"string"``,
  ``"placeholder"`` (``{name}`` of filter templates), ``"eof"``;
* keywords, lower-cased whatever their spelling: ``and or not in like is null exists
  true false``; ``&&``, ``||`` and ``!`` are tokens of kind ``and``, ``or`` and ``not``;
* operators and punctuation, whose kind is their text: ``== != < <= > >= + - * / % **
  ( ) [ ] ,``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .diagnostics import filter_error

KEYWORDS = frozenset({"and", "or", "not", "in", "like", "is", "null", "exists", "true", "false"})

# Longest first, so "**" wins over "*" and "<=" over "<".
_OPERATORS = ("**", "==", "!=", "<=", ">=", "&&", "||",
              "<", ">", "+", "-", "*", "/", "%", "!", "(", ")", "[", "]", ",")
_OPERATOR_KINDS = {"&&": "and", "||": "or", "!": "not"}

_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_RADIX_DIGITS = {"x": (16, frozenset("0123456789abcdefABCDEF")),
                 "o": (8, frozenset("01234567")),
                 "b": (2, frozenset("01"))}

_MAX_NUMBER_LENGTH = 400  # far beyond int64/float64; keeps int() away from its digit limit
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v",
                   "a": "\a", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
_HEX_ESCAPE_LENGTHS = {"x": 2, "u": 4, "U": 8}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: object  # int / float / str for literals and names, the text otherwise
    position: int  # character offset in the filter text
    text: str      # the source text of the token


class _Scanner:
    """Walks the filter text once, appending tokens."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 0
        self.tokens: list[Token] = []

    def error(self, position: int, problem: str):
        return filter_error(self.text, position, problem)

    def run(self) -> list[Token]:
        text = self.text
        while True:
            while self.index < len(text) and text[self.index].isspace():
                self.index += 1
            if self.index >= len(text):
                self.tokens.append(Token("eof", None, len(text), ""))
                return self.tokens
            self.scan_one(text[self.index])

    def scan_one(self, char: str) -> None:
        if char in _NAME_START or char == "$":
            self.scan_name()
        elif char in _DIGITS or (char == "." and self.peek(1) in _DIGITS):
            self.scan_number()
        elif char in "\"'":
            self.scan_string(char)
        elif char == "{":
            self.scan_placeholder()
        else:
            self.scan_operator()

    def peek(self, offset: int) -> str:
        index = self.index + offset
        return self.text[index] if index < len(self.text) else ""

    def add(self, kind: str, value: object, start: int) -> None:
        self.tokens.append(Token(kind, value, start, self.text[start:self.index]))

    def take_while(self, allowed: frozenset) -> None:
        text = self.text
        while self.index < len(text) and text[self.index] in allowed:
            self.index += 1

    def scan_name(self) -> None:
        start = self.index
        self.index += 1
        self.take_while(_NAME_CHARS)
        name = self.text[start:self.index]
        if name == "$":
            raise self.error(start, "'$' must be followed by a name such as $meta")
        lowered = name.lower()
        if lowered in KEYWORDS:
            self.add(lowered, name, start)
        else:
            self.add("name", name, start)

    def scan_number(self) -> None:
        start = self.index
        radix = _RADIX_DIGITS.get(self.peek(1).lower()) if self.peek(0) == "0" else None
        if radix is not None:
            self.index += 2
            digits_start = self.index
            self.take_while(radix[1])
            if self.index == digits_start:
                raise self.error(start, "invalid number literal")
            if self.index - digits_start > _MAX_NUMBER_LENGTH:
                raise self.error(start, "number literal out of range")
            self.finish_number(start, int(self.text[digits_start:self.index], radix[0]), "int")
            return
        self.take_while(_DIGITS)
        is_float = False
        if self.peek(0) == ".":
            is_float = True
            self.index += 1
            self.take_while(_DIGITS)
        if self.peek(0) in ("e", "E") and (self.peek(1) in _DIGITS or (
                self.peek(1) in ("+", "-") and self.peek(2) in _DIGITS)):
            is_float = True
            self.index += 2
            self.take_while(_DIGITS)
        literal = self.text[start:self.index]
        if len(literal) > _MAX_NUMBER_LENGTH:
            raise self.error(start, "number literal out of range")
        if is_float:
            value = float(literal)
            if value in (float("inf"), float("-inf")):
                raise self.error(start, "float literal out of range")
            self.finish_number(start, value, "float")
            return
        if len(literal) > 1 and literal[0] == "0":
            raise self.error(start, f"invalid number literal {literal!r}: leading zeros are not allowed")
        self.finish_number(start, int(literal), "int")

    def finish_number(self, start: int, value: object, kind: str) -> None:
        if self.peek(0) in _NAME_CHARS or self.peek(0) == ".":
            raise self.error(start, f"invalid number literal {self.text[start:self.index + 1]!r}")
        self.add(kind, value, start)

    def scan_string(self, quote: str) -> None:
        start = self.index
        self.index += 1
        pieces: list[str] = []
        text = self.text
        while True:
            end = self.index
            while end < len(text) and text[end] != quote and text[end] != "\\":
                end += 1
            pieces.append(text[self.index:end])
            self.index = end
            if end >= len(text):
                raise self.error(start, "unterminated string literal")
            if text[end] == quote:
                self.index += 1
                self.add("string", "".join(pieces), start)
                return
            pieces.append(self.scan_escape(start))

    def scan_escape(self, string_start: int) -> str:
        """Decode the escape at ``self.index`` (a backslash); unknown escapes stay as
        written, so ``"50\\%"`` reaches LIKE as an escaped percent sign."""
        start = self.index
        code = self.peek(1)
        if code == "":
            raise self.error(string_start, "unterminated string literal")
        if code in _SIMPLE_ESCAPES:
            self.index += 2
            return _SIMPLE_ESCAPES[code]
        if code in _HEX_ESCAPE_LENGTHS:
            length = _HEX_ESCAPE_LENGTHS[code]
            digits = self.text[self.index + 2:self.index + 2 + length]
            if len(digits) != length or any(d not in _RADIX_DIGITS["x"][1] for d in digits):
                raise self.error(start, f"invalid \\{code} escape in string literal")
            value = int(digits, 16)
            if value > 0x10FFFF:
                raise self.error(start, f"invalid \\{code} escape in string literal")
            self.index += 2 + length
            return chr(value)
        self.index += 2
        return "\\" + code

    def scan_placeholder(self) -> None:
        start = self.index
        self.index += 1
        while self.peek(0).isspace() and self.peek(0) != "":
            self.index += 1
        name_start = self.index
        if self.peek(0) not in _NAME_START:
            raise self.error(self.index, "expected a template parameter name after '{'")
        self.take_while(_NAME_CHARS)
        name = self.text[name_start:self.index]
        while self.peek(0).isspace() and self.peek(0) != "":
            self.index += 1
        if self.peek(0) != "}":
            raise self.error(self.index, "expected '}' to close the template parameter")
        self.index += 1
        self.add("placeholder", name, start)

    def scan_operator(self) -> None:
        start = self.index
        for operator in _OPERATORS:
            if self.text.startswith(operator, start):
                self.index += len(operator)
                self.add(_OPERATOR_KINDS.get(operator, operator), operator, start)
                return
        char = self.text[start]
        if char == "=":
            raise self.error(start, "unexpected '=' (use '==' to compare)")
        raise self.error(start, f"unexpected character {char!r}")


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``eof`` token."""
    return _Scanner(text).run()
