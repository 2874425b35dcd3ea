"""File uploads (lead CSVs, DNC files): one multipart form with one file, read with a size
limit enforced while the body arrives.

A request whose ``Content-Length`` already says it is too big is refused (413) before
anything is read; otherwise the body is counted as it streams in and refused as soon as it
passes the limit. Files are spooled by Starlette (in memory up to 1 MB, then a temporary
file), so a slow or endless upload never grows this process.

Routes read an upload with :func:`dashboard_upload` (the per-IP upload rate and
``upload_max_bytes`` of the settings) and document its form with :func:`upload_form`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

if TYPE_CHECKING:
    from .web import DashboardState

#: Room for the form's other fields and the multipart boundaries and headers, in bytes.
FORM_OVERHEAD = 64 * 1024
#: Bytes read from the uploaded file at a time.
CHUNK = 64 * 1024


@dataclass(frozen=True)
class Upload:
    """An uploaded file: the ``filename`` the browser sent (untrusted), its ``data``,
    and the form's text ``fields``."""

    filename: str
    data: bytes
    fields: dict[str, str]


def upload_form(file_help: str = "", **fields: str) -> dict[str, Any]:
    """The ``openapi_extra`` of a route that reads an upload: a multipart form with a
    required ``file`` (described by ``file_help``) and optional text ``fields``, given as
    ``name="description"``."""
    file: dict[str, Any] = {"type": "string", "format": "binary"}
    if file_help:
        file["description"] = file_help
    properties = {
        "file": file,
        **{name: {"type": "string", "description": text} for name, text in fields.items()},
    }
    schema = {"type": "object", "required": ["file"], "properties": properties}
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    }


async def dashboard_upload(request: Request, dash: DashboardState) -> Upload:
    """The request's upload within the dashboard's limits: one hit on the per-IP
    ``upload`` rate (429 over it), then :func:`read_upload` up to ``upload_max_bytes``."""
    dash.limits.hit("upload", request)
    return await read_upload(request, max_bytes=dash.settings.upload_max_bytes)


def too_large(what: str, limit: int) -> HTTPException:
    return HTTPException(
        status_code=413, detail=f"{what} is larger than the upload limit of {limit:,} bytes"
    )


async def read_upload(request: Request, *, max_bytes: int, field: str = "file") -> Upload:
    """The form's file ``field`` (at most ``max_bytes`` bytes) and its text fields.

    Raises ``HTTPException`` 413 when the body or the file is too big, 400 when the
    request is not a multipart form, is malformed, or has no file in ``field``.
    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(400, detail=f"{field}: send the file as a multipart/form-data form")
    limit = max_bytes + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large("the upload", max_bytes)
    if request.headers.get("x-csrf-token") is None:
        # web.check_csrf has parsed the form already to find its csrf_token field: the
        # body is consumed, and the parsed form is cached on the request
        form = await request.form()
    else:
        parser = MultiPartParser(
            request.headers, _limited(request, limit, max_bytes), max_files=1, max_fields=20
        )
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise HTTPException(400, detail=f"malformed upload form: {exc.message}") from None
    try:
        upload = form.get(field)
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, detail=f"{field}: no file was uploaded")
        data = await _read(upload, max_bytes)
        fields = {key: value for key, value in form.items() if isinstance(value, str)}
        return Upload(upload.filename or "", data, fields)
    finally:
        await form.close()


async def _limited(request: Request, limit: int, max_bytes: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large("the upload", max_bytes)
        yield chunk


async def _read(upload: UploadFile, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await upload.read(CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise too_large(repr(upload.filename or "the file"), max_bytes)
        chunks.append(chunk)
