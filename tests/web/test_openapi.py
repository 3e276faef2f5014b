"""schemathesis over the OpenAPI document of the JSON twins (GET operations): generated
requests, valid and not, never get a 5xx, and every answer matches its documented schema.
Kept small (a few examples per operation) for the suite's time budget."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from mailhunt.web import create_app
from tests.web.conftest import PORT, TOKEN
from tests.web.conftest import settings as web_settings

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

HEADERS = {"Authorization": f"Bearer {TOKEN}", "Host": f"127.0.0.1:{PORT}"}


OPERATIONS = 10  # the GET operations of the document (a new one must be counted here)


def test_api_answers_follow_the_document(demo_db: Path) -> None:
    app = create_app(web_settings(demo_db))
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, headers=HEADERS)
    operations = [r.ok() for r in schema.include(method="GET").get_all_operations()]
    assert len(operations) == OPERATIONS
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: object) -> None:
            case.call_and_validate(  # type: ignore[attr-defined]
                headers=HEADERS, checks=[not_a_server_error, response_schema_conformance]
            )

        check()
