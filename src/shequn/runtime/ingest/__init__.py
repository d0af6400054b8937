"""The ingest pipeline: normalise → deduplicate → persist in batches → process → outbox."""

from shequn.runtime.ingest.normalise import normalise
from shequn.runtime.ingest.pipeline import Ingestor
from shequn.runtime.ingest.result import IngestResult

__all__ = ["IngestResult", "Ingestor", "normalise"]
