"""One exception root; narrow subclasses that say where the problem is."""

from __future__ import annotations


class MailhuntError(Exception):
    """Root of every error mailhunt raises on purpose; its message is one clear line."""


class InputError(MailhuntError):
    """A path or option given by the user cannot be used (missing, unreadable, unrecognised)."""


class StoreError(MailhuntError):
    """The database cannot be opened or is not a mailhunt store."""


class RecordNotFoundError(MailhuntError):
    """No record with that id in the store."""
