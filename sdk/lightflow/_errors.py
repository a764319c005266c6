"""The one exception root of the SDK."""

from __future__ import annotations


class LightflowError(Exception):
    """Base of every error the lightflow package raises.

    `message` is the first argument, also accepted as a keyword like the original
    Lightflow's `LightflowException(message=...)` (which is this class)."""

    message: str

    def __init__(self, *args: object, message: str | None = None) -> None:
        if message is not None:
            args = (message, *args)
        super().__init__(*args)
        self.message = str(args[0]) if args else ""
