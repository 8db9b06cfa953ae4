"""The manager's errors as 4xx answers, in FastAPI's own error shapes: a plain ``detail`` message,
or for a bad field a 422 whose ``loc`` names it, as FastAPI's validation errors do.

No error echoes a large input: FastAPI's own 422 repeats each bad value (``input``), which turned a
50 MB body into a 50 MB answer, and failed with a 500 on NaN, which JSON cannot carry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from paysim_runner.api.limits import ScenarioTooLarge
from paysim_runner.budget import MemoryBudgetExceeded, StepCancelled
from paysim_runner.errors import RunFinished
from paysim_runner.manager import (
    InvalidPayment,
    InvalidScenario,
    RequestTooLarge,
    SimulationLimitReached,
    SimulationNotFound,
)


def add_error_handlers(app: FastAPI) -> None:
    """Map the manager's errors to 4xx answers on ``app``."""
    app.add_exception_handler(StarletteHTTPException, _unreadable_body)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(ScenarioTooLarge, _scenario_too_large)
    app.add_exception_handler(SimulationNotFound, _message(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(RunFinished, _message(status.HTTP_409_CONFLICT))
    app.add_exception_handler(MemoryBudgetExceeded, _message(status.HTTP_409_CONFLICT))
    # Nobody reads this answer: the client has gone. 499 is nginx's "client closed request".
    app.add_exception_handler(StepCancelled, _message(499))
    app.add_exception_handler(SimulationLimitReached, _message(status.HTTP_429_TOO_MANY_REQUESTS))
    app.add_exception_handler(InvalidPayment, _invalid_payment)
    app.add_exception_handler(RequestTooLarge, _request_too_large)
    app.add_exception_handler(InvalidScenario, _invalid_scenario)


#: Longest ``msg`` and ``input`` (as JSON) an error repeats; a longer input is left out.
MAX_ECHO = 200


def _message(code: int) -> Callable[[Request, Exception], JSONResponse]:
    def handler(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=code, content={"detail": _clip(str(exc))})  # an id may be long

    return handler


def _field_error(loc: list[str | int], msg: str) -> JSONResponse:
    body = {"detail": [{"loc": loc, "msg": _clip(msg), "type": "value_error"}]}
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content=body)


def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 for a request that fails validation, each error's ``msg`` clipped and its
    ``input`` kept only when short and finite (NaN and infinity are not JSON)."""
    assert isinstance(exc, RequestValidationError)  # registered for it alone
    detail = [_bounded(error) for error in exc.errors()]
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": detail})


def _bounded(error: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "loc": [part if isinstance(part, int) else str(part) for part in error["loc"]],
        "msg": _clip(str(error["msg"])),
        "type": str(error["type"]),
    }
    try:
        text = json.dumps(error.get("input"), allow_nan=False)
    except (TypeError, ValueError):  # not JSON: bytes, NaN, infinity
        return shown
    if len(text) <= MAX_ECHO:
        shown["input"] = json.loads(text)
    return shown


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ECHO else f"{text[:MAX_ECHO]}… ({len(text)} characters)"


async def _unreadable_body(request: Request, exc: Exception) -> Response:
    """FastAPI answers a body it cannot decode (not UTF-8, say) with 400; every invalid body is a 422 here.
    A 405's ``Allow`` lists every method the schema gives the path, not only those of the first route
    that matched it (Starlette's answer: ``Allow: POST`` for ``/simulations``, which also has GET)."""
    assert isinstance(exc, StarletteHTTPException)  # registered for it alone
    if exc.status_code == status.HTTP_400_BAD_REQUEST:
        return _field_error(["body"], f"cannot decode the request body: {exc.detail}")
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        methods = _documented_methods(request)
        if methods:
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
    return await http_exception_handler(request, exc)


def _documented_methods(request: Request) -> list[str]:
    """The methods OpenAPI documents for the request's path (HEAD with GET, as Starlette serves it)."""
    path = request.scope["path"]
    for template, operations in request.app.openapi()["paths"].items():
        if compile_path(template)[0].fullmatch(path):
            methods = {method.upper() for method in operations}
            return sorted(methods | {"HEAD"} if "GET" in methods else methods)
    return []


def _invalid_payment(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidPayment)  # registered for it alone
    return _field_error(["body", exc.field], exc.reason)


def _request_too_large(_: Request, exc: Exception) -> JSONResponse:
    return _field_error(["query", "n"], str(exc).removeprefix("n: "))


def _invalid_scenario(_: Request, exc: Exception) -> JSONResponse:
    return _field_error(["body"], f"engine rejected the scenario: {exc}")


def _scenario_too_large(_: Request, exc: Exception) -> JSONResponse:
    return _field_error(["body"], str(exc))
