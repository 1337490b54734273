"""Logging to stderr: one line per event, with its level; secrets never appear."""

from __future__ import annotations

import logging
import os
import re
import sys

_SECRET_PATTERNS = (
    # Discord bot tokens: three base64url parts separated by dots
    re.compile(r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"),
    # webhook URLs carry their token in the path
    re.compile(r"(/api/(?:v\d+/)?webhooks/\d+/)[A-Za-z0-9_.-]+"),
    re.compile(r"(Authorization:?\s*(?:Bot|Bearer)\s+)\S+", re.IGNORECASE),
)


class RedactingFilter(logging.Filter):
    """Masks token-shaped strings and any configured secret values in every record."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 8)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, "****")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "****", text)
    return text


def setup_logging(level: str = "INFO", *, secret_env: tuple[str, ...] = ("DISCORD_TOKEN",)) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.addFilter(RedactingFilter(tuple(os.environ.get(n, "") for n in secret_env)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # discord.py and aiohttp are chatty at INFO; their warnings still show
    for name in ("discord", "aiohttp.access", "apscheduler", "trafilatura", "htmldate"):
        logging.getLogger(name).setLevel(max(logging.getLevelName(level), logging.WARNING))
