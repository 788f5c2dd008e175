"""The query string of an API request: only the parameters its operation documents, each once.

FastAPI ignores a parameter it does not know and keeps the last of a repeated one. A filter with a
typo (``?siteid=``, ``?status=``) then answered with every event, and ``?site_id=a&site_id=b`` with
site b's alone, each as a 200 that looked right. Like an unknown field of an event, both are 422.
"""

from __future__ import annotations

import re
from collections import Counter

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

# (method, path as a regular expression, {parameter: may repeat}), paths with fewer parameters first: as the
# routes match, ``/events/counts`` before ``/events/{event_id}``.
Operations = list[tuple[str, re.Pattern[str], dict[str, bool]]]


async def documented_query(request: Request) -> None:
    """Refuse, with one problem per parameter, what the operation's query string may not hold."""
    if not request.scope.get("query_string"):
        return
    method, path = request.method.lower(), request.scope["path"]
    taken = next(
        (names for m, pattern, names in _operations(request.app) if m == method and pattern.fullmatch(path)), {}
    )
    counts = Counter(name for name, _value in request.query_params.multi_items())
    listed = ", ".join(sorted(taken)) or "none"
    problems = [
        {"type": "extra_forbidden", "loc": ("query", name), "msg": f"unknown query parameter; this takes {listed}"}
        for name in counts
        if name not in taken
    ] + [
        {"type": "repeated", "loc": ("query", name), "msg": f"given {count} times; it takes one value"}
        for name, count in counts.items()
        if count > 1 and taken.get(name) is False
    ]
    if problems:
        raise RequestValidationError(problems)


def _operations(app: FastAPI) -> Operations:
    """The query parameters of each operation of the OpenAPI document, read once per app."""
    known: Operations | None = getattr(app.state, "query_parameters", None)
    if known is None:
        known = [
            (
                method,
                re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))),
                {
                    p["name"]: p.get("schema", {}).get("type") == "array"
                    for p in operation.get("parameters", [])
                    if p["in"] == "query"
                },
            )
            for path, item in sorted(app.openapi()["paths"].items(), key=lambda pair: pair[0].count("{"))
            for method, operation in item.items()
        ]
        app.state.query_parameters = known
    return known
