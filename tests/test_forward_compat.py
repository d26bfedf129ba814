"""Tests of scripts/check_forward_compat.py on a small synthetic "newest HA" (no download)."""

from __future__ import annotations

import subprocess
import textwrap
from typing import TYPE_CHECKING
import zipfile

import pytest

from tests.common import load_script

if TYPE_CHECKING:
    from pathlib import Path

    from scripts import check_forward_compat as fc
else:
    fc = load_script("check_forward_compat")

# A fake newest HA, with each way HA 2026.11 (helpers/deprecation.py, frame.py) marks a deprecation.
NEW_HA = {
    "homeassistant/__init__.py": "",
    "homeassistant/const.py": """
        from functools import partial
        from .generated.platforms import EntityPlatforms
        from .helpers.deprecation import DeprecatedConstant, check_if_deprecated_constant

        Platform = EntityPlatforms
        CONF_URL = "url"
        _DEPRECATED_CONF_OLD = DeprecatedConstant("old", "CONF_URL", "2027.1")
        __getattr__ = partial(check_if_deprecated_constant, module_globals=globals())
    """,
    "homeassistant/generated/__init__.py": "",
    "homeassistant/generated/platforms.py": """
        from enum import StrEnum

        class EntityPlatforms(StrEnum):
            SENSOR = "sensor"
    """,
    "homeassistant/core.py": """
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            from .helpers.typing import TypedOnly

        type CALLBACK_TYPE = Callable[[], None]

        class HomeAssistant: ...

        def callback(func):
            return func
    """,
    "homeassistant/helpers/__init__.py": "",
    "homeassistant/helpers/typing.py": "type TypedOnly = int\n",
    "homeassistant/helpers/deprecation.py": """
        def deprecated_class(replacement, *, breaks_in_ha_version=None): ...
        def deprecated_function(replacement, *, breaks_in_ha_version=None): ...
        def deprecated_hass_argument(breaks_in_ha_version=None): ...
        class DeprecatedConstant: ...
        class DeprecatedAlias: ...
        class DeprecatedEntityAttr: ...
        class EnumWithDeprecatedMembers(type): ...
        def check_if_deprecated_constant(name, module_globals): ...
    """,
    "homeassistant/helpers/frame.py": "def report_usage(what, **kwargs): ...\n",
    "homeassistant/helpers/registry.py": """
        from enum import StrEnum
        from .deprecation import (
            DeprecatedAlias, EnumWithDeprecatedMembers, deprecated_class, deprecated_function,
            deprecated_hass_argument,
        )
        from .frame import report_usage

        class New: ...

        @deprecated_class("New", breaks_in_ha_version="2027.1")
        class Old: ...

        @deprecated_function("async_get")
        def async_old(hass): ...

        @deprecated_hass_argument()
        def async_get(hass=None): ...

        def async_reporting(hass):
            \"\"\"Return something.\"\"\"
            report_usage("calls async_reporting, which is deprecated", breaks_in_ha_version="2027")

        def async_documented(hass):
            \"\"\"Deprecated, use async_get instead.\"\"\"

        Wrapped = deprecated_class("New")(New)
        Aliased = DeprecatedAlias(New, "New", "2027.1")

        class Severity(
            StrEnum,
            metaclass=EnumWithDeprecatedMembers,
            deprecated={"CRITICAL": ("Severity.ERROR", "2027.3.0")},
        ):
            ERROR = "error"
            CRITICAL = "error"

        try:
            from .frame import report_usage as fallback
        except ImportError:
            fallback = None
    """,
    "homeassistant/helpers/pep758.py": """
        def f():
            try:
                return 1
            except KeyError, IndexError:
                return 2

        PARSED = True
    """,
    "homeassistant/helpers/reports_on_import.py": """
        from .frame import report_usage
        report_usage("imports reports_on_import, which is deprecated")
        X = 1
    """,
    "homeassistant/helpers/entity.py": """
        from .deprecation import DeprecatedEntityAttr

        class Entity:
            _attr_name: str | None = None
            _attr_unit: Final = DeprecatedEntityAttr[str]("_attr_native_unit", "2027.1")

            @property
            def name(self): ...
    """,
    "homeassistant/helpers/cycle_a.py": "from .cycle_b import Loop\n",
    "homeassistant/helpers/cycle_b.py": "from .cycle_a import Loop\n",
    "homeassistant/components/__init__.py": "",
    "homeassistant/components/sensor/__init__.py": """
        from .const import SensorDeviceClass
        from homeassistant.helpers.entity import Entity

        class SensorEntity(Entity): ...
    """,
    "homeassistant/components/sensor/const.py": """
        from enum import StrEnum

        class SensorDeviceClass(StrEnum):
            ENUM = "enum"
    """,
}

# Every use here exists and is not deprecated.
GOOD = """
    from __future__ import annotations
    from typing import TYPE_CHECKING
    import voluptuous as vol
    import homeassistant.helpers.registry as registry_module
    from homeassistant.const import CONF_URL, Platform
    from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
    from homeassistant.helpers import registry as reg
    from homeassistant.helpers.registry import New, Severity, async_get, fallback
    from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
    from homeassistant.helpers.pep758 import PARSED
    from . import const
    if TYPE_CHECKING:
        from homeassistant.core import TypedOnly

    PLATFORMS = [Platform.SENSOR]

    class MySensor(SensorEntity):
        _attr_name = "x"
        _attr_device_class = SensorDeviceClass.ENUM

        def read(self, hass: HomeAssistant) -> None:
            reg.async_get(hass)
            registry_module.New()
            reg.Severity.ERROR.value
            self._attr_name = self.name
            vol.Schema({})
"""

# Every HA use here is missing or deprecated; `forward-compat: ok` exempts one line.
BAD = """
    from homeassistant.const import CONF_OLD, CONF_NOPE
    import homeassistant.nowhere
    from homeassistant.components.nothing import Entity
    from homeassistant.core import TypedOnly
    from homeassistant.helpers.registry import Old, async_old, async_reporting, async_documented
    from homeassistant.helpers.registry import Wrapped, Aliased, Severity
    from homeassistant.helpers.reports_on_import import X
    from homeassistant.helpers.cycle_a import Loop
    from homeassistant.helpers import registry as reg
    from homeassistant.components.sensor import SensorDeviceClass, SensorEntity

    class MyEntity(SensorEntity):
        _attr_unit = "g"

        def read(self, hass):
            reg.async_gone(hass)
            reg.Severity.CRITICAL
            SensorDeviceClass.MISSING
            self._attr_unit = "kg"
            reg.async_old(hass)  # forward-compat: ok
"""


def _write_tree(root: Path, files: dict[str, str]) -> None:
    """Write dedented files under root."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture(name="new_ha")
def new_ha_fixture(tmp_path: Path) -> Path:
    """Return the root of the synthetic newest HA."""
    _write_tree(tmp_path / "ha", NEW_HA)
    return tmp_path / "ha"


def _check(tmp_path: Path, new_ha: Path, code: str) -> dict[str, fc.Finding]:
    """Check an integration of one module (and a const.py); return the findings by name."""
    integration = tmp_path / "integration"
    _write_tree(integration, {"module.py": code, "const.py": "X = 1\n"})
    return {finding.name: finding for finding in fc.check(new_ha, integration)}


def test_existing_names_pass(tmp_path: Path, new_ha: Path) -> None:
    """Imports, re-exports, aliases, chains of attributes and typing-only imports all pass."""
    findings = _check(tmp_path, new_ha, GOOD)
    assert {n: f.detail for n, f in findings.items() if f.status is not fc.Status.OK} == {}
    # They were looked at, not skipped.
    assert set(findings) == {
        "homeassistant.helpers.registry",
        "homeassistant.helpers.registry.New",
        "homeassistant.helpers.registry.async_get",
        "homeassistant.helpers.registry.Severity",
        "homeassistant.helpers.registry.Severity.ERROR",
        "homeassistant.helpers.registry.fallback",
        "homeassistant.const.CONF_URL",
        "homeassistant.const.Platform",
        "homeassistant.const.Platform.SENSOR",
        "homeassistant.core.CALLBACK_TYPE",
        "homeassistant.core.HomeAssistant",
        "homeassistant.core.callback",
        "homeassistant.core.TypedOnly",
        "homeassistant.components.sensor.SensorDeviceClass",
        "homeassistant.components.sensor.SensorDeviceClass.ENUM",
        "homeassistant.components.sensor.SensorEntity",
        "homeassistant.helpers.pep758.PARSED",
    }
    assert findings["homeassistant.core.TypedOnly"].detail == "typing only, as here"
    assert findings["homeassistant.core.CALLBACK_TYPE"].locations == ["module.py:7"]
    assert findings["homeassistant.helpers.registry"].locations == ["module.py:5", "module.py:8"]


@pytest.mark.parametrize(
    ("name", "status", "detail"),
    [
        ("homeassistant.const.CONF_NOPE", "MISSING", "homeassistant.const defines no CONF_NOPE"),
        ("homeassistant.nowhere", "MISSING", "module homeassistant.nowhere does not exist"),
        ("homeassistant.components.nothing.Entity", "MISSING", "does not exist"),
        ("homeassistant.core.TypedOnly", "MISSING", "only defined under TYPE_CHECKING"),
        ("homeassistant.helpers.cycle_a.Loop", "MISSING", "circular re-export"),
        ("homeassistant.helpers.registry.async_gone", "MISSING", "defines no async_gone"),
        ("homeassistant.components.sensor.SensorDeviceClass.MISSING", "MISSING", "no member"),
        ("homeassistant.const.CONF_OLD", "DEPRECATED", "_DEPRECATED_CONF_OLD"),
        ("homeassistant.helpers.registry.Old", "DEPRECATED", "decorated @deprecated_class"),
        ("homeassistant.helpers.registry.async_old", "DEPRECATED", "@deprecated_function"),
        ("homeassistant.helpers.registry.async_reporting", "DEPRECATED", "reports a deprecated"),
        ("homeassistant.helpers.registry.async_documented", "DEPRECATED", "docstring says"),
        ("homeassistant.helpers.registry.Wrapped", "DEPRECATED", "wrapped by deprecated_class"),
        ("homeassistant.helpers.registry.Aliased", "DEPRECATED", "DeprecatedAlias(New, 'New'"),
        ("homeassistant.helpers.registry.Severity.CRITICAL", "DEPRECATED", "('Severity.ERROR'"),
        ("homeassistant.helpers.reports_on_import.X", "DEPRECATED", "reports itself deprecated"),
        (
            "homeassistant.components.sensor.SensorEntity._attr_unit (in MyEntity)",
            "DEPRECATED",
            "DeprecatedEntityAttr[str]('_attr_native_unit', '2027.1')",
        ),
    ],
)
def test_missing_and_deprecated_names_fail(
    tmp_path: Path, new_ha: Path, name: str, status: str, detail: str
) -> None:
    """Each kind of missing or deprecated use is reported, with the reason."""
    findings = _check(tmp_path, new_ha, BAD)
    assert name in findings, sorted(findings)
    assert findings[name].status == status
    assert detail in findings[name].detail


def test_every_use_is_listed_and_an_exempt_line_is_ok(tmp_path: Path, new_ha: Path) -> None:
    """A finding names each place; `# forward-compat: ok` clears only its own line."""
    findings = _check(tmp_path, new_ha, BAD)
    member = findings["homeassistant.components.sensor.SensorEntity._attr_unit (in MyEntity)"]
    assert member.locations == ["module.py:14", "module.py:20"]
    old = findings["homeassistant.helpers.registry.async_old"]
    assert old.locations == ["module.py:6", "module.py:21"]
    assert old.status is fc.Status.DEPRECATED  # the import line is not exempt
    exempt_only = BAD.replace("Old, async_old, ", "Old, ")
    finding = _check(tmp_path, new_ha, exempt_only)["homeassistant.helpers.registry.async_old"]
    assert finding.status is fc.Status.OK
    assert finding.detail == "exempted by comment"


def test_main_reports_and_exits_non_zero_on_problems(
    tmp_path: Path, new_ha: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line per name and a summary; exit status 1 only when something is wrong."""
    integration = tmp_path / "integration"
    args = ["--source-dir", str(new_ha), "--integration", str(integration)]
    _write_tree(integration, {"module.py": BAD})
    assert fc.main(args) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Forward compatibility with Home Assistant 2026.11.0:"
    deprecated = "_DEPRECATED_CONF_OLD: a deprecated constant  (module.py:2)"
    assert any(
        line.split(maxsplit=2) == ["DEPRECATED", "homeassistant.const.CONF_OLD", f"- {deprecated}"]
        for line in out
    )
    assert out[-1] == "21 names checked: 4 OK, 10 deprecated, 7 missing."
    _write_tree(integration, {"module.py": GOOD})
    assert fc.main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "17 names checked: 17 OK, 0 deprecated, 0 missing."
    )


def test_ensure_source_unpacks_a_cached_wheel_once(tmp_path: Path) -> None:
    """A wheel in the cache is unpacked (Python files only) once and then re-used."""
    cache = tmp_path / "cache"
    cache.mkdir()
    wheel = cache / "homeassistant-2099.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("homeassistant/__init__.py", "")
        archive.writestr("homeassistant/const.py", "CONF_URL = 'url'\n")
        archive.writestr("homeassistant/strings.json", "{}")
        archive.writestr("homeassistant-2099.1.0.dist-info/METADATA", "Name: homeassistant\n")
    root = fc.ensure_source(cache, "2099.1.0")
    assert root == cache / "homeassistant-2099.1.0"
    assert (root / "homeassistant" / "const.py").read_text() == "CONF_URL = 'url'\n"
    assert not (root / "homeassistant" / "strings.json").exists()
    assert not (root / "homeassistant-2099.1.0.dist-info").exists()
    assert fc.NewHa(root).find("homeassistant.const", "CONF_URL").status is fc.Status.OK
    wheel.unlink()  # re-used: neither the wheel nor pip is needed a second time
    assert fc.ensure_source(cache, "2099.1.0") == root


def test_ensure_source_downloads_the_wheel_for_the_newer_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The download is the wheel for HA's Python only; one that left no wheel is an error."""
    calls: list[list[str]] = []
    monkeypatch.setattr("subprocess.run", lambda command, **_: calls.append(command))
    with pytest.raises(FileNotFoundError, match=r"no homeassistant-2099\.2\.0 wheel"):
        fc.ensure_source(tmp_path / "cache", "2099.2.0", "3.15.0")
    assert calls[0][1:4] == ["-m", "pip", "download"]
    assert "homeassistant==2099.2.0" in calls[0]
    assert "--only-binary=:all:" in calls[0]
    assert calls[0][calls[0].index("--python-version") + 1] == "3.15.0"


def test_main_without_a_source_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed download (no registry) ends with a one-line reason and exit status 2."""

    def failing_run(command: list[str], **_: object) -> None:
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr("subprocess.run", failing_run)
    assert fc.main(["--cache-dir", str(tmp_path / "cache"), "--version", "2099.3.0"]) == 2
    assert "cannot get the Home Assistant 2099.3.0 source" in capsys.readouterr().err
