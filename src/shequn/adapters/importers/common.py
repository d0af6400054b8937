"""What every importer shares: its error and the counts behind the progress bar."""

from __future__ import annotations

from dataclasses import dataclass


class ImportFailed(ValueError):
    """An export that cannot be imported; the message names the file and the place."""


@dataclass(slots=True)
class ImportStats:
    """What has been read so far: bytes of the file, messages (rows), and those skipped."""

    bytes_read: int = 0
    messages: int = 0
    unsupported: int = 0
