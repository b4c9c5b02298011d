"""Response helpers reproducing Go's encoding (compact JSON + newline, http.Error)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

JSON_CT = "application/json; charset=UTF-8"


def dumps(obj: Any, indent: int | None = None) -> str:
    if indent:
        return json.dumps(obj, indent=indent, ensure_ascii=False) + "\n"
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"


def json_response(obj: Any, status: int = 200, indent: int | None = None) -> web.Response:
    return web.Response(status=status, body=dumps(obj, indent).encode(),
                        headers={"Content-Type": JSON_CT})


class ChunksPayload(Payload):
    """A body made of byte chunks (a large reply built in a worker thread), sent one
    after the other, each freed once written; its ``Content-Length`` is known."""

    _autoclose = True

    def __init__(self, chunks: list[bytes], content_type: str) -> None:
        super().__init__(chunks, content_type=content_type)
        self._size = sum(len(c) for c in chunks)

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return b"".join(self._value).decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        chunks: list[bytes] = self._value
        while chunks:
            await writer.write(chunks.pop(0))

    async def write_with_length(self, writer: AbstractStreamWriter,
                                content_length: int | None) -> None:
        await self.write(writer)


def chunked_json(chunks: list[bytes]) -> web.Response:
    """200 with JSON already encoded in chunks (``/db/dump``)."""
    return web.Response(body=ChunksPayload(chunks, JSON_CT), headers={"Content-Type": JSON_CT})


def empty_json(status: int = 200) -> web.Response:
    """200 with heketi's JSON content type and an empty body (cluster setflags)."""
    return web.Response(status=status, body=b"", headers={"Content-Type": JSON_CT})


def text_error(status: int, message: str) -> web.Response:
    """Go ``http.Error``: text/plain, nosniff, message + newline (a message that already
    ends with one, like heketi's duplicate-hostname error, gets two)."""
    body = message + "\n"  # never fails to encode (a lone surrogate becomes \udcff)
    return web.Response(status=status, body=body.encode("utf-8", "backslashreplace"), headers={
        "Content-Type": "text/plain; charset=utf-8",
        "X-Content-Type-Options": "nosniff"})


def accepted(job_id: str, html: bool = False) -> web.Response:
    """202 + relative ``Location: /queue/<id>`` (Go ``http.Redirect`` with 202)."""
    location = f"/queue/{job_id}"
    if html:
        return web.Response(status=202, body=f'<a href="{location}">Accepted</a>.\n\n'.encode(),
                            headers={"Location": location,
                                     "Content-Type": "text/html; charset=utf-8"})
    return web.Response(status=202, headers={"Location": location})
