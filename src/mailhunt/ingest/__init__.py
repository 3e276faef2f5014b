"""Ingest: files -> sniffed layout and format -> framed spans -> staged rows -> the store.

See :mod:`mailhunt.ingest.run` for the run, :mod:`mailhunt.formats.sniffing` for sniffing,
:mod:`mailhunt.readers` for layouts and :mod:`mailhunt.store.staging` for staging.
"""

from __future__ import annotations

from mailhunt.ingest.results import FileResult, FileStatus, IngestSummary
from mailhunt.ingest.run import IngestRun, discover, ingest

__all__ = ["FileResult", "FileStatus", "IngestRun", "IngestSummary", "discover", "ingest"]
