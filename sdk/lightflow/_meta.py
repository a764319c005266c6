"""The layout of a run's meta section moved to lightflow._wire.meta."""

# isort: split
# re-exported for services/scheduler and cli until they import lightflow._wire
from lightflow._wire.meta import WORKFLOW_QUEUE as WORKFLOW_QUEUE  # noqa: PLC0414
from lightflow._wire.meta import escape as escape  # noqa: PLC0414
from lightflow._wire.meta import span as span  # noqa: PLC0414
from lightflow._wire.meta import unescape as unescape  # noqa: PLC0414
