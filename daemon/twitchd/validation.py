"""What every API route shares about refusing input: one error shape, documented.

A request the API cannot act on gets a 4xx with a ``detail`` that says why,
never a 500. Checks FastAPI cannot express as a constraint (a source spec the
catalog refuses, detector settings that contradict each other) raise
:func:`invalid`, so their 422 has the same shape as every other validation
error and matches the OpenAPI schema.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

#: The largest id the session store (SQLite INTEGER) can hold; ids above it are refused, not looked up.
MAX_ID = 2**63 - 1


class Problem(BaseModel):
    """Why a request was refused, in words."""

    detail: str


REASONS = {
    400: "the body is not JSON text: not UTF-8, or a string with half a surrogate pair (\\ud800)",
    401: "a valid token is required (the daemon listens beyond loopback, or was given --token)",
    403: "the request comes from another web page (its Origin is not the dashboard's)",
    404: "no such item",
    409: "the request conflicts with what the daemon is doing",
    421: "the Host header is not a loopback name (DNS rebinding guard; see --allow-host)",
    503: "the store, the Bluetooth radio or a library this needs is not available; the detail says which",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for these refusals, each a :class:`Problem`."""
    return {code: {"model": Problem, "description": REASONS[code]} for code in codes}


def lone_surrogates(body: bytes) -> bool:
    """Whether a JSON body holds a string that is not Unicode text: ``"\\ud800"`` with no partner.

    JSON's escapes can spell half of a surrogate pair, and Python's parser lets it
    through; such a string cannot be stored, written to a file or even sent back
    in an error (none of UTF-8 can encode it). A body that is not JSON at all is
    left to FastAPI to refuse.
    """
    try:
        value = json.loads(body)
    except ValueError:
        return False
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            # (the parser joins a proper pair into one code point, so any surrogate left is alone)
            if any("\ud800" <= ch <= "\udfff" for ch in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def invalid(loc: tuple[str | int, ...], msg: str, value: Any = None) -> RequestValidationError:
    """A 422 for a check made in a handler, shaped like FastAPI's own."""
    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": msg, "input": value}])


def _plain(value: Any) -> Any:
    """``value`` as strict JSON can carry it."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or Infinity; the error still shows what was sent
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, BaseException):
        return str(value)
    try:
        return _plain(jsonable_encoder(value))
    except Exception:
        return repr(value)


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422, safe for any input: Python's JSON parser accepts ``NaN`` and
    ``Infinity`` (and a body need not be UTF-8), which the error then quotes and
    strict JSON cannot render."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": _plain(list(exc.errors()))}, status_code=422)
