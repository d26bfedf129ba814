"""Tests of the static assets: icons.json, brand icons, blueprints and quality_scale.yaml."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.components.automation.config import (
    AUTOMATION_BLUEPRINT_SCHEMA,
    PLATFORM_SCHEMA,
)
from homeassistant.components.blueprint.models import Blueprint, BlueprintInputs
from homeassistant.util.yaml import load_yaml_dict
from PIL import Image
import pytest

from custom_components.portos.binary_sensor import BINARY_SENSORS
from custom_components.portos.device_trigger import TRIGGER_SCHEMA as DEVICE_TRIGGER_SCHEMA
from custom_components.portos.event import EVENT_DESCRIPTIONS
from custom_components.portos.sensor import SENSORS
from tests.common import load_script

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

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


BRAND = INTEGRATION / "brand"
BRAND_ICONS = [("icon.png", 256), ("icon@2x.png", 512)]


def _edges(alpha: Image.Image) -> dict[str, int]:
    """Return the highest alpha of each border row and column."""
    width, height = alpha.size
    boxes = {
        "top": (0, 0, width, 1),
        "bottom": (0, height - 1, width, height),
        "left": (0, 0, 1, height),
        "right": (width - 1, 0, width, height),
    }
    return {edge: max(alpha.crop(box).getdata()) for edge, box in boxes.items()}


@pytest.mark.parametrize(("name", "size"), BRAND_ICONS)
def test_brand_icon_follows_the_brands_rules(name: str, size: int) -> None:
    """Square PNG of the brands size, trimmed to the artwork, on a transparent background."""
    with Image.open(BRAND / name) as image:
        assert image.format == "PNG"
        assert image.size == (size, size)
        assert image.mode == "RGBA"
        alpha = image.getchannel("A")
    # Trimmed: the artwork reaches every edge, so no border row or column is fully transparent.
    assert alpha.getbbox() == (0, 0, size, size)
    assert min(_edges(alpha).values()) > 0, _edges(alpha)
    # Transparent where there is no artwork: the corners are empty (not a filled square) ...
    corners = [(0, 0), (size - 1, 0), (0, size - 1), (size - 1, size - 1)]
    assert [alpha.getpixel(corner) for corner in corners] == [0, 0, 0, 0]
    # ... and a good part of it is drawn.
    assert sum(alpha.histogram()[200:]) > size * size // 4


@pytest.mark.parametrize(("name", "size"), BRAND_ICONS)
def test_brand_icon_is_optimized(name: str, size: int) -> None:
    """The stored PNG is as small as Pillow's optimizer makes its pixels (and sRGB, no profile)."""
    path = BRAND / name
    with Image.open(path) as image:
        assert "icc_profile" not in image.info
        resaved = io.BytesIO()
        image.save(resaved, format="PNG", optimize=True, compress_level=9)
    assert path.stat().st_size <= len(resaved.getvalue()), size


def test_brand_icons_are_what_draw_icon_makes() -> None:
    """Both files are the script's current drawing, so they are regenerated together."""
    draw_icon = load_script("draw_icon")
    for name, size in BRAND_ICONS:
        with Image.open(BRAND / name) as image:
            assert image.tobytes() == draw_icon.draw(size).tobytes(), name


def test_draw_icon_refuses_an_artwork_that_is_not_square(monkeypatch: pytest.MonkeyPatch) -> None:
    """Trimming a non-square drawing would need stretching or empty edges: the script stops."""
    draw_icon = load_script("draw_icon")
    monkeypatch.setattr(draw_icon, "TILL_BOTTOM", 200.0)
    with pytest.raises(ValueError, match="not square: change the layout"):
        draw_icon.draw(64)


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


BLUEPRINTS = sorted(
    (INTEGRATION.parents[1] / "blueprints" / "automation" / "portos").glob("*.yaml")
)
SAMPLE_INPUTS = {
    "shop": "0123456789abcdef0123456789abcdef",
    "open_tickets_sensor": "sensor.portos_12345_open_tickets",
    "closing_time": "22:30:00",
    "actions": [{"action": "persistent_notification.create", "data": {"message": "PORTOS"}}],
}


def test_there_are_blueprints_and_the_readme_links_them() -> None:
    """The README's Examples link each blueprint (the docs-examples rule asks for blueprints)."""
    assert [path.name for path in BLUEPRINTS] == [
        "open_tickets_at_closing.yaml",
        "ticket_closed.yaml",
    ]
    readme = (INTEGRATION.parents[1] / "README.md").read_text(encoding="utf-8")
    for path in BLUEPRINTS:
        assert f"blueprints/automation/portos/{path.name}" in readme, path.name


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda path: path.stem)
async def test_blueprint_is_a_valid_automation(hass: HomeAssistant, path: Path) -> None:
    """Each blueprint passes HA's blueprint schema and makes a valid automation from its inputs."""
    data = load_yaml_dict(path)
    blueprint = Blueprint(data, expected_domain="automation", schema=AUTOMATION_BLUEPRINT_SCHEMA)
    assert blueprint.metadata["source_url"].endswith(
        f"/portos-home-assistant/blob/main/blueprints/automation/portos/{path.name}"
    )
    assert blueprint.metadata["homeassistant"]["min_version"] == "2026.2.0"
    inputs = {name: SAMPLE_INPUTS[name] for name in blueprint.inputs}
    config = BlueprintInputs(
        blueprint, {"use_blueprint": {"path": path.name, "input": inputs}}
    ).async_substitute()
    automation = PLATFORM_SCHEMA(config)
    assert automation["actions"] == SAMPLE_INPUTS["actions"]
    # HA's schema renames `trigger:` to `platform:`.
    device_triggers = [t for t in automation["triggers"] if t["platform"] == "device"]
    assert len(device_triggers) == (1 if path.stem == "ticket_closed" else 0)
    for trigger in device_triggers:
        # Our own trigger schema: a trigger type the integration offers, on the chosen device.
        assert DEVICE_TRIGGER_SCHEMA(dict(trigger))["type"] == "ticket_closed"
        assert trigger["device_id"] == SAMPLE_INPUTS["shop"]


def test_entity_disabled_by_default_decision_holds() -> None:
    """quality_scale.yaml and the README say no entity is disabled by default; keep them true."""
    descriptions = [*SENSORS, *BINARY_SENSORS, *EVENT_DESCRIPTIONS]
    assert {d.key for d in descriptions} >= {"health_status", "hub_connected"}
    assert [d.key for d in descriptions if not d.entity_registry_enabled_default] == []
    stated = load_yaml_dict(INTEGRATION / "quality_scale.yaml")["rules"]
    assert stated["entity-disabled-by-default"]["status"] == "done"
    assert "none qualifies, so all are enabled" in stated["entity-disabled-by-default"]["comment"]
    readme = (INTEGRATION.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "None is disabled by default." in readme
