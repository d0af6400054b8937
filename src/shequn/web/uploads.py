"""Receiving an upload as a stream straight into the uploads folder: never whole in
memory, refused as soon as it passes the size limit, stored under a generated name
(the sent filename is data, never part of a path)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from shequn.web.context import web_of
from shequn.web.errors import Invalid, WebError

#: Bytes read from an upload at a time.
CHUNK = 1024 * 1024
#: The form fields besides the file: small, and few.
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 16
FILE_FIELD = "file"
#: Room for the multipart framing around the file when judging Content-Length.
FRAMING = 64 * 1024


class TooLarge(WebError):
    status, code = 413, "too_large"


@dataclass
class Upload:
    """A received multipart upload: its text fields and its one file, stored under a
    generated name (the sent filename is data, never part of a path)."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    path: Path | None = None
    size: int = 0

    def discard(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"the file is larger than the limit of {limit // (1024 * 1024):,} MB")


def _new_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder / f"{uuid.uuid4().hex}.upload"


class _Parts:
    """python-multipart callbacks that keep the fields and queue the file's bytes."""

    def __init__(self, upload: Upload, folder: Path, limit: int) -> None:
        self.upload, self.folder, self.limit = upload, folder, limit
        self.pending: list[bytes] = []
        self.file: Any = None
        self._header, self._value, self._disposition = b"", b"", b""
        self._name = ""
        self._data = bytearray()
        self._is_file = False

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_part_end": self.part_end,
        }

    def part_begin(self) -> None:
        self._disposition, self._data, self._is_file = b"", bytearray(), False

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        if self._header.strip().lower() == b"content-disposition":
            self._disposition = self._value
        self._header, self._value = b"", b""

    def headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise Invalid("a form part has no name")
        self._name = options[b"name"].decode("utf-8", "replace")
        if b"filename" in options:
            if self._name != FILE_FIELD or self.upload.path is not None:
                raise Invalid(f"send one file, in the field {FILE_FIELD!r}")
            self.upload.filename = options[b"filename"].decode("utf-8", "replace")
            self.upload.path = _new_file(self.folder)
            self.file = self.upload.path.open("xb")
            self._is_file = True
        elif len(self.upload.fields) >= MAX_FIELDS:
            raise Invalid("too many form fields")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._is_file:
            self.upload.size += len(chunk)
            if self.upload.size > self.limit:
                raise _too_large(self.limit)
            self.pending.append(bytes(chunk))
        else:
            if len(self._data) + len(chunk) > MAX_FIELD_BYTES:
                raise Invalid(f"the form field {self._name[:40]!r} is too long")
            self._data.extend(chunk)

    def part_end(self) -> None:
        if not self._is_file:
            self.upload.fields[self._name] = self._data.decode("utf-8", "replace")


async def _stream_into(request: Request, upload: Upload, folder: Path, limit: int) -> bool:
    """Parse the body as it arrives; False when it was read already (by the CSRF check
    of a plain HTML form), so the parsed form must be used instead."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise Invalid("the body must be multipart/form-data with a boundary")
    parts = _Parts(upload, folder, limit)
    parser = MultipartParser(boundary, parts.callbacks())
    stream = request.stream()
    try:
        first = await stream.__anext__()
    except RuntimeError:  # the stream was consumed: the form is parsed and cached
        return False
    except StopAsyncIteration:
        first = b""
    try:
        chunk: bytes | None = first
        while chunk is not None:
            if chunk:
                parser.write(chunk)
                if parts.pending:
                    data, parts.pending = b"".join(parts.pending), []
                    await run_in_threadpool(parts.file.write, data)
            chunk = await anext(stream, None)
        parser.finalize()
    except FormParserError as exc:
        raise Invalid("the multipart body is malformed") from exc
    finally:
        if parts.file is not None:
            parts.file.close()
    return True


async def _copy_parsed(request: Request, upload: Upload, folder: Path, limit: int) -> None:
    form = await request.form()
    for key, value in form.multi_items():
        if isinstance(value, str):
            upload.fields[key] = value
        elif key == FILE_FIELD and upload.path is None:
            await _copy_file(value, upload, folder, limit)
        else:
            raise Invalid(f"send one file, in the field {FILE_FIELD!r}")


async def _copy_file(source: UploadFile, upload: Upload, folder: Path, limit: int) -> None:
    upload.filename = source.filename
    upload.path = _new_file(folder)
    with upload.path.open("xb") as out:
        while chunk := await source.read(CHUNK):
            upload.size += len(chunk)
            if upload.size > limit:
                raise _too_large(limit)
            await run_in_threadpool(out.write, chunk)


async def receive_upload(request: Request) -> Upload:
    """The request's multipart body: fields in memory, the file streamed to disk."""
    web = web_of(request)
    limit = web.app.settings.max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FRAMING:
        raise _too_large(limit)
    content_type, _ = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise Invalid("upload the file as multipart/form-data")
    upload = Upload()
    try:
        if not await _stream_into(request, upload, web.uploads, limit):
            await _copy_parsed(request, upload, web.uploads, limit)
    except BaseException:
        upload.discard()
        raise
    if upload.path is None:
        raise Invalid(f"no file: send the export in the field {FILE_FIELD!r}")
    return upload
