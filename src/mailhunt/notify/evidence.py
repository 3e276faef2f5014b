"""A tenant's evidence files: its attributed records and messages read as CSV (the columns of
``mailhunt export --format csv --what incidents``, through its formula guard) and the STIX
bundle of its alerts (``export.to_stix``), each alert's evidence restricted to the tenant.

An alert can span tenants (an analytic grouping several; a campaign): its own lists
(``tenant_ids``, ``mailboxes``, ``users``, ``app_ids``, ``client_ips``, ``summary``) would name
the others, so the alert given to the STIX exporter keeps only what is the tenant's: its
tenant, and its access contexts read from the tenant's records alone. Campaign alerts are left
out (their evidence in this tenant is their members'; a notice counts the other tenants, never
names them).
"""

from __future__ import annotations

from dataclasses import replace

from mailhunt.alerts.query import Alert, list_alerts
from mailhunt.export.base import ExportFile
from mailhunt.export.data import AlertFinding, access_contexts
from mailhunt.export.to_csv import MESSAGE_FIELDS, RECORD_FIELDS, _rows
from mailhunt.export.to_stix import bundle, stix_text
from mailhunt.notify.facts import TenantFacts
from mailhunt.report.encode import csv_text
from mailhunt.store.db import Store


def evidence_files(store: Store, facts: TenantFacts) -> list[ExportFile]:
    """evidence.csv, messages.csv and indicators.stix.json for one tenant."""
    records, messages = [], []
    for f in facts.incidents:
        records += _rows(f.incident.id, f.radius.records)
        messages += _rows(f.incident.id, f.radius.messages)
    return [
        ExportFile("evidence.csv", csv_text(RECORD_FIELDS, records)),
        ExportFile("messages.csv", csv_text(MESSAGE_FIELDS, messages)),
        ExportFile("indicators.stix.json", stix_text(bundle(tenant_findings(store, facts)))),
    ]


def _own(alert: Alert, tenant: str) -> Alert:
    """The alert as the tenant may see it: nothing of another tenant's."""
    if alert.tenant_ids == [tenant]:
        return alert
    return replace(
        alert,
        tenant_ids=[tenant],
        mailboxes=[],
        users=[],
        app_ids=[],
        client_ips=[],
        summary=alert.title,
        event_ids=[],
        why=None,
        campaign_id=None,
    )


def tenant_findings(store: Store, facts: TenantFacts) -> list[AlertFinding]:
    """The tenant's incidents' alerts (each once), with access from its records only."""
    wanted = list(dict.fromkeys(a for f in facts.incidents for a in f.alert_ids))
    alerts = {a.id: a for a in list_alerts(store, include_suppressed=True) if a.id in wanted}
    contexts = access_contexts(store, wanted, facts.tenant_id)
    return [
        AlertFinding(_own(alerts[a], facts.tenant_id), contexts.get(a, []))
        for a in wanted
        if a in alerts
    ]
