"""JSON log lines, each carrying the id of the request it belongs to.

This module owns the log format (python-json-logger, shaped to the fields below), the request-id stamping,
and the one handler every logger writes through (`configure_logging`).
"""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

# The id of the request being served (the middleware sets it), stamped on every log record of that request.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


_configured = False
_base_factory = logging.getLogRecordFactory()


def _record_with_request_id(*args: object, **kwargs: object) -> logging.LogRecord:
    """Every record carries the id of the request it was logged in, taken when it is created."""
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    return record


logging.setLogRecordFactory(_record_with_request_id)


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object a line: time, level, logger, requestId, message, then the fields passed with `extra=`,
    then the formatted exception, if any."""

    # `time` is UTC with milliseconds and a Z, e.g. 2024-05-01T12:00:00.123Z (logging.Formatter.formatTime).
    converter = staticmethod(time.gmtime)  # staticmethod: a function stored on a class would bind as a method
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self) -> None:
        super().__init__(
            ["asctime", "levelname", "name", "request_id", "message"],
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "request_id": "requestId",
                           "exc_info": "exception"},
            json_ensure_ascii=False,  # messages in any language stay readable in the log
        )

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        if log_data.get("requestId") is None:  # a record made without our factory (LogRecord() called directly)
            log_data["requestId"] = "-"
        if "exception" in log_data:  # the library puts it before the extra fields; lines have always ended on it
            log_data["exception"] = log_data.pop("exception")
        return log_data


def configure_logging(level: str = "INFO") -> None:
    """Route every logger (ours, Chalice's, the web server's) through one JSON handler on stderr."""
    global _configured
    if _configured:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every initdb/pg_ctl line at INFO
    _configured = True
