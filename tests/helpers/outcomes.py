"""Property tests in which refusing an input and accepting it are both valid outcomes.

``pytest.raises`` demands the error, so it cannot express "either a clean error or a valid result";
``attempt`` returns whichever happened and the test asserts on it outside any ``except`` block, so a
failed check is reported as itself and not as a chained exception.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def attempt(call: Callable[[], T], errors: type[Exception] | tuple[type[Exception], ...]) -> T | Exception:
    """``call()``'s value, or the error among ``errors`` that it raised (any other error propagates)."""
    try:
        return call()
    except errors as exc:
        return exc
