"""Error reporting for filter expressions: a message plus the filter with a caret.

Every problem found while tokenizing, parsing or binding a filter is raised as
:class:`redkite.errors.FilterSyntaxError` built by :func:`filter_error`::

    invalid filter: unexpected token '>' at column 5
      id >>> 3
          ^
"""

from __future__ import annotations

from redkite.errors import FilterSyntaxError

# Filters longer than this are shown as a window around the offending position.
_WINDOW = 60


def _visible(text: str) -> str:
    """Replace control characters so the caret stays under the right column."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _excerpt(line: str, column: int) -> tuple[str, int]:
    """Cut a long line to a window around ``column``; return text and caret offset."""
    if len(line) <= 2 * _WINDOW:
        return line, column
    start = max(0, column - _WINDOW)
    end = min(len(line), column + _WINDOW)
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(line) else ""
    return prefix + line[start:end] + suffix, column - start + len(prefix)


def filter_error(text: str, position: int, problem: str) -> FilterSyntaxError:
    """Build the error for ``problem`` found at character offset ``position`` of ``text``."""
    position = max(0, min(position, len(text)))
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    if line_end < 0:
        line_end = len(text)
    column = position - line_start  # 0-based within the line
    if "\n" in text:
        line_number = text.count("\n", 0, position) + 1
        where = f"line {line_number} column {column + 1}"
    else:
        where = f"column {column + 1}"
    shown, caret = _excerpt(_visible(text[line_start:line_end]), column)
    message = f"invalid filter: {problem} at {where}\n  {shown}\n  {' ' * caret}^"
    return FilterSyntaxError(message)


def describe_token_text(text: str) -> str:
    """Quote a token's text for a message, shortening very long tokens."""
    if len(text) > 40:
        text = text[:37] + "..."
    return repr(text)
