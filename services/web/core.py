"""What the pages and the API ask, answered with calls of the schedulers' protocol through
the SDK's Client (as any client's: nothing here reads redis), and shaped as JSON (views.py).
Blocking; the HTTP layer calls it from its thread pool."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import bson
import grpc

from lightflow import Client, ClientError, RunEvent, RunInfo
from lightflow._store import StoreClient, StoreError
from lightflow._wire.headers import FAIL_IF_MISSING
from lightflow_web import views
from lightflow_web.layout import MAX_DRAWN_TASKS, Drawings

# A page of runs unless asked, and at most.
DEFAULT_PAGE = 50
MAX_PAGE = 200
# Lines one output request gives at most.
MAX_OUTPUT_LINES = 5000


class AnswerAtOnce:
    """The store's answer for a run without a document, at once: the pages read the
    documents of ended runs that kept their data, never one on its way."""

    def metadata(self, run_id: str) -> tuple[tuple[str, str], ...]:
        return (FAIL_IF_MISSING,)


class WebCore:
    def __init__(self, client: Client, store: StoreClient | None = None) -> None:
        self._client = client
        self._store = store
        self._drawings = Drawings()

    # -- runs --------------------------------------------------------------------------

    def runs(self, status: str, workflow: str, limit: int, page_token: str) -> dict[str, Any]:
        page = self._client.runs_page(
            status or None,
            workflow=workflow or None,
            limit=max(1, min(limit or DEFAULT_PAGE, MAX_PAGE)),
            page_token=page_token,
        )
        return {
            "runs": [views.run_summary(r) for r in page.runs],
            "next_page_token": page.next_page_token,
        }

    def run(self, run_id: str) -> dict[str, Any]:
        info = self._client.get_run(run_id)
        shown = views.run_detail(info)
        provenance = self._provenance_or_none(run_id)
        arguments = (provenance or {}).get("arguments")
        shown["arguments"] = (
            {str(k): views.plain(v) for k, v in arguments.items()}
            if isinstance(arguments, dict)
            else {}
        )
        return shown

    def run_exists(self, run_id: str) -> dict[str, Any]:
        """The run's summary; ClientError (NOT_FOUND) for an unknown one."""
        return views.run_summary(self._client.get_run(run_id))

    def graph(self, run_id: str) -> dict[str, Any]:
        info = self._client.get_run(run_id)
        definition = self._client.get_workflow(info.workflow_name).definition
        dags = {d.name: d for d in definition.dags}
        instances = []
        for dag in info.dag_instances:
            tasks = [t for t in info.tasks if t.dag_instance == dag.instance]
            statuses = {t.name: t.status for t in tasks}
            shown: dict[str, Any] = {
                "instance": dag.instance,
                "dag": dag.dag_name,
                "status": dag.status,
                "started_by": views.started_by(dag.started_by),
                "counts": dict(Counter(statuses.values())),
                "collapsed": len(tasks) > MAX_DRAWN_TASKS,
                "width": 0,
                "height": 0,
                "nodes": [],
                "edges": [],
            }
            definition_dag = dags.get(dag.dag_name)
            if definition_dag is not None and not shown["collapsed"]:
                # A registration under the same name may have changed the DAG: the run's
                # own tasks are what is drawn.
                drawing = self._drawings.get(
                    info.definition_hash,
                    dag.dag_name,
                    [t.name for t in tasks],
                    [
                        (e.parent, e.child, e.alias)
                        for e in definition_dag.edges
                        if e.parent in statuses and e.child in statuses
                    ],
                )
                shown.update(views.drawing(drawing, statuses))
            instances.append(shown)
        return {"instances": instances}

    def output(
        self, run_id: str, instance: str, task: str, after: str, limit: int
    ) -> dict[str, Any]:
        """Lines the run's tasks printed (of one task when named), after the event `after`.
        Read from the run's event history up to now: the run may go on."""
        limit = max(1, min(limit or MAX_OUTPUT_LINES, MAX_OUTPUT_LINES))
        lines: list[dict[str, Any]] = []
        cursor = after
        for event in self.history(run_id, after):
            cursor = event.id
            if event.type != "task_output":
                continue
            if (instance and event.dag_instance != instance) or (task and event.task_name != task):
                continue
            lines.append(views.output_line(event))
            if len(lines) >= limit:
                break
        return {"lines": lines, "next": cursor}

    def history(self, run_id: str, after: str = "") -> Iterator[RunEvent]:
        """The run's events so far (after `after`), without waiting for more."""
        run = self._client.run(run_id)
        try:
            # A live run's events go on: what came in a moment is what there is.
            yield from run.events(after, timeout=1.0)
        except TimeoutError:
            return

    def provenance(self, run_id: str) -> dict[str, Any]:
        section = self._provenance_or_none(run_id)
        if section is None:
            raise ClientError(
                f"run '{run_id}' has no provenance left: it ended and kept no data",
                "NOT_FOUND",
            )
        shown: dict[str, Any] = views.plain(section)
        return shown

    def _provenance_or_none(self, run_id: str) -> dict[str, Any] | None:
        try:
            answer = self._client.replicas.read_meta(run_id, "")
        except grpc.RpcError as err:
            if err.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise ClientError(err.details() or err.code().name, err.code().name) from err
        if not answer.in_store:
            if not answer.found:
                return None
            section: dict[str, Any] = bson.decode(answer.value.data).get("v") or {}
            return section
        if self._store is None:
            return None
        try:
            return self._store.get_document(run_id, section="meta")
        except StoreError:
            return None

    def start(self, workflow: str, arguments: dict[str, str], keep_data: bool) -> str:
        return self._client.start(workflow, arguments, keep_data=keep_data).id

    def stop(self, run_id: str) -> str:
        return self._client.run(run_id).stop()

    # -- workflows and workers ---------------------------------------------------------------

    def workflows(self) -> dict[str, Any]:
        shown = []
        for summary in self._client.list_workflows():
            try:
                details = self._client.get_workflow(summary.name)
            except ClientError as err:
                if err.code != "NOT_FOUND":  # removed in between
                    raise
                continue
            shown.append(views.workflow(details))
        return {"workflows": shown}

    def workflow(self, name: str) -> dict[str, Any]:
        details = self._client.get_workflow(name)
        shown = views.workflow(details)
        graphs = []
        for dag in details.definition.dags:
            tasks = [t.name for t in dag.tasks]
            graph: dict[str, Any] = {
                "dag": dag.name,
                "autostart": dag.autostart,
                "collapsed": len(tasks) > MAX_DRAWN_TASKS,
                "tasks": len(tasks),
                "width": 0,
                "height": 0,
                "nodes": [],
                "edges": [],
            }
            if not graph["collapsed"]:
                drawing = self._drawings.get(
                    details.definition_hash,
                    dag.name,
                    tasks,
                    [(e.parent, e.child, e.alias) for e in dag.edges],
                )
                graph.update(views.drawing(drawing, {}))
            graphs.append(graph)
        shown["graphs"] = graphs
        return shown

    def schedules(self) -> dict[str, Any]:
        return {"schedules": [views.schedule(s) for s in self._client.list_schedules()]}

    def schedule_action(self, name: str, action: str) -> dict[str, Any]:
        """pause, resume or trigger (which answers with the run it started)."""
        if action == "trigger":
            return {"id": self._client.trigger_schedule(name).id}
        changed = (
            self._client.pause_schedule(name)
            if action == "pause"
            else self._client.resume_schedule(name)
        )
        return views.schedule(changed)

    def workers(self) -> dict[str, Any]:
        return {"workers": [views.worker(w) for w in self._client.list_workers()]}

    def recent_runs(self, limit: int) -> list[RunInfo]:
        """The newest runs, for the feed of run changes."""
        return self._client.runs_page(limit=limit).runs
