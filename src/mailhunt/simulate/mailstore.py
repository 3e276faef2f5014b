"""The messages in each mailbox, generated per mailbox and day so any reader sees the same mail.

Each (mailbox, day) has its own ``Random`` derived from the seed, so which messages exist does not
depend on who reads them or in which order: adding or removing the intrusion leaves benign
reads byte-identical.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from mailhunt.simulate import catalog
from mailhunt.simulate.ids import exchange_id, message_id

INBOX = "\\Inbox"
SENT = "\\Sent Items"
DELETED = "\\Deleted Items"
_OTHER_FOLDERS = ("\\Inbox\\Projects", "\\Archive", "\\Inbox\\Newsletters")


@dataclass(frozen=True)
class Message:
    """One message in a mailbox folder."""

    internet_message_id: str
    size: int
    item_id: str
    folder: str
    subject: str


class MailStore:
    """Lazily generated, cached mail of every mailbox."""

    def __init__(self, seed: int, first_day: date) -> None:
        self._seed = seed
        self._first_day = first_day
        self._days: dict[tuple[str, int], tuple[Message, ...]] = {}
        self._folders: dict[tuple[str, str], str] = {}

    def folder_id(self, upn: str, path: str) -> str:
        """The stable Exchange folder id of ``path`` in ``upn``'s mailbox."""
        key = (upn, path)
        if key not in self._folders:
            rng = random.Random(f"{self._seed}/folder/{upn}/{path}")
            self._folders[key] = exchange_id(rng, "LgAAAAB")
        return self._folders[key]

    def messages(self, upn: str, day: int) -> tuple[Message, ...]:
        """Every message that arrived in (or was sent from) ``upn``'s mailbox on ``day``."""
        key = (upn, day)
        if key not in self._days:
            self._days[key] = self._generate(upn, day)
        return self._days[key]

    def recent(self, upn: str, day: int, span: int, *, first_day: int = 0) -> list[Message]:
        """Messages of the ``span`` days up to and including ``day`` (not before ``first_day``)."""
        found: list[Message] = []
        for past in range(max(first_day, day - span + 1), day + 1):
            found.extend(self.messages(upn, past))
        return found

    def _generate(self, upn: str, day: int) -> tuple[Message, ...]:
        rng = random.Random(f"{self._seed}/mail/{upn}/{day}")
        weekend = (self._first_day + timedelta(days=day)).weekday() >= 5
        received = rng.randint(2, 6) if weekend else rng.randint(12, 30)
        sent = rng.randint(0, 2) if weekend else rng.randint(2, 8)
        messages = [self._message(rng, self._received_folder(rng)) for _ in range(received)]
        messages += [self._message(rng, SENT, internal=True) for _ in range(sent)]
        return tuple(messages)

    @staticmethod
    def _received_folder(rng: random.Random) -> str:
        return INBOX if rng.random() < 0.8 else rng.choice(_OTHER_FOLDERS)

    @staticmethod
    def _message(rng: random.Random, folder: str, *, internal: bool = False) -> Message:
        external = None if internal or rng.random() < 0.6 else rng.choice(catalog.EXTERNAL_DOMAINS)
        return Message(
            internet_message_id=message_id(rng, external),
            size=int(rng.lognormvariate(10.0, 1.0)) + 2_000,
            item_id=exchange_id(rng, "RgAAAAB", 72),
            folder=folder,
            subject=rng.choice(catalog.SUBJECTS),
        )
