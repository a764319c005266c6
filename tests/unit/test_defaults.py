"""A default stated in more than one place is written once (lightflow_common.defaults): the
config file lfctl writes and reads says what the services do when given nothing."""

from __future__ import annotations

import re
from pathlib import Path

from lightflow_cli.config import load_config
from lightflow_cli.stack import StackOptions
from lightflow_scheduler.config import SchedulerConfig
from lightflow_store.config import StoreConfig
from lightflow_worker.config import WorkerConfig
from lightflow_worker.output import OutputLimits

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_config_file_defaults_are_the_services_defaults(tmp_path: Path) -> None:
    empty = tmp_path / "lightflow.cfg"
    empty.write_text("")
    config = load_config(empty, environ={})
    worker = WorkerConfig(scheduler_addresses=())
    services = {
        "scheduler.listen": SchedulerConfig.listen,
        "scheduler.redis_url": SchedulerConfig.redis_url,
        "scheduler.redis_sentinel_service": SchedulerConfig.redis_sentinel_service,
        "scheduler.redis_wait_replicas": SchedulerConfig.redis_wait_replicas,
        "scheduler.store_address": SchedulerConfig.store_address,
        "scheduler.namespace": SchedulerConfig.namespace,
        "scheduler.lease_timeout": SchedulerConfig.lease_timeout_s,
        "scheduler.retention": SchedulerConfig.retention_s,
        "scheduler.max_output_lines": SchedulerConfig.max_output_lines,
        "scheduler.max_dag_instances": SchedulerConfig.max_dag_instances,
        "store.listen": StoreConfig.listen,
        "store.database": StoreConfig.database,
        "worker.queues": list(worker.queues),
        "worker.concurrency": worker.concurrency,
        "worker.listen": worker.listen,
        "worker.max_line_length": OutputLimits.max_line_chars,
        "worker.output_rate": OutputLimits.lines_per_s,
        "worker.output_bytes_rate": OutputLimits.bytes_per_s,
        "log_level": SchedulerConfig.log_level,
    }
    assert {key: config.get(key) for key in services} == services
    # Where the schedulers look for the store by default is where it serves by default.
    assert SchedulerConfig.store_address == StoreConfig.listen
    options = StackOptions()
    assert (options.schedulers, options.workers, options.concurrency) == (
        config.stack.schedulers,
        config.stack.workers,
        config.stack.concurrency,
    )


def test_default_addresses_are_written_once() -> None:
    """The services' and lfctl's code names the default ports in lightflow_common.defaults
    only (the compose file, docs and tests say them as users do)."""
    folders = [ROOT / "cli", *(ROOT / "services").iterdir()]
    found = [
        str(path.relative_to(ROOT))
        for folder in folders
        for path in sorted(folder.glob("*.py"))
        if re.search(r":5007\d|:5005\d", path.read_text())
    ]
    assert found == ["services/common/defaults.py"]
