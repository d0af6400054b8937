"""What an ingest run reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class IngestResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    actions: int = 0
    batches: int = 0

    def add(self, other: IngestResult) -> None:
        self.received += other.received
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.actions += other.actions
        self.batches += other.batches
