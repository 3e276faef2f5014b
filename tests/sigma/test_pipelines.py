"""The pipelines' tables name real formats and columns."""

from __future__ import annotations

import pytest

from mailhunt.formats import FORMATS
from mailhunt.model.schema import TABLES_BY_NAME
from mailhunt.sigma.pipelines import COLUMN, DERIVED, LOG_SOURCES, PARAM, LogSource


@pytest.mark.parametrize("source", LOG_SOURCES, ids=lambda s: f"{s.product}/{s.service}")
def test_log_source_names_real_formats_and_columns(source: LogSource) -> None:
    assert all(FORMATS[name].table == source.table for name in source.formats)
    columns = set(TABLES_BY_NAME[source.table].column_names)
    for token in source.fields.values():
        if token in DERIVED:
            assert DERIVED[token][0] == source.table
        else:
            assert token.startswith(COLUMN)
            assert token[len(COLUMN) :] in columns, token
    assert all(p == PARAM and "parameters" in columns for p in source.prefixes.values())


def test_field_names_match_whatever_their_case() -> None:
    signins = next(s for s in LOG_SOURCES if s.service == "signinlogs")
    assert signins.token("Resultdescription") == "@failure_reason"
    assert signins.token("deviceDetail.IsCompliant") == "@device_compliant"
    assert signins.token("NetworkLocationDetails") == "NetworkLocationDetails"  # not kept
    m365 = next(s for s in LOG_SOURCES if s.service == "audit")
    assert m365.token("parameters.ForwardTo") == "@param:ForwardTo"
