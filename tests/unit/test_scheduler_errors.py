"""The scheduler's one table from domain errors (and redis' own) to gRPC statuses
(lightflow_scheduler.servicer.STATUS_OF_ERROR)."""

from __future__ import annotations

import inspect

import grpc
import pytest
import redis

from lightflow_scheduler import errors
from lightflow_scheduler.errors import (
    InternalError,
    InvalidArgumentError,
    LimitError,
    NotFoundError,
    SchedulerError,
    StaleDefinitionError,
    StoreUnavailableError,
    UnknownDagError,
    require_run_id,
)
from lightflow_scheduler.servicer import STATUS_OF_ERROR, status_of


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidArgumentError("bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (NotFoundError("run 'x' not found"), grpc.StatusCode.NOT_FOUND),
        (UnknownDagError("ghost"), grpc.StatusCode.NOT_FOUND),
        (LimitError("too many"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (StoreUnavailableError("store away"), grpc.StatusCode.UNAVAILABLE),
        (StaleDefinitionError("registered anew"), grpc.StatusCode.FAILED_PRECONDITION),
        (InternalError("the scheduler failed"), grpc.StatusCode.INTERNAL),
        (SchedulerError("any other"), grpc.StatusCode.FAILED_PRECONDITION),
    ],
)
def test_each_domain_error_has_its_status_and_keeps_its_message(
    error: SchedulerError, code: grpc.StatusCode
) -> None:
    assert status_of(error) == (code, str(error))


def test_redis_failures_say_what_they_mean_to_a_caller() -> None:
    assert status_of(redis.ConnectionError("refused")) == (
        grpc.StatusCode.UNAVAILABLE,
        "redis is unavailable: refused",
    )
    assert status_of(redis.TimeoutError("slow")) == (
        grpc.StatusCode.UNAVAILABLE,
        "redis is unavailable: slow",
    )
    # An error of redis that is no refusal of ours is not NOT_FOUND: it is ours to fix.
    assert status_of(redis.ResponseError("WRONGTYPE Operation against a key")) == (
        grpc.StatusCode.INTERNAL,
        "scheduler error: WRONGTYPE Operation against a key",
    )


def test_every_domain_error_class_is_in_the_table_before_its_bases() -> None:
    kinds = [kind for kind, _, _ in STATUS_OF_ERROR]
    domain = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, SchedulerError)
    ]
    for cls in domain:
        # The row that decides: the first whose kind the error is.
        first = next(i for i, kind in enumerate(kinds) if issubclass(cls, kind))
        assert kinds[first] in cls.__mro__
        # No row further down is more specific than the one that decides.
        assert not any(
            issubclass(kind, kinds[first]) and kind is not kinds[first]
            for kind in kinds[first + 1 :]
        )


def test_a_long_message_is_cut_to_fit_a_status() -> None:
    code, message = status_of(InvalidArgumentError("x" * 5000))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert message == "x" * 2000 + " [...]"


def test_an_error_outside_the_table_has_no_status() -> None:
    with pytest.raises(ValueError, match="no status for KeyError"):
        status_of(KeyError("k"))


def test_a_run_id_the_schedulers_never_made_is_not_found_before_it_reaches_a_key() -> None:
    require_run_id("0123456789abcdef0123456789abcdef")
    with pytest.raises(NotFoundError, match=r"run 'x:events' not found \(a run id is 32 hex"):
        require_run_id("x:events")
    with pytest.raises(NotFoundError, match=r"run '" + "y" * 64 + r"\.\.\.' not found"):
        require_run_id("y" * 100)
