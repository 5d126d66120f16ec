"""The service's log: one JSON object per line on standard error."""

from __future__ import annotations

import json
import logging

log = logging.getLogger("vowelseg")


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, message and any ``extra`` fields."""

    FIELDS = ("request_id", "method", "path", "status", "ms", "audio_s", "error")

    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                 "logger": record.name, "msg": record.getMessage()}
        entry.update({k: getattr(record, k) for k in self.FIELDS if hasattr(record, k)})
        if record.exc_info:
            entry["trace"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: int = logging.INFO) -> None:
    """Send vowelseg's log as JSON lines to standard error (called by ``vowelseg serve``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
