"""The integration's manifest and hacs.json: the keys HA and HACS read, and pins that agree."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).parent.parent
MANIFEST = ROOT / "custom_components" / "portos" / "manifest.json"


def _pins(path: Path) -> dict[str, str]:
    """Return name → version of the exact pins in a requirements file."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        requirement = line.split("#", 1)[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==", 1)
            pins[name.lower()] = version
    return pins


def test_manifest_keys_and_order() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == "portos"
    assert manifest["name"] == "PORTOS"
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "local_push"
    assert manifest["integration_type"] == "hub"
    for key in ("version", "codeowners", "documentation", "issue_tracker"):
        assert manifest[key]
    # signalrcore's own logger would put tokens in HA's log at debug level.
    assert "SignalRCoreClient" not in manifest.get("loggers", [])


def test_manifest_requirements_match_the_test_pins() -> None:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    pins = _pins(ROOT / "requirements_test.txt")
    for requirement in manifest["requirements"]:
        name, version = requirement.split("==", 1)
        assert pins[name.lower()] == version


def test_hacs_json() -> None:
    hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert hacs["name"] == "PORTOS"
    assert hacs["homeassistant"].startswith("2026.")
