"""Pattern text -> pattern tree, with AWS's syntax rules and a positioned error for each
violation.

The first non-blank character picks the pattern kind, as in CloudWatch Logs: `{` a JSON
pattern, `[` a space-delimited pattern, `%` a standalone regex, anything else unstructured
text terms.
"""

from __future__ import annotations

import re
from typing import cast

from flightdeck.filterpattern.errors import FilterPatternError
from flightdeck.filterpattern.lexer import Token, scan_quoted, tokenize
from flightdeck.filterpattern.nodes import (
    And,
    AnyValue,
    Column,
    Comparison,
    ComparisonOp,
    Condition,
    DelimitedPattern,
    JsonPattern,
    MatchAll,
    NumberValue,
    Or,
    Pattern,
    Postfix,
    PostfixCheck,
    RegexPattern,
    RegexValue,
    Selector,
    StringValue,
    TermGroup,
    TermsPattern,
    Value,
)
from flightdeck.filterpattern.regex import MAX_REGEXES_PER_PATTERN, compile_regex

MAX_PATTERN_LENGTH = 1024
"""CloudWatch Logs refuses longer filter patterns (PutMetricFilter, PutSubscriptionFilter)."""

# AWS's number syntax: optional sign, integer or decimal, optional exponent. Written so
# that no two parts can take the same digits: ``re`` then needs linear time on any field.
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NAME = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)
_TERM_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_BLANK = " \t\r\n"


def parse(pattern: str) -> Pattern:
    """Parse `pattern`; raise FilterPatternError (with a 1-based column) if AWS would refuse it."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise FilterPatternError(
            f"the pattern is {len(pattern)} characters long; CloudWatch Logs accepts at most "
            f"{MAX_PATTERN_LENGTH}: shorten it or split it into several filters",
            MAX_PATTERN_LENGTH + 1,
        )
    start = len(pattern) - len(pattern.lstrip(_BLANK))
    end = len(pattern.rstrip(_BLANK))
    if start >= end:
        return MatchAll()
    first = pattern[start]
    if first == "{":
        return _ConditionParser(pattern, start, end).json_pattern()
    if first == "[":
        return _ConditionParser(pattern, start, end).delimited_pattern()
    if first == "%":
        return _regex_pattern(pattern, start, end)
    return _terms_pattern(pattern, start, end)


# Unstructured text terms.


def _terms_pattern(pattern: str, start: int, end: int) -> Pattern:
    groups: list[tuple[list[str], list[str]]] = [([], [])]
    has_or = False
    i = start
    while i < end:
        if pattern[i] in _BLANK:
            i += 1
            continue
        term_start = i
        if pattern[i] == "?":
            has_or = True
            if groups[-1] != ([], []):
                groups.append(([], []))
            i += 1
        exclude = i < end and pattern[i] == "-"
        if exclude:
            i += 1
        if i >= end or pattern[i] in _BLANK:
            what = "'-'" if exclude else "'?'"
            raise FilterPatternError(
                f"expected a term right after {what} (no space), for example "
                f"{'-DEBUG' if exclude else '?ERROR'}",
                term_start + 1,
            )
        if pattern[i] == '"':
            term, i = _quoted_term(pattern, i, end)
        else:
            term, i = _bare_term(pattern, i, end)
        includes, excludes = groups[-1]
        (excludes if exclude else includes).append(term)
    if not has_or and groups[0][0] in ([], [""]) and not groups[0][1]:
        return MatchAll()
    return TermsPattern(
        tuple(TermGroup(tuple(inc), tuple(exc)) for inc, exc in groups if inc or exc)
    )


def _quoted_term(pattern: str, i: int, end: int) -> tuple[str, int]:
    term, after = scan_quoted(pattern, i, end, "term")
    if after < end and pattern[after] not in _BLANK:
        raise FilterPatternError(
            "expected a space after the closing quote: separate terms with spaces", after + 1
        )
    return term, after


def _bare_term(pattern: str, i: int, end: int) -> tuple[str, int]:
    j = i
    while j < end and pattern[j] not in _BLANK:
        if pattern[j] not in _TERM_CHARS:
            k = j
            while k < end and pattern[k] not in _BLANK:
                k += 1
            raise FilterPatternError(
                f"{pattern[j]!r} is not allowed in an unquoted term (only letters, digits and _ "
                f'are): put the term in double quotes, "{pattern[i:k]}"',
                j + 1,
            )
        j += 1
    return pattern[i:j], j


def _regex_pattern(pattern: str, start: int, end: int) -> Pattern:
    close = pattern.find("%", start + 1, end)
    if close < 0:
        raise FilterPatternError("this regex has no closing %: write %regex%", start + 1)
    if close != end - 1:
        raise FilterPatternError(
            "a %regex% pattern must be the whole pattern: remove what follows the closing %, or "
            "use a JSON or space-delimited pattern to combine a regex with other conditions",
            close + 2,
        )
    return RegexPattern(compile_regex(pattern[start + 1 : close], start + 1))


# JSON and space-delimited conditions.


class _ConditionParser:
    """Recursive descent over lexer tokens; precedence is ( ) over && over ||, as in AWS."""

    def __init__(self, pattern: str, start: int, end: int) -> None:
        self.tokens = tokenize(pattern, start, end)
        self.index = 0
        self.regexes = 0
        self.in_json = True

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def kind(self) -> str:
        """The current token's kind (a method, so type checkers re-read it after advance())."""
        return self.tokens[self.index].kind

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, kind: str, what: str) -> Token:
        if self.kind() != kind:
            raise self.error(f"expected {what}")
        return self.advance()

    def error(self, expected: str, token: Token | None = None) -> FilterPatternError:
        token = token or self.token
        found = "the end of the pattern" if token.kind == "EOF" else repr(token.text)
        if token.kind == "STRING":
            found = f'"{token.text}"'
        return FilterPatternError(f"{expected}, found {found}", token.position)

    # JSON: { condition }

    def json_pattern(self) -> JsonPattern:
        self.expect("{", "{")
        condition = self.or_expression()
        self.expect("}", "&&, || or the closing } of the JSON pattern")
        if self.kind() != "EOF":
            raise self.error("nothing after the closing } of a JSON pattern")
        return JsonPattern(condition)

    def or_expression(self) -> Condition:
        left = self.and_expression()
        while self.kind() == "||":
            self.advance()
            left = Or(left, self.and_expression())
        return left

    def and_expression(self) -> Condition:
        left = self.primary()
        while self.kind() == "&&":
            self.advance()
            left = And(left, self.primary())
        return left

    def primary(self) -> Condition:
        if self.kind() == "(":
            self.advance()
            inner = self.or_expression()
            self.expect(")", "&&, || or a closing )")
            return inner
        if self.in_json:
            return self.json_condition()
        return self.column_condition()

    def json_condition(self) -> Condition:
        if self.kind() != "SELECTOR":
            raise self.error("expected a selector such as $.eventName, or (")
        token = self.advance()
        selector = Selector(token.steps, token.text)
        if self.kind() == "OP":
            op_token = self.advance()
            return Comparison(selector, _op(op_token), self.value(op_token))
        if self.kind() == "WORD" and self.token.text in ("IS", "NOT"):
            first = self.advance()
            second = self.token
            wanted = ("NULL", "TRUE", "FALSE") if first.text == "IS" else ("EXISTS",)
            if second.kind != "WORD" or second.text not in wanted:
                options = " or ".join(f"{first.text} {word}" for word in wanted)
                raise self.error(f"expected {options} (in capitals)", second)
            self.advance()
            return Postfix(selector, cast(PostfixCheck, f"{first.text} {second.text}"))
        raise self.error(
            f"expected an operator (=, !=, <, <=, >, >=), IS NULL, IS TRUE, IS FALSE or "
            f"NOT EXISTS after {token.text}"
        )

    def value(self, op_token: Token) -> Value:
        op = op_token.text
        token = self.token
        if token.kind == "REGEX":
            if op not in ("=", "!="):
                raise self.error(f"a %regex% can only be compared with = or !=, not {op}", token)
            self.regexes += 1
            if self.regexes > MAX_REGEXES_PER_PATTERN:
                raise FilterPatternError(
                    f"CloudWatch Logs allows at most {MAX_REGEXES_PER_PATTERN} regexes in one "
                    "JSON or space-delimited pattern: remove one",
                    token.position,
                )
            self.advance()
            return RegexValue(compile_regex(token.text, token.position), token.text)
        if token.kind not in ("WORD", "STRING"):
            raise self.error(f"expected a value after {op}")
        self.advance()
        if op not in ("=", "!="):
            if token.kind == "WORD" and NUMBER.fullmatch(token.text):
                return _number(token.text)
            raise self.error(
                f"{op} compares numbers: expected a number such as 500, -1.5 or 1e3", token
            )
        if token.kind == "WORD" and NUMBER.fullmatch(token.text):
            return _number(token.text)
        return _string_value(token.text)

    # Space-delimited: [column, column, ...]

    def delimited_pattern(self) -> DelimitedPattern:
        self.in_json = False
        self.expect("[", "[")
        columns: list[Column] = []
        ellipsis: int | None = None
        positions: list[int] = []
        while True:
            token = self.token
            if token.kind == "WORD" and token.text == "...":
                if ellipsis is not None:
                    raise self.error("only one ... is allowed in a space-delimited pattern")
                ellipsis = len(columns)
                self.advance()
            elif token.kind in (",", "]"):
                columns.append(Column(None, None))  # a blank column matches any field
                positions.append(token.position)
            else:
                columns.append(self.column())
                positions.append(token.position)
            if self.kind() == "]":
                self.advance()
                break
            self.expect(",", ", between columns or the closing ]")
        if self.kind() != "EOF":
            raise self.error("nothing after the closing ] of a space-delimited pattern")
        self._check_names(columns, positions)
        return DelimitedPattern(tuple(columns), ellipsis)

    def column(self) -> Column:
        token = self.token
        if token.kind != "WORD" and token.kind != "(":
            raise self.error("expected a column name such as status_code, or ...")
        if token.kind == "WORD" and self.tokens[self.index + 1].kind in (",", "]", "EOF"):
            self._check_name(token)
            self.advance()
            return Column(token.text, None)
        condition = self.or_expression()
        return Column(_first_name(condition), condition)

    def column_condition(self) -> Condition:
        token = self.token
        if token.kind != "WORD":
            raise self.error("expected a column name such as status_code")
        self._check_name(token)
        self.advance()
        if self.kind() != "OP":
            raise self.error(f"expected an operator (=, !=, <, <=, >, >=) after {token.text}")
        op_token = self.advance()
        return Comparison(token.text, _op(op_token), self.value(op_token))

    def _check_name(self, token: Token) -> None:
        if not _NAME.fullmatch(token.text):
            raise self.error("column names may contain only letters, digits, - and _", token)

    def _check_names(self, columns: list[Column], positions: list[int]) -> None:
        """Column names are compared ignoring letter case, as CloudWatch Logs reads them:
        a condition may write ``STATUS_CODE`` for the column ``status_code``, and two
        columns that differ only in case are the same name."""
        names: dict[str, str] = {}
        for column, position in zip(columns, positions, strict=True):
            if column.name is None:
                continue
            key = column_key(column.name)
            if key in names:
                same = "" if names[key] == column.name else f" (as {names[key]!r}, ignoring case)"
                raise FilterPatternError(
                    f"column name {column.name!r} is used twice{same}: give each column its "
                    "own name",
                    position,
                )
            names[key] = column.name
        for column, position in zip(columns, positions, strict=True):
            for name in _referenced_names(column.condition):
                if column_key(name) not in names:
                    raise FilterPatternError(
                        f"condition on {name!r}, which is not a column of this pattern: name a "
                        "column with it, or compare the column you mean",
                        position,
                    )


def column_key(name: str) -> str:
    """How a space-delimited column name is looked up: ASCII letters in any case (names are
    ASCII letters, digits, - and _)."""
    return name.lower()


def _op(token: Token) -> ComparisonOp:
    return cast(ComparisonOp, token.text)  # the lexer only makes OP tokens of these six


def _number(text: str) -> NumberValue:
    body = text.lstrip("+")
    if any(c in body for c in ".eE"):
        return NumberValue(float(body), text)
    return NumberValue(int(body), text)


def _string_value(text: str) -> Value:
    """AWS wildcards: `*` at the start and/or end; a `*` in the middle is a literal `*`."""
    prefix = text.startswith("*")
    suffix = len(text) > 1 and text.endswith("*")
    core = text[1 if prefix else 0 : len(text) - 1 if suffix else len(text)]
    if (prefix or suffix) and not core:
        return AnyValue()
    return StringValue(core, prefix, suffix)


def _first_name(condition: Condition) -> str | None:
    if isinstance(condition, Comparison):
        return condition.target if isinstance(condition.target, str) else None
    if isinstance(condition, And | Or):
        return _first_name(condition.left)
    return None


def _referenced_names(condition: Condition | None) -> list[str]:
    if condition is None:
        return []
    if isinstance(condition, Comparison):
        return [condition.target] if isinstance(condition.target, str) else []
    if isinstance(condition, And | Or):
        return _referenced_names(condition.left) + _referenced_names(condition.right)
    return []
