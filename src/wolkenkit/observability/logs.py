"""Log records as operators read them: JSON lines in production, readable lines under
``wk dev``.

Every record made while a command is handled (by its aggregate, or by a flow reacting to its
events) carries the command's id, and, when tracing is on, the trace and span ids of the span
it was made in: a log search finds the trace, and the trace the log lines. The runtime sets
the command id in :data:`COMMAND_ID` for the work it does for a command.
"""

from __future__ import annotations

import json
import logging
import time
from contextvars import ContextVar
from typing import Any, Literal

from opentelemetry import trace

#: The id of the command whose work is under way in this context, if any.
COMMAND_ID: ContextVar[str | None] = ContextVar("wolkenkit_command_id", default=None)

LogFormat = Literal["json", "readable"]

#: What every record gets, ``None`` where it does not apply.
CORRELATION_FIELDS = ("trace_id", "span_id", "command_id")


class CorrelationFilter(logging.Filter):
    """Adds ``trace_id``, ``span_id`` and ``command_id`` to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        span_context = trace.get_current_span().get_span_context()
        if span_context.is_valid:
            record.trace_id = format(span_context.trace_id, "032x")
            record.span_id = format(span_context.span_id, "016x")
        else:
            record.trace_id = record.span_id = None
        record.command_id = COMMAND_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, the
    correlation ids that apply, and the exception's traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": _iso_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in CORRELATION_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                document[field] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            document["exception"] = record.exc_text
        return json.dumps(document, ensure_ascii=False, default=str)


class ReadableFormatter(logging.Formatter):
    """``LEVEL logger: message`` and, for a command's work, its ids in brackets after."""

    def __init__(self) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        ids = [
            f"{field.removesuffix('_id')} {value}"
            for field in ("command_id", "trace_id")
            if (value := getattr(record, field, None)) is not None
        ]
        return f"{line} [{', '.join(ids)}]" if ids else line


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Send the process's log records to stderr in the given format, with their ids."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else ReadableFormatter())
    handler.addFilter(CorrelationFilter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def _iso_time(created: float) -> str:
    seconds = int(created)
    milliseconds = int((created - seconds) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{milliseconds:03d}Z"
