"""The manager's errors as 4xx answers, in FastAPI's own error shapes: a plain ``detail`` message,
or for a bad field a 422 whose ``loc`` names it, as FastAPI's validation errors do."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

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
    app.add_exception_handler(SimulationNotFound, _message(status.HTTP_404_NOT_FOUND))
    app.add_exception_handler(RunFinished, _message(status.HTTP_409_CONFLICT))
    app.add_exception_handler(MemoryBudgetExceeded, _message(status.HTTP_409_CONFLICT))
    # Nobody reads this answer: the client has gone. 499 is nginx's "client closed request".
    app.add_exception_handler(StepCancelled, _message(499))
    app.add_exception_handler(SimulationLimitReached, _message(status.HTTP_429_TOO_MANY_REQUESTS))
    app.add_exception_handler(InvalidPayment, _invalid_payment)
    app.add_exception_handler(RequestTooLarge, _request_too_large)
    app.add_exception_handler(InvalidScenario, _invalid_scenario)


def _message(code: int) -> Callable[[Request, Exception], JSONResponse]:
    def handler(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(status_code=code, content={"detail": str(exc)})

    return handler


def _field_error(loc: list[str | int], msg: str) -> JSONResponse:
    body = {"detail": [{"loc": loc, "msg": msg, "type": "value_error"}]}
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content=body)


async def _unreadable_body(request: Request, exc: Exception) -> Response:
    """FastAPI answers a body it cannot decode (not UTF-8, say) with 400; every invalid body is a 422 here."""
    assert isinstance(exc, StarletteHTTPException)  # registered for it alone
    if exc.status_code == status.HTTP_400_BAD_REQUEST:
        return _field_error(["body"], f"cannot decode the request body: {exc.detail}")
    return await http_exception_handler(request, exc)


def _invalid_payment(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidPayment)  # registered for it alone
    return _field_error(["body", exc.field], exc.reason)


def _request_too_large(_: Request, exc: Exception) -> JSONResponse:
    return _field_error(["query", "n"], str(exc).removeprefix("n: "))


def _invalid_scenario(_: Request, exc: Exception) -> JSONResponse:
    return _field_error(["body"], f"engine rejected the scenario: {exc}")
