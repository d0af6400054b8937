"""What every importer shares: its error and the counts behind the progress bar."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

#: How much of a file is read to tell its encoding.
SNIFF_BYTES = 64 * 1024


class ImportFailed(ValueError):
    """An export that cannot be imported; the message names the file and the place."""


@dataclass(slots=True)
class ImportStats:
    """What has been read so far: bytes of the file, messages (rows), and those skipped."""

    bytes_read: int = 0
    messages: int = 0
    unsupported: int = 0


def detect_encoding(head: bytes) -> str:
    """How a Chinese export is encoded, from its first bytes.

    ``utf-8-sig`` when it starts with a UTF-8 BOM or decodes as UTF-8; otherwise
    ``gb18030`` (a superset of GBK, what Chinese Windows tools write).
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


@contextmanager
def open_text(
    path: Path, error: type[ImportFailed], *, newline: str | None = ""
) -> Iterator[tuple[io.TextIOWrapper, BinaryIO, str]]:
    """The file as text in its detected encoding, with the byte stream (for positions)
    and the encoding's name; a file that cannot be opened raises ``error``."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise error(f"{path}: {exc.strerror or exc}") from None
    with raw:
        encoding = detect_encoding(raw.read(SNIFF_BYTES))
        raw.seek(0)
        yield io.TextIOWrapper(raw, encoding=encoding, newline=newline), raw, encoding
