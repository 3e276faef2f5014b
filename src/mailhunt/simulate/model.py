"""Public result types: the ground truth of a simulated tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from mailhunt.simulate.ids import graph_time


@dataclass(frozen=True)
class Intrusion:
    """Ground truth for one injected intrusion."""

    kind: str
    tenant_id: str
    app_id: str  # the application the attacker used ("" when the kind uses none of its own)
    client_app_id: str  # its ClientAppId as the records carry it ("" likewise)
    client_ips: tuple[str, ...]
    mailboxes: tuple[str, ...]  # mailboxes read or tampered with
    record_ids: tuple[str, ...]  # every record the attack wrote (UAL ids, sign-in ids)
    internet_message_ids: tuple[str, ...]  # messages read
    first_seen: datetime
    last_seen: datetime
    # record ids an alert must cite for the kind to count as detected (default: any of
    # record_ids); an attack whose first steps look benign (a spray) names its tell-tale ones
    key_record_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "tenant_id": self.tenant_id,
            "app_id": self.app_id,
            "client_app_id": self.client_app_id,
            "client_ips": list(self.client_ips),
            "mailboxes": list(self.mailboxes),
            "record_ids": list(self.record_ids),
            "internet_message_ids": list(self.internet_message_ids),
            "first_seen": graph_time(self.first_seen),
            "last_seen": graph_time(self.last_seen),
            "key_record_ids": list(self.key_record_ids or self.record_ids),
        }


@dataclass(frozen=True)
class Personas:
    """The benign cast: who is who, and the known false-positive sources planted in the data."""

    users: tuple[str, ...]
    executive: str
    delegates: tuple[str, ...]
    new_device_user: str
    new_device_app_id: str
    new_device_day: int
    traveller: str
    travel_days: tuple[int, ...]
    travel_country: str
    graph_cli_user: str
    late_joiner: str
    late_joiner_day: int
    archiver: str
    archiver_app_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "users": list(self.users),
            "executive": self.executive,
            "delegates": list(self.delegates),
            "new_device_user": self.new_device_user,
            "new_device_app_id": self.new_device_app_id,
            "new_device_day": self.new_device_day,
            "traveller": self.traveller,
            "travel_days": list(self.travel_days),
            "travel_country": self.travel_country,
            "graph_cli_user": self.graph_cli_user,
            "late_joiner": self.late_joiner,
            "late_joiner_day": self.late_joiner_day,
            "archiver": self.archiver,
            "archiver_app_id": self.archiver_app_id,
        }


def _relative(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@dataclass(frozen=True)
class SimulatedTenant:
    """A generated tenant: the files written and the ground truth of what is in them."""

    tenant_id: str
    domain: str
    ual_files: tuple[Path, ...]
    signin_files: tuple[Path, ...]
    intrusions: tuple[Intrusion, ...]
    ual_record_count: int
    signin_count: int
    personas: Personas
    noise: tuple[str, ...] = ()  # extra false-positive sources planted (simulate/noise/)

    def to_json(self) -> str:
        """Ground truth as JSON; file paths are relative to the output directory."""
        document = {
            "tenant_id": self.tenant_id,
            "domain": self.domain,
            "ual_files": [_relative(path) for path in self.ual_files],
            "signin_files": [_relative(path) for path in self.signin_files],
            "ual_record_count": self.ual_record_count,
            "signin_count": self.signin_count,
            "intrusions": [intrusion.to_dict() for intrusion in self.intrusions],
            "personas": self.personas.to_dict(),
            "noise": list(self.noise),
        }
        return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"
