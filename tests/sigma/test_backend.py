"""The DuckDB backend's modifiers, each with a positive and a negative rule over the tiny
store of ``world``, Sigma's null semantics for ``not``, and quoting of awkward values."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailhunt.sigma.compiler import UNSUPPORTED
from mailhunt.store.db import Store
from tests.sigma.world import EVENTS, compile_text, fill, matches, rule_text

M365 = {"e1", "e2", "e3", "e4"}


@pytest.fixture
def world() -> Iterator[Store]:
    with Store.open(None) as store:
        yield fill(store)


CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    # equality: case-insensitive
    ("eq", {"sel": {"Operation": "new-INBOXRULE"}}, {"e1"}),
    ("eq-neg", {"sel": {"Operation": "New-InboxRul"}}, set()),
    ("eq-list", {"sel": {"Operation": ["set-mailbox", "New-InboxRule"]}}, {"e1", "e3"}),
    ("cased", {"sel": {"Operation|cased": "New-InboxRule"}}, {"e1"}),
    ("cased-neg", {"sel": {"Operation|cased": "new-inboxrule"}}, set()),
    ("contains", {"sel": {"Operation|contains": "ITEMS"}}, {"e2"}),
    ("contains-neg", {"sel": {"Operation|contains": "xyz"}}, set()),
    ("startswith", {"sel": {"Operation|startswith": "set-"}}, {"e3"}),
    ("startswith-neg", {"sel": {"Operation|startswith": "mailbox"}}, set()),
    ("endswith", {"sel": {"Operation|endswith": "accessed"}}, {"e2"}),
    ("endswith-neg", {"sel": {"Operation|endswith": "access"}}, set()),
    ("all", {"sel": {"UserAgent|contains|all": ["mozilla", "WINDOWS"]}}, {"e1"}),
    ("all-neg", {"sel": {"UserAgent|contains|all": ["mozilla", "linux"]}}, set()),
    # wildcards inside a value: LIKE with the text's % and _ escaped
    ("like", {"sel": {"ObjectId": "10?%_d*"}}, {"e2"}),
    ("like-neg-percent", {"sel": {"ObjectId": "1?0%%done"}}, set()),
    ("like-neg-underscore", {"sel": {"ObjectId": "1?0_x*"}}, set()),
    ("percent-plain", {"sel": {"ObjectId": "100%_DONE"}}, {"e2"}),
    ("percent-plain-neg", {"sel": {"ObjectId": "1000_done"}}, set()),
    # quotes, backslashes, regex metacharacters, NUL
    ("quote", {"sel": {"ObjectId|contains": "inbox rule 'x'"}}, {"e1"}),
    ("quote-neg", {"sel": {"ObjectId|contains": "inbox rule ''x''"}}, set()),
    ("backslash", {"sel": {"ObjectId|startswith": "alice\\"}}, {"e1"}),
    # Sigma's own escape: "\\" in a rule is one backslash; four are two
    ("backslash-escaped", {"sel": {"ObjectId|startswith": "alice\\\\"}}, {"e1"}),
    ("backslash-neg", {"sel": {"ObjectId|startswith": "alice\\\\\\\\"}}, set()),
    # "\\*" in Sigma is a literal asterisk; "\\\\*" a backslash, then the wildcard
    ("backslash-like", {"sel": {"UserAgent": "it's a \\path\\\\*"}}, {"e3"}),
    ("backslash-star-neg", {"sel": {"UserAgent": "it's a \\path\\*"}}, set()),
    ("metachar", {"sel": {"UserAgent|contains": "(?i) [x]"}}, {"e3"}),
    ("metachar-neg", {"sel": {"UserAgent|contains": "(?i) [y]"}}, set()),
    ("nul", {"sel": {"ObjectId": "a\x00b"}}, {"e3"}),
    ("nul-neg", {"sel": {"ObjectId": "ab"}}, set()),
    # re: case-sensitive unless i, flags inline, pattern quoted
    ("re", {"sel": {"UserAgent|re": "^python-requests/\\d+\\."}}, {"e2"}),
    ("re-neg", {"sel": {"UserAgent|re": "^Python"}}, set()),
    ("re-i", {"sel": {"UserAgent|re|i": "^PYTHON"}}, {"e2"}),
    ("re-quote", {"sel": {"ObjectId|re": "rule 'x'$"}}, {"e1"}),
    ("re-backslash", {"sel": {"ObjectId|re": "^Alice\\\\Inbox"}}, {"e1"}),
    ("re-backslash-neg", {"sel": {"ObjectId|re": "^Alice\\\\\\\\Inbox"}}, set()),
    # cidr
    ("cidr", {"sel": {"ClientIP|cidr": "10.0.0.0/8"}}, {"e1"}),
    ("cidr-neg", {"sel": {"ClientIP|cidr": "10.2.0.0/16"}}, set()),
    ("cidr-mid", {"sel": {"ClientIP|cidr": "192.168.4.0/22"}}, {"e2"}),
    ("cidr-mid-neg", {"sel": {"ClientIP|cidr": "192.168.0.0/22"}}, set()),
    # base64, base64offset, utf16/wide, windash
    ("base64-wide", {"sel": {"ObjectId|wide|base64|contains": "ps"}}, {"e4"}),
    ("base64-wide-neg", {"sel": {"ObjectId|wide|base64|contains": "pt"}}, set()),
    ("base64offset", {"sel": {"ObjectId|base64offset|contains": "secret"}}, {"e4"}),
    ("base64offset-neg", {"sel": {"ObjectId|base64offset|contains": "public"}}, set()),
    ("windash", {"sel": {"UserAgent|windash|contains": " -enc "}}, {"e4"}),
    ("windash-neg", {"sel": {"UserAgent|windash|contains": " -dec "}}, set()),
    # exists, null
    ("exists", {"sel": {"ResultStatus|exists": True}}, {"e1", "e3", "e4"}),
    ("exists-false", {"sel": {"ResultStatus|exists": False}}, {"e2"}),
    ("null", {"sel": {"ResultStatus": None}}, {"e2"}),
    ("param-exists", {"sel": {"Parameters.ForwardTo|exists": True}}, {"e1"}),
    # comparisons: a numeric column, and a text column (no number: no match)
    ("gt", {"sel": {"RecordType|gt": 1}}, {"e2"}),
    ("gte", {"sel": {"RecordType|gte": 50}}, {"e2"}),
    ("lt", {"sel": {"RecordType|lt": 50}}, {"e1", "e3", "e4"}),
    ("lte", {"sel": {"RecordType|lte": 0}}, set()),
    ("gt-text", {"sel": {"ObjectId|gt": 5}}, set()),
    # fieldref
    ("fieldref", {"sel": {"UserId|fieldref": "MailboxOwnerUPN"}}, {"e1"}),
    ("fieldref-neg", {"sel": {"UserId|fieldref": "ClientIP"}}, set()),
    ("fieldref-contains", {"sel": {"ObjectId|fieldref|contains": "MailboxOwnerUPN"}}, set()),
    # Parameters by name (case-insensitive), like any field
    ("param", {"sel": {"Parameters.ForwardTo|endswith": "@X.com"}}, {"e1"}),
    ("param-case", {"sel": {"parameters.forwardingsmtpaddress": "SMTP:evil@x.com"}}, {"e3"}),
    ("param-neg", {"sel": {"Parameters.ForwardTo": "other@x.com"}}, set()),
]


@pytest.mark.parametrize(
    ("detection", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_modifier(
    world: Store, tmp_path: Path, detection: dict[str, Any], expected: set[str]
) -> None:
    assert matches(world, tmp_path, detection) == expected


NOT_CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    # e2 has no ResultStatus: "not ResultStatus = Succeeded" holds for it (Sigma), SQL's
    # NOT NULL would have dropped it
    ("not-missing", {"sel": {"ResultStatus": "Succeeded"}, "condition": "not sel"}, {"e2", "e3"}),
    (
        "not-and",
        {
            "a": {"ResultStatus": "Succeeded"},
            "b": {"Operation|contains": "mailbox"},
            "condition": "not (a and b)",
        },
        {"e1", "e2", "e3"},
    ),
    (
        "not-or",
        {
            "a": {"ResultStatus": "Failed"},
            "b": {"UserId": "bob@contoso.com"},
            "condition": "not (a or b)",
        },
        {"e1", "e4"},
    ),
    ("not-not", {"sel": {"ResultStatus": "Succeeded"}, "condition": "not not sel"}, {"e1", "e4"}),
    (
        "and-not",
        {
            "a": {"Workload": "exchange"},
            "f": {"Parameters.ForwardTo|contains": "@"},
            "condition": "a and not f",
        },
        {"e2", "e3", "e4"},
    ),
    (
        "not-exists",
        {"sel": {"Parameters.ForwardTo|exists": True}, "condition": "not sel"},
        {"e2", "e3", "e4"},
    ),
    ("not-re", {"sel": {"UserAgent|re": "^python"}, "condition": "not sel"}, {"e1", "e3", "e4"}),
]


@pytest.mark.parametrize(
    ("detection", "expected"), [c[1:] for c in NOT_CASES], ids=[c[0] for c in NOT_CASES]
)
def test_not_keeps_rows_missing_the_field(
    world: Store, tmp_path: Path, detection: dict[str, Any], expected: set[str]
) -> None:
    assert matches(world, tmp_path, detection) == expected


def test_log_source_scope(world: Store, tmp_path: Path) -> None:
    """An m365 rule reads UAL rows only; an auditlogs rule the directory audits only."""
    assert matches(world, tmp_path, {"sel": {"ResultStatus|exists": True}}) == {"e1", "e3", "e4"}
    audit = {"sel": {"properties.message": "add member to role", "Status": "Success"}}
    assert matches(world, tmp_path, audit, product="azure", service="auditlogs") == {"d1"}


SIGNIN_CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("number", {"sel": {"ResultType": 50053}}, {"s2"}),
    ("number-neg", {"sel": {"ResultType": 50054}}, set()),
    ("number-as-text", {"sel": {"ResultType": "50053"}}, {"s2"}),
    ("bool", {"sel": {"IsInteractive": True}}, {"s1"}),
    ("status", {"sel": {"Status": "success"}}, {"s1"}),
    ("status-neg", {"sel": {"Status": "failure", "ResultType": 0}}, set()),
    ("ua-null-not", {"sel": {"userAgent|contains": "azurehound"}, "condition": "not sel"}, {"s2"}),
    ("ip", {"sel": {"IPAddress|cidr": "203.0.113.0/24"}}, {"s2"}),
]


@pytest.mark.parametrize(
    ("detection", "expected"), [c[1:] for c in SIGNIN_CASES], ids=[c[0] for c in SIGNIN_CASES]
)
def test_signinlogs(
    world: Store, tmp_path: Path, detection: dict[str, Any], expected: set[str]
) -> None:
    assert matches(world, tmp_path, detection, product="azure", service="signinlogs") == expected


UNSUPPORTED_CASES: list[tuple[str, dict[str, Any], dict[str, str], str]] = [
    ("field", {"sel": {"Directionality": "Inbound"}}, {}, "field Directionality not collected"),
    (
        "log source",
        {"sel": {"riskEventType": "x"}},
        {"product": "azure", "service": "pim"},
        "log source not collected (product=azure, service=pim): Privileged Identity Management",
    ),
    ("keyword", {"sel": ["evil"]}, {}, "keyword search (a value without a field)"),
    # pySigma checks patterns with RE2, DuckDB's engine: no lookarounds, no backreferences
    ("re2", {"sel": {"UserAgent|re": "(?<=a)b"}}, {}, "Regular expression '(?<=a)b' is invalid"),
    ("placeholder", {"sel": {"UserId|expand": "%admins%"}}, {}, "placeholder %admins%"),
    ("surrogate", {"sel": {"Operation": "\ud800"}}, {}, "value '\\ud800' is not valid"),
]


@pytest.mark.parametrize(
    ("detection", "rule", "reason"),
    [c[1:] for c in UNSUPPORTED_CASES],
    ids=[c[0] for c in UNSUPPORTED_CASES],
)
def test_unsupported_says_why(
    tmp_path: Path, detection: dict[str, Any], rule: dict[str, str], reason: str
) -> None:
    text = rule_text(detection, **rule)
    compiled = compile_text(tmp_path, text)
    assert compiled.status == UNSUPPORTED
    assert compiled.reason.startswith(reason), compiled.reason
    assert compiled.query.endswith("WHERE ") or not compiled.predicate


UNICODE_CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    # Python's "ΣΑΣ".lower() ends in the final sigma, DuckDB's lower(col) in the small sigma:
    # the value is lower-cased by DuckDB too, so a value matches itself
    ("final-sigma", {"sel": {"Operation": "ΣΑΣ"}}, {"u1"}),
    ("final-sigma-startswith", {"sel": {"Operation|startswith": "ΣΑΣ"}}, {"u1"}),
    ("final-sigma-like", {"sel": {"Operation": "Σ?Σ"}}, {"u1"}),
    ("dotted-i", {"sel": {"ObjectId": "İSTANBUL"}}, {"u1"}),
    ("dotted-i-lower", {"sel": {"ObjectId|endswith": "istanbul"}}, {"u1"}),
    ("param-name", {"sel": {"Parameters.ΣΑΣ": "x"}}, {"u1"}),
    # lower case, not case folding: the final sigma is not the small one
    ("final-sigma-neg", {"sel": {"Operation": "\u03c3\u03b1\u03c2"}}, set()),
]


@pytest.mark.parametrize(
    ("detection", "expected"), [c[1:] for c in UNICODE_CASES], ids=[c[0] for c in UNICODE_CASES]
)
def test_unicode_case_is_duckdbs_lower_on_both_sides(
    world: Store, tmp_path: Path, detection: dict[str, Any], expected: set[str]
) -> None:
    row = {**EVENTS[0], "record_id": "u1", "operation": "ΣΑΣ", "object_id": "İstanbul"}
    world.insert_rows(
        "events", [{**row, "parameters": [{"name": "\u03c3\u03b1\u03c3", "value": "X"}]}]
    )
    assert matches(world, tmp_path, detection) - M365 == expected


@pytest.mark.parametrize(
    ("detection", "expected"),
    [
        ({"sel": {"ObjectId|gt": 5}}, {"n7", "n1e1"}),
        ({"sel": {"ObjectId|lt": 8}}, {"n7", "n-2"}),
        ({"sel": {"ObjectId|gte": -2}, "condition": "not sel"}, {"nnan", "ninf", "n1_0", "n 7"}),
    ],
)
def test_text_compares_as_a_number_only_when_it_is_a_decimal_number(
    world: Store, tmp_path: Path, detection: dict[str, Any], expected: set[str]
) -> None:
    """TRY_CAST alone read nan (above every number in DuckDB), inf and 1_0 as numbers."""
    texts = ["7", "-2", "1e1", "nan", "inf", "1_0", " 7"]
    rows = [{**EVENTS[0], "record_id": f"n{t}", "object_id": t} for t in texts]
    world.insert_rows("events", rows)
    assert matches(world, tmp_path, detection) - M365 == expected
