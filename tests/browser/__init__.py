"""Browser tests: Home Assistant's UI in Debian's Chromium."""
