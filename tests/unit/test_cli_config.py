"""The config file and LIGHTFLOW_* variables: lookup, precedence, conversion, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from lightflow._replicas import Replicas
from lightflow_cli.config import DEFAULT_CONFIG, SETTINGS, ConfigError, load_config, shown


def test_the_default_file_sets_every_setting_to_its_default(tmp_path: Path) -> None:
    path = tmp_path / "lightflow.cfg"
    path.write_text(DEFAULT_CONFIG)
    from_file = load_config(path, environ={})
    from_nothing = load_config(None, environ={}) if False else None
    assert from_nothing is None
    for setting in SETTINGS:
        value = from_file.get(setting.key)
        if setting.kind == "paths":
            assert value == [tmp_path / "examples"]
        else:
            assert str(value) == str(setting.default if setting.kind != "list" else value)
    assert from_file.stack.schedulers == 2


def test_environment_wins_over_the_file_and_paths_are_relative_to_it(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "lightflow.cfg"
    path.parent.mkdir()
    path.write_text('workflows = ["flows"]\n[store]\ndata_dir = "data"\n[stack]\nworkers = 3\n')
    config = load_config(
        path, environ={"LIGHTFLOW_STACK_WORKERS": "5", "LIGHTFLOW_WORKER_QUEUES": "a, b"}
    )
    assert config.workflow_folders == (path.parent / "flows",)
    assert config.get("store.data_dir") == str(path.parent / "data")
    assert config.stack.workers == 5
    assert config.source("stack.workers") == "env LIGHTFLOW_STACK_WORKERS"
    assert config.get("worker.queues") == ["a", "b"]
    assert config.source("store.data_dir") == f"file {path}"
    assert config.source("scheduler.listen") == "default"


def test_secrets_and_credentials_are_masked(tmp_path: Path) -> None:
    path = tmp_path / "lightflow.cfg"
    path.write_text('token = "t0ken"\n[store]\nmongodb_uri = "mongodb://me:pw@db:27017"\n')
    rows = {key: value for key, value, _source in shown(load_config(path, environ={}))}
    assert rows["token"] == "****"
    assert rows["store.mongodb_uri"] == "mongodb://****@db:27017"


@pytest.mark.parametrize(
    ("text", "environ", "message"),
    [
        ("[stack]\nconcurrency = 'x'\n", {}, "invalid 'stack.concurrency'"),
        ("", {"LIGHTFLOW_STACK_SCHEDULERS": "two"}, "invalid LIGHTFLOW_STACK_SCHEDULERS"),
        ("[worker]\nqueues = 3\n", {}, "expected a list of strings"),
        ("[scheduler]\nport = 1\n", {}, "unknown setting 'scheduler.port'"),
        ("[stack]\nworkers = -1\n", {}, "stack.workers"),
    ],
)
def test_bad_values_name_their_origin(
    tmp_path: Path, text: str, environ: dict[str, str], message: str
) -> None:
    path = tmp_path / "lightflow.cfg"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ=environ)


def test_balanced_replicas_take_turns_and_pass_over_a_failed_one() -> None:
    replicas = Replicas(["a:1", "b:2", "c:3"], balance=True)
    assert [replicas.pick().address for _ in range(4)] == ["b:2", "c:3", "a:1", "b:2"]
    replicas.mark_down("c:3")
    assert [replicas.pick().address for _ in range(3)] == ["a:1", "b:2", "a:1"]
    replicas.close()


def test_sticky_replicas_stay_until_one_fails() -> None:
    replicas = Replicas("a:1,b:2")
    assert [replicas.pick().address for _ in range(3)] == ["a:1"] * 3
    replicas.mark_down("a:1")
    assert replicas.current_address == "b:2"
    assert replicas.pick().address == "b:2"
    replicas.close()
