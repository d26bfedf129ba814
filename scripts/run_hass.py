"""Dev-only launcher: starts Home Assistant on this machine's Python 3.13.0.

HA 2026.2 declares Python >= 3.13.2 and its `hass` command refuses older patch releases; the 3.13.0
that these machines have runs it fine, so this launcher skips that one check and nothing else.
"""

from __future__ import annotations

import sys

from homeassistant import __main__ as ha_main


def _accept_any_python() -> None:
    """Skip HA's patch-level Python check (dev machines have 3.13.0)."""


def main() -> int:
    """Run `hass` with the given arguments."""
    ha_main.validate_python = _accept_any_python
    return ha_main.main()


if __name__ == "__main__":
    sys.exit(main())
