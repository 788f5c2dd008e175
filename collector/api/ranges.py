"""Serving a blob with HTTP range requests, so a browser can seek in a clip and a device resume a download.

A blob that is a local file is served by Starlette's ``FileResponse``, which handles single and
multiple ranges, ``If-Range`` and 416. A blob with no local path (an object store) is read
through the store here, one range per request (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``); a
request for several ranges gets the whole file, which RFC 9110 allows.

A ``Range`` header in another unit, or with a range that ends before it starts, is ignored and the
whole file sent, as RFC 9110 requires of both (14.1.1, 14.2). Starlette answered them 400 in plain
text, so the same request got 400 from a local store and 200 or 416 from a bucket.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.responses import MalformedRangeHeader

from binwatch.collector.blobs import BlobStore
from binwatch.collector.errors import NotFound

_RANGE = re.compile(r"^bytes=(\d{0,18})-(\d{0,18})$")


class ByteRange(NamedTuple):
    """Bytes ``start`` to ``end`` of a blob, both included, as ``Content-Range`` counts them."""

    start: int
    end: int


class Unsatisfiable(Exception):
    """The range lies outside the blob (416)."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range the header asks for; None when there is none to honour, so the whole blob is sent.
    Raises ``Unsatisfiable`` when it lies outside the blob."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match:
        return None  # several ranges or another unit: ignore the header
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        length = int(last)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(size - length, 0), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None  # syntactically invalid: ignored
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, min(int(last), size - 1) if last else size - 1)


class LocalFile(FileResponse):
    """Starlette's ``FileResponse``, ignoring a ``Range`` header it cannot parse instead of answering 400."""

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader:
            return []  # no range: the whole file


def blob_response(
    request: Request,
    store: BlobStore,
    key: str,
    media_type: str,
    filename: str,
    etag: str,
    attachment: bool = False,
) -> Response:
    """The blob ``key`` shown inline as ``filename`` (or saved as it: ``attachment``); ``etag`` (its
    SHA-256) is what ``If-Range`` must name."""
    disposition = "attachment" if attachment else "inline"
    headers = {"ETag": f'"{etag}"', "Cache-Control": "private, max-age=3600"}
    path = store.local_path(key)
    if path is not None:
        try:
            stat_result = path.stat()
        except FileNotFoundError:
            raise NotFound("the file is missing from the store") from None
        return LocalFile(
            path,
            headers=headers,
            media_type=media_type,
            filename=filename,
            stat_result=stat_result,
            content_disposition_type=disposition,
        )
    size = store.size(key)
    if size is None:
        raise NotFound("the file is missing from the store")
    headers.update({"Accept-Ranges": "bytes", "Content-Disposition": f'{disposition}; filename="{filename}"'})
    try:
        wanted = parse_range(request.headers.get("range"), size)
    except Unsatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    if_range = request.headers.get("if-range")
    if if_range and if_range.strip() != headers["ETag"]:
        wanted = None  # the blob changed since the client's copy: send all of it
    if wanted is None:
        return StreamingResponse(
            store.read(key), media_type=media_type, headers={**headers, "Content-Length": str(size)}
        )
    start, end = wanted
    headers.update({"Content-Range": f"bytes {start}-{end}/{size}", "Content-Length": str(end - start + 1)})
    return StreamingResponse(store.read(key, start, end), status_code=206, media_type=media_type, headers=headers)
