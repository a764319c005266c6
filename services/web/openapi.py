"""The HTTP API described in OpenAPI 3.1, served at /api/v1/openapi.json (docs/http-api.md
says the same in prose)."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _stream(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }


_ERRORS = {
    "400": _json(_ref("Error"), "Bad input"),
    "401": _json(_ref("Error"), "Not signed in"),
    "404": _json(_ref("Error"), "Unknown run or workflow"),
    "503": _json(_ref("Error"), "No scheduler answers"),
}
_RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_STATUS_WORDS = ["scheduled", "running", "stopping", "succeeded", "failed", "aborted", "stopped"]


def _get(summary: str, response: dict[str, Any], *params: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": list(params),
            "responses": {"200": response, **_ERRORS},
        }
    }


def _query(name: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Lightflow HTTP API",
        "version": version("lightflow"),
        "description": "Runs, workflows and workers of a Lightflow stack. Send the stack's"
        " token as `Authorization: Bearer <token>` (or sign in on /login).",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}, {"session": []}],
    "paths": {
        "/login": {
            "post": {
                "summary": "Sign in: sets an HTTP-only session cookie",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["token"],
                                "properties": {"token": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": {
                    "204": {"description": "Signed in"},
                    "401": _json(_ref("Error"), "Wrong token"),
                },
            }
        },
        "/logout": {
            "post": {"summary": "Sign out", "responses": {"204": {"description": "Signed out"}}}
        },
        "/runs": {
            **_get(
                "Runs, newest first, a page at a time",
                _json(
                    {
                        "type": "object",
                        "properties": {
                            "runs": {"type": "array", "items": _ref("RunSummary")},
                            "next_page_token": {"type": "string"},
                        },
                    }
                ),
                {**_query("status"), "schema": {"type": "string", "enum": _STATUS_WORDS}},
                _query("workflow"),
                _query("limit", "integer"),
                _query("page_token"),
            ),
            "post": {
                "summary": "Start a run",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("StartRun")}},
                },
                "responses": {
                    "201": _json(
                        {"type": "object", "properties": {"id": {"type": "string"}}}, "Started"
                    ),
                    **_ERRORS,
                },
            },
        },
        "/runs/{run_id}": _get(
            "One run: its DAG instances, tasks and arguments", _json(_ref("Run")), _RUN_ID
        ),
        "/runs/{run_id}/graph": _get(
            "Each DAG instance's graph, laid out, with the tasks' statuses",
            _json({"type": "object"}),
            _RUN_ID,
        ),
        "/runs/{run_id}/output": _get(
            "Lines the run's tasks printed",
            _json(
                {
                    "type": "object",
                    "properties": {
                        "lines": {"type": "array", "items": {"type": "object"}},
                        "next": {"type": "string"},
                    },
                }
            ),
            _RUN_ID,
            _query("instance"),
            _query("task"),
            _query("after"),
            _query("limit", "integer"),
        ),
        "/runs/{run_id}/provenance": _get(
            "The run's provenance (its meta section)", _json({"type": "object"}), _RUN_ID
        ),
        "/runs/{run_id}/events": _get(
            "The run's events, replayed then live (server-sent events)",
            _stream("Events"),
            _RUN_ID,
            _query("after"),
        ),
        "/runs/{run_id}/stop": {
            "post": {
                "summary": "Stop a run",
                "parameters": [_RUN_ID],
                "responses": {
                    "200": _json({"type": "object", "properties": {"status": {"type": "string"}}}),
                    **_ERRORS,
                },
            }
        },
        "/workflows": _get(
            "Registered workflows",
            _json(
                {
                    "type": "object",
                    "properties": {"workflows": {"type": "array", "items": _ref("Workflow")}},
                }
            ),
        ),
        "/workflows/{name}": _get(
            "One workflow with its DAG graphs",
            _json(_ref("Workflow")),
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
        ),
        "/workers": _get(
            "Workers connected now",
            _json(
                {
                    "type": "object",
                    "properties": {"workers": {"type": "array", "items": _ref("Worker")}},
                }
            ),
        ),
        "/schedules": _get(
            "Schedules with their next and last ticks",
            _json(
                {
                    "type": "object",
                    "properties": {"schedules": {"type": "array", "items": {"type": "object"}}},
                }
            ),
        ),
        "/schedules/{name}/{action}": {
            "post": {
                "summary": "Pause, resume or trigger a schedule (a trigger gives its run id)",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "action",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": ["pause", "resume", "trigger"]},
                    },
                ],
                "responses": {"200": _json({"type": "object"}), **_ERRORS},
            }
        },
        "/events": _get(
            "Runs that start or change status (server-sent events)", _stream("Run changes")
        ),
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "lightflow_session"},
        },
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    }
                },
            },
            "Failure": {
                "type": ["object", "null"],
                "properties": {
                    "type": {"type": "string"},
                    "message": {"type": "string"},
                    "traceback": {"type": "string"},
                },
            },
            "RunSummary": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "workflow": {"type": "string"},
                    "status": {"type": "string", "enum": _STATUS_WORDS},
                    "started_at": _TIME,
                    "start_at": _TIME,
                    "ended_at": _TIME,
                    "duration_s": {"type": ["number", "null"]},
                    "failure": _ref("Failure"),
                    "keep_data": {"type": "boolean"},
                },
            },
            "Run": {
                "allOf": [
                    _ref("RunSummary"),
                    {
                        "type": "object",
                        "properties": {
                            "arguments": {"type": "object", "additionalProperties": True},
                            "dags": {"type": "array", "items": {"type": "object"}},
                            "tasks": {"type": "array", "items": {"type": "object"}},
                        },
                    },
                ]
            },
            "StartRun": {
                "type": "object",
                "required": ["workflow"],
                "properties": {
                    "workflow": {"type": "string"},
                    "arguments": {
                        "type": "object",
                        "additionalProperties": {"type": ["string", "number", "boolean"]},
                    },
                    "keep_data": {"type": "boolean"},
                },
            },
            "Workflow": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "definition_hash": {"type": "string"},
                    "registered_at": _TIME,
                    "dags": {"type": "array", "items": {"type": "string"}},
                    "parameters": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "type": {"type": "string"},
                                "default": {"type": ["string", "null"]},
                                "required": {"type": "boolean"},
                                "help": {"type": "string"},
                            },
                        },
                    },
                },
            },
            "Worker": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "host": {"type": "string"},
                    "pid": {"type": "integer"},
                    "queues": {"type": "array", "items": {"type": "string"}},
                    "slots": {"type": "integer"},
                    "running": {"type": "integer"},
                    "last_seen": _TIME,
                },
            },
        },
    },
}
