"""A task's Failure (common.proto): the type, message and traceback of the exception that
ended it, each bounded. A task process makes it for the task's result; the schedulers keep it
with the run and the client shows it."""

from __future__ import annotations

import traceback

from lightflow.v1 import common_pb2

# A failure's message and traceback are cut to this many characters each: they travel in
# the result (see pipe.MAX_CHILD_MESSAGE_BYTES) and are kept with the run. A traceback keeps
# its end (the frames nearest the error, and the error), a message its start.
MAX_FAILURE_CHARS = 64 * 1024


def _cut(text: str, limit: int = MAX_FAILURE_CHARS) -> str:
    """`text`, or its start when longer than `limit`, saying how much is cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]} [...{len(text) - limit:,} more characters]"


def _cut_trace(chunks: list[str], limit: int = MAX_FAILURE_CHARS) -> str:
    """A formatted traceback (the chunks TracebackException.format() yields: a frame, an
    error line, ...) in at most about `limit` characters, keeping its end: the frames nearest
    the error and the error itself are what a person acts on."""
    # no chunk takes more than a quarter of the room: a huge message or source line keeps
    # its start, and frames above it still fit
    longest = limit // 4
    chunks = [
        chunk if len(chunk) <= longest else _cut(chunk, longest).rstrip("\n") + "\n"
        for chunk in chunks
    ]
    total = sum(len(chunk) for chunk in chunks)
    if total <= limit:
        return "".join(chunks)
    kept: list[str] = []
    size = 0
    for chunk in reversed(chunks):
        if size + len(chunk) > limit:
            break
        kept.append(chunk)
        size += len(chunk)
    kept.reverse()
    return f"[lightflow: the first {total - size:,} characters of the traceback cut]\n" + "".join(
        kept
    )


def user_traceback(err: BaseException, engine_dirs: tuple[str, ...]) -> str:
    """The traceback of a task's error as a local `python` run shows it: the frames in
    `engine_dirs` (our runner, and the SDK calling the task's callbacks) above the task's own
    code are left out, in each exception of a chain; frames below it, even in the SDK (a store
    call that failed), stay. An error of ours with no frame of the task's code keeps only its
    type and message: its frames are in the worker's log."""
    formatted = traceback.TracebackException.from_exception(err)
    pending = [formatted]
    seen: set[int] = set()
    while pending:
        exc = pending.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        first = next(
            (i for i, frame in enumerate(exc.stack) if not frame.filename.startswith(engine_dirs)),
            len(exc.stack),
        )
        del exc.stack[:first]
        pending.extend(e for e in (exc.__cause__, exc.__context__) if e is not None)
        pending.extend(exc.exceptions or ())
    return _cut_trace(list(formatted.format()))


def _safe_str(err: BaseException) -> str:
    try:
        return str(err)
    except Exception:  # the user's __str__ failed; traceback says the same
        return "<exception str() failed>"


def from_exception(
    err: BaseException, engine_dirs: tuple[str, ...]
) -> tuple[common_pb2.Failure, str]:
    """The failure of a task that raised `err`, for its result, and the full traceback (our
    frames included) for the worker's log. `engine_dirs`: see `user_traceback`."""
    failure = common_pb2.Failure(
        type=type(err).__name__,
        message=_cut(_safe_str(err)),
        stack_trace=user_traceback(err, engine_dirs),
    )
    return failure, _cut_trace(list(traceback.TracebackException.from_exception(err).format()))
