"""The public surface of the package, pinned."""

import lightflow


def test_top_level_exports() -> None:
    assert lightflow.__all__ == [
        "Client",
        "ClientError",
        "Run",
        "RunEvent",
        "RunInfo",
        "__version__",
    ]
