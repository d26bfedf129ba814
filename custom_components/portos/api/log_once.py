"""Log each kind of problem once at warning, then at debug: bad input must not flood a log."""

from __future__ import annotations

import logging


class LogOnce:
    """A logger front that warns the first time a key is seen and logs at debug after that."""

    def __init__(self, logger: logging.Logger) -> None:
        """Log through `logger`."""
        self._logger = logger
        self._seen: set[str] = set()

    def __call__(self, key: str, message: str, *args: object) -> None:
        """Log `message` for the kind of problem `key`."""
        level = logging.DEBUG if key in self._seen else logging.WARNING
        self._seen.add(key)
        self._logger.log(level, message, *args)
