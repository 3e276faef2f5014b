"""A DuckDB backend for Sigma on pySigma's ``TextQueryBackend``: a rule's condition becomes
one SQL predicate over the store's ``events`` or ``signins``.

What the class attributes cannot say is written as methods, each small:

- **Case-insensitive equality, lower-cased once.** Sigma compares strings without regard to
  case: the value is lower-cased once (``lower('Value')``, a constant DuckDB folds: the same
  mapping as the column's) and the column once per row (``lower(col) = lower('Value')``), not
  ``ILIKE`` per comparison. Plain values use ``=``, a value with only a trailing, leading or
  both ``*`` uses ``starts_with``, ``ends_with`` or ``contains``; any other wildcard becomes
  ``LIKE`` with ``%``, ``_`` and ``\\`` of the text escaped and an ``ESCAPE`` clause.
  ``|cased`` drops the ``lower``.
- **DuckDB literals** come from :func:`mailhunt.sigma.sqltext.sql_string` only (quotes doubled,
  no backslash escapes, NUL as ``chr(0)``); a value it cannot write makes the rule unsupported.
- **Sigma's null semantics for ``not``.** A condition on a missing field (NULL) is false in
  Sigma, so its negation is true; SQL's NULL would drop the row. Every negation is written
  ``NOT coalesce(expr, false)``. (AND and OR of NULL and a boolean are NULL exactly when Sigma's
  answer is false, so one coalesce per ``not`` is exact; the WHERE clause drops NULL as false.)
- ``re``: ``regexp_matches`` (RE2, a search like Python's ``re.search``) with the rule's flags
  as inline groups ``(?i)``, ``(?m)``, ``(?s)``; DuckDB's defaults are Python's (``.`` does
  not match a newline, ``^`` only at the start).
- ``cidr``: DuckDB's ``inet`` is an extension, which a locked connection cannot load, so a
  network is expanded into address prefixes (pySigma's ``SigmaCIDRExpression.expand``).
- ``gt``/``gte``/``lt``/``lte``: numeric columns compared as they are, text columns through
  ``TRY_CAST(... AS DOUBLE)`` where the text is a decimal number (other text, ``nan`` and
  ``inf`` included, does not match).
- ``exists``, ``null``, ``fieldref`` (with ``startswith``/``endswith``/``contains``),
  ``base64``, ``base64offset``, ``utf16``/``wide``, ``windash``, ``all`` come from pySigma's
  modifiers as plain strings, expansions or field references, converted as above.
- Keyword searches (values without a field) and placeholders are unsupported.

Fields arrive as tokens from :mod:`mailhunt.sigma.pipelines`; a name that is no token is a field
the store does not keep: :class:`Unsupported` ``field X not collected``.

References: https://sigmahq.io/docs/basics/modifiers.html,
https://github.com/SigmaHQ/pySigma/blob/main/sigma/conversion/base.py,
https://duckdb.org/docs/stable/sql/functions/regular_expressions
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.state import ConversionState
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    CompareOperators,
    SigmaBool,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from mailhunt.model.schema import TABLES_BY_NAME
from mailhunt.model.sql import quote_identifier
from mailhunt.sigma.pipelines import COLUMN, DERIVED, PARAM
from mailhunt.sigma.sqltext import UnsafeValue, joined, like_pattern, plain_parts, sql_string

_TEXT_TYPES = ("VARCHAR",)
_NUMERIC_TYPES = ("INTEGER", "BIGINT", "DOUBLE")
_RE_FLAGS = {
    SigmaRegularExpressionFlag.IGNORECASE: "i",
    SigmaRegularExpressionFlag.MULTILINE: "m",
    SigmaRegularExpressionFlag.DOTALL: "s",
}
# Text a comparison reads as a number: ASCII digits, sign, point, exponent, nothing around.
_DECIMAL = sql_string(r"[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?")
_COMPARE = {
    CompareOperators.LT: "<",
    CompareOperators.LTE: "<=",
    CompareOperators.GT: ">",
    CompareOperators.GTE: ">=",
    CompareOperators.NEQ: "<>",
}


class Unsupported(SigmaFeatureNotSupportedByBackendError):
    """The rule needs what this backend or the store cannot give; the message says what."""


def _column_types() -> dict[str, str]:
    types: dict[str, str] = {}
    for table in ("events", "signins"):
        for column in TABLES_BY_NAME[table].columns:
            types.setdefault(column.name, column.type)
    return types


class DuckDBBackend(TextQueryBackend):
    """Sigma rule conditions as DuckDB predicates over the mailhunt store."""

    name: ClassVar[str] = "mailhunt DuckDB"
    formats: ClassVar[dict[str, str]] = {"default": "DuckDB predicate over the mailhunt store"}
    requires_pipeline: ClassVar[bool] = True

    precedence: ClassVar[tuple[type[ConditionNOT], type[ConditionAND], type[ConditionOR]]] = (
        ConditionNOT,
        ConditionAND,
        ConditionOR,
    )
    group_expression: ClassVar[str] = "({expr})"
    token_separator: str = " "  # noqa: S105 (a SQL token)
    or_token: ClassVar[str] = "OR"  # noqa: S105 (a SQL token)
    and_token: ClassVar[str] = "AND"  # noqa: S105 (a SQL token)
    not_token: ClassVar[str] = "NOT"  # noqa: S105 (a SQL token)
    eq_token: ClassVar[str] = " = "  # noqa: S105 (a SQL token)
    field_null_expression: ClassVar[str] = "{field} IS NULL"
    field_exists_expression: ClassVar[str] = "{field} IS NOT NULL"
    field_not_exists_expression: ClassVar[str] = "{field} IS NULL"
    explicit_not_exists_expression: ClassVar[bool] = True
    field_equals_field_expression: ClassVar[str] = "lower({field1}) = lower({field2})"
    field_equals_field_startswith_expression: ClassVar[str] = (
        "starts_with(lower({field1}), lower({field2}))"
    )
    field_equals_field_endswith_expression: ClassVar[str] = (
        "ends_with(lower({field1}), lower({field2}))"
    )
    field_equals_field_contains_expression: ClassVar[str] = (
        "contains(lower({field1}), lower({field2}))"
    )
    field_equals_field_escaping_quoting: tuple[bool, bool] = (True, True)

    _types: ClassVar[dict[str, str]] = _column_types()

    # -- fields -------------------------------------------------------------------------------

    def escape_and_quote_field(self, field_name: str) -> str:
        """The field's SQL, as text (a column of another type is cast to VARCHAR)."""
        sql, type_ = self._field(field_name)
        return sql if type_ in _TEXT_TYPES else f"CAST({sql} AS VARCHAR)"

    def _field(self, token: str) -> tuple[str, str]:
        """(SQL, DuckDB type) of a field token; Unsupported for a field not collected."""
        if token in DERIVED:
            return f"({DERIVED[token][1]})", "VARCHAR"
        if token.startswith(PARAM):
            name = sql_string(token[len(PARAM) :])
            return (
                f'list_filter("parameters", lambda p: lower(p.name) = lower({name}))[1].value',
                "VARCHAR",
            )
        if token.startswith(COLUMN) and token[len(COLUMN) :] in self._types:
            column = token[len(COLUMN) :]
            return quote_identifier(column), self._types[column]
        raise Unsupported(f"field {token} not collected")

    # -- boolean structure --------------------------------------------------------------------

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        """``NOT coalesce(expr, false)``: a condition on a missing field is false, so its
        negation holds (SQL's NOT NULL would drop the row)."""
        inner = self.convert_condition(cond.args[0], state)
        if not isinstance(inner, str):
            raise Unsupported("negation of a deferred expression")
        return f"NOT coalesce({inner}, false)"

    def convert_condition_field_eq_expansion(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """An expansion (windash, base64offset) is one group of OR-linked values."""
        expansion = cond.value
        assert isinstance(expansion, SigmaExpansion)  # noqa: S101 (the dispatcher's contract)
        values = [ConditionFieldEqualsValueExpression(cond.field, v) for v in expansion.values]
        return self._any_of(values, state)

    def _any_of(
        self, conds: list[ConditionFieldEqualsValueExpression], state: ConversionState
    ) -> str:
        parts = [self.convert_condition(c, state) for c in conds]
        if not all(isinstance(p, str) for p in parts):
            raise Unsupported("deferred expression in a list of values")
        return "(" + " OR ".join(str(p) for p in parts) + ")"

    # -- strings ------------------------------------------------------------------------------

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """Case-insensitive string match: the value lower-cased by DuckDB's ``lower`` once
        (a constant), the column per row: one mapping on both sides (Python's ``str.lower``
        differs for ``Σ`` at a word's end and for ``İ``)."""
        assert isinstance(cond.value, SigmaString)  # noqa: S101
        field = f"lower({self.escape_and_quote_field(cond.field)})"
        return self._match(field, self._parts(cond.value), fold=True)

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``|cased``: the same match without lower-casing."""
        assert isinstance(cond.value, SigmaString)  # noqa: S101
        return self._match(self.escape_and_quote_field(cond.field), self._parts(cond.value))

    @staticmethod
    def _parts(value: SigmaString) -> list[str | SpecialChars]:
        try:
            return plain_parts(value)
        except UnsafeValue as error:
            raise Unsupported(str(error)) from None

    @staticmethod
    def _match(field: str, parts: list[str | SpecialChars], *, fold: bool = False) -> str:
        """``=``, starts_with, ends_with or contains when the wildcards allow, else LIKE;
        ``fold``: the value's literal lower-cased in SQL."""
        multi = SpecialChars.WILDCARD_MULTI
        lead = bool(parts) and parts[0] is multi
        trail = len(parts) > int(lead) and parts[-1] is multi
        inner = parts[int(lead) : len(parts) - int(trail)]
        try:
            if any(isinstance(p, SpecialChars) for p in inner):
                return f"{field} LIKE {like_pattern(parts, fold=fold)}"
            text = sql_string(joined(inner))
            text = f"lower({text})" if fold else text
        except UnsafeValue as error:
            raise Unsupported(str(error)) from None
        if lead and trail:
            return f"contains({field}, {text})"
        if trail:
            return f"starts_with({field}, {text})"
        if lead:
            return f"ends_with({field}, {text})"
        return f"{field} = {text}"

    # -- numbers, booleans, comparisons -------------------------------------------------------

    @staticmethod
    def _number(value: SigmaNumber) -> str:
        number = value.number
        if isinstance(number, float) and not math.isfinite(number):
            raise Unsupported(f"number {number} cannot be compared")
        return repr(number)

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """A number: compared as a number in a numeric column, as its text in a text one."""
        assert isinstance(cond.value, SigmaNumber)  # noqa: S101
        sql, type_ = self._field(cond.field)
        if type_ in _NUMERIC_TYPES:
            return f"{sql} = {self._number(cond.value)}"
        text = sql_string(str(cond.value.number).lower())
        return f"lower({self.escape_and_quote_field(cond.field)}) = {text}"

    def convert_condition_field_eq_val_bool(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """A boolean: a BOOLEAN column as it is, text as 'true'/'false'."""
        assert isinstance(cond.value, SigmaBool)  # noqa: S101
        sql, type_ = self._field(cond.field)
        word = "true" if cond.value.boolean else "false"
        if type_ == "BOOLEAN":
            return f"{sql} = {word}"
        return f"lower({self.escape_and_quote_field(cond.field)}) = '{word}'"

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """gt/gte/lt/lte: numbers; text only where it is a decimal number (TRY_CAST alone
        also reads ``nan``, ``inf`` and ``1_0``, and NaN is above every number in DuckDB)."""
        assert isinstance(cond.value, SigmaCompareExpression)  # noqa: S101
        sql, type_ = self._field(cond.field)
        if type_ not in _NUMERIC_TYPES:
            text = self.escape_and_quote_field(cond.field)
            number = f"CASE WHEN regexp_full_match({text}, {_DECIMAL}) THEN {text} END"
            sql = f"TRY_CAST({number} AS DOUBLE)"
        return f"{sql} {_COMPARE[cond.value.op]} {self._number(cond.value.number)}"

    # -- regular expressions, networks, references --------------------------------------------

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``regexp_matches(field, '(?flags)pattern')``: the pattern a quoted literal."""
        assert isinstance(cond.value, SigmaRegularExpression)  # noqa: S101
        flags = "".join(sorted(_RE_FLAGS[f] for f in cond.value.flags))
        pattern = (f"(?{flags})" if flags else "") + cond.value.regexp.original
        try:
            literal = sql_string(pattern)
        except UnsafeValue as error:
            raise Unsupported(str(error)) from None
        return f"regexp_matches({self.escape_and_quote_field(cond.field)}, {literal})"

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """A network as the address prefixes it spans (``10.*``), OR-linked."""
        assert isinstance(cond.value, SigmaCIDRExpression)  # noqa: S101
        prefixes = cond.value.expand()
        values = [ConditionFieldEqualsValueExpression(cond.field, SigmaString(p)) for p in prefixes]
        return self._any_of(values, state)

    def convert_condition_field_eq_field(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        """``fieldref``: both sides resolved through the pipeline's tokens."""
        assert isinstance(cond.value, SigmaFieldReference)  # noqa: S101
        return super().convert_condition_field_eq_field(cond, state)

    # -- what is not supported ----------------------------------------------------------------

    def convert_condition_val_str(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        raise Unsupported("keyword search (a value without a field)")

    def convert_condition_val_num(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        raise Unsupported("keyword search (a value without a field)")

    def convert_condition_val_re(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        raise Unsupported("keyword search (a value without a field)")

    def convert_condition_field_eq_query_expr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        raise Unsupported("query expression placeholder")

    def convert_condition_query_expr(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        raise Unsupported("query expression placeholder")

    def convert_condition_field_eq_val_timestamp_part(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        raise Unsupported("timestamp part modifiers (minute, hour, day, ...)")
