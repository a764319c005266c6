"""Seals and run credentials: what makes a write to redis alone, or another run's task,
unable to pass."""

from __future__ import annotations

import hmac

from lightflow_common.credentials import (
    RunCredentials,
    code_seal,
    derive_key,
    run_of,
    seal,
    seal_value,
    unseal_value,
)


def _incremental(key: bytes, *parts: bytes) -> bytes:
    mac = hmac.new(key, digestmod="sha256")
    for part in parts:
        mac.update(len(part).to_bytes(8, "big") + part)
    return mac.digest()


def test_small_and_large_parts_seal_alike() -> None:
    key = derive_key("token", "data")
    for parts in ((b"run", b"x"), (b"run", b"y" * 100_000)):
        assert seal(key, *parts) == _incremental(key, *parts)
    # Length prefixes: moving a byte between parts changes the seal.
    assert seal(key, b"ab", b"c") != seal(key, b"a", b"bc")


def test_a_sealed_value_unseals_for_its_run_only() -> None:
    key = derive_key("token", "data")
    sealed = seal_value(key, b"payload", b"run-a")
    assert unseal_value(key, sealed, b"run-a") == b"payload"
    assert unseal_value(key, sealed, b"run-b") is None
    assert unseal_value(derive_key("other", "data"), sealed, b"run-a") is None
    assert unseal_value(key, b"payload", b"run-a") is None  # written without a seal
    assert unseal_value(key, b"", b"run-a") is None


def test_a_run_credential_names_its_run_and_cannot_be_forged() -> None:
    credentials = RunCredentials("token")
    credential = credentials.mint("a" * 32)
    assert credentials.mint("a" * 32) == credential
    assert credentials.verify(credential) == "a" * 32
    assert run_of(credential) == "a" * 32
    assert RunCredentials("another token").verify(credential) is None
    forged = credential.replace("a" * 32, "b" * 32)
    assert credentials.verify(forged) is None
    assert credentials.verify("Bearer nonsense") is None


def test_a_code_seal_covers_the_workflow_files_path_and_text() -> None:
    key = derive_key("token", "code")
    plain = code_seal(key, "h", "main_dag", "t", b"code")
    # a definition without a file text seals as before the text travelled with the code
    assert plain == seal(key, b"code", b"h", b"main_dag", b"t", b"code")
    shipped = code_seal(key, "h", "main_dag", "t", b"code", "/w/flow.py", "x = 1\n")
    assert shipped != plain
    assert code_seal(key, "h", "main_dag", "t", b"code", "/w/flow.py", "x = 2\n") != shipped
    assert code_seal(key, "h", "main_dag", "t", b"code", "/w/other.py", "x = 1\n") != shipped
