"""The analytic registry: one module per analytic, each exposing ``ANALYTIC``, listed here."""

from __future__ import annotations

from mailhunt.detect.analytics import mailbox_first_seen_app
from mailhunt.detect.base import Analytic

ANALYTICS: dict[str, Analytic] = {
    module.ANALYTIC.id: module.ANALYTIC for module in (mailbox_first_seen_app,)
}
