"""Tests of the integration's static assets: icons.json and the brand icons."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.util.yaml import load_yaml_dict
from PIL import Image
import pytest

INTEGRATION = Path(__file__).resolve().parents[1] / "custom_components" / "portos"


def _load(path: Path) -> dict[str, Any]:
    """Read a JSON object."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _icons_in(node: object) -> list[str]:
    """Return every icon string in an icons.json subtree."""
    if isinstance(node, dict):
        return [icon for value in node.values() for icon in _icons_in(value)]
    assert isinstance(node, str)
    return [node]


def test_icons_cover_every_entity_and_state() -> None:
    """Each translated entity has an icon, each enum/on-off state and event type its own."""
    icons = _load(INTEGRATION / "icons.json")["entity"]
    entities = _load(INTEGRATION / "translations" / "en.json")["entity"]
    assert set(icons) == set(entities)
    for platform, keys in entities.items():
        assert set(icons[platform]) == set(keys), platform
        for key, texts in keys.items():
            icon = icons[platform][key]
            assert icon["default"].startswith("mdi:")
            if "state" in texts:
                assert set(icon["state"]) == set(texts["state"]), key
            event_types = texts.get("state_attributes", {}).get("event_type", {}).get("state")
            if event_types:
                assert set(icon["state_attributes"]["event_type"]["state"]) == set(event_types)
    assert set(icons["binary_sensor"]["hub_connected"]["state"]) == {"on", "off"}
    assert set(icons["sensor"]["license_status"]["state"]) == {"valid", "expiring", "expired"}


def test_icons_exist_in_the_frontend() -> None:
    """Every icon is an `mdi:` name the HA frontend knows (a typo would show no icon)."""
    # A test requirement (pinned as HA pins it), so this check always runs.
    import hass_frontend as frontend  # noqa: PLC0415 - only this test needs it

    mdi_list = Path(frontend.__file__).parent / "static" / "mdi" / "iconList.json"
    known = {entry["name"] for entry in json.loads(mdi_list.read_text(encoding="utf-8"))}
    icons = _icons_in(_load(INTEGRATION / "icons.json"))
    assert icons
    unknown = [icon for icon in icons if icon.removeprefix("mdi:") not in known]
    assert not unknown
    assert all(icon.startswith("mdi:") for icon in icons)


@pytest.mark.parametrize(("name", "size"), [("icon.png", 256), ("icon@2x.png", 512)])
def test_brand_icon(name: str, size: int) -> None:
    """The brand icons are square PNGs of the sizes HA's brands use, on a transparent ground."""
    with Image.open(INTEGRATION / "brand" / name) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        alpha = image.getchannel("A")
        assert alpha.getpixel((0, 0)) == 0
        assert alpha.getpixel((size - 1, size - 1)) == 0
        # And it is not empty: a good part of it is drawn.
        histogram = alpha.histogram()
        opaque = sum(histogram[200:])
        assert opaque > size * size // 4


# hassfest's rule list by tier (script/hassfest/quality_scale.py, newest version seen).
QUALITY_RULES = {
    "bronze": [
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
        "config-flow-test-coverage", "dependency-transparency", "docs-actions",
        "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ],
    "gold": [
        "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
        "entity-category", "entity-device-class", "entity-disabled-by-default",
        "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}  # fmt: skip


def test_quality_scale_states_every_rule() -> None:
    """quality_scale.yaml states every rule once, and says why for each exempt or todo one."""
    stated = load_yaml_dict(INTEGRATION / "quality_scale.yaml")["rules"]
    assert sorted(stated) == sorted(rule for tier in QUALITY_RULES.values() for rule in tier)
    for name, rule in stated.items():
        assert rule["status"] in {"done", "todo", "exempt"}, name
        if rule["status"] != "done":
            assert rule["comment"].strip(), name
