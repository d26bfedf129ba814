"""Tests of scripts/check_forward_compat.py on small synthetic "new HA" trees (no download)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING
import zipfile

import pytest

if TYPE_CHECKING:
    from scripts import check_forward_compat as fc
else:
    _SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_forward_compat.py"
    _SPEC = importlib.util.spec_from_file_location("check_forward_compat", _SCRIPT)
    fc = importlib.util.module_from_spec(_SPEC)
    # Registered before running it: dataclasses look their module up in sys.modules.
    sys.modules["check_forward_compat"] = fc
    _SPEC.loader.exec_module(fc)

# A fake "newest HA": one file per deprecation mechanism HA 2026.11's helpers/deprecation.py has.
NEW_HA = {
    "homeassistant/__init__.py": "",
    "homeassistant/const.py": """
        from functools import partial
        from enum import StrEnum
        from .helpers.deprecation import (
            DeprecatedConstant, DeprecatedConstantEnum, all_with_deprecated_constants,
            check_if_deprecated_constant, dir_with_deprecated_constants,
        )

        class UnitOfThing(StrEnum):
            GRAMS = "g"

        CONF_URL = "url"
        _DEPRECATED_CONF_OLD = DeprecatedConstant("old", "CONF_URL", "2027.1")
        _DEPRECATED_OLD_GRAMS = DeprecatedConstantEnum(UnitOfThing.GRAMS, "2027.2")
        __getattr__ = partial(check_if_deprecated_constant, module_globals=globals())
        __dir__ = partial(dir_with_deprecated_constants, module_globals_keys=[*globals().keys()])
        __all__ = all_with_deprecated_constants(globals())
    """,
    "homeassistant/core.py": """
        type CALLBACK_TYPE = Callable[[], None]

        class ConfigEntries:
            def async_entries(self): ...

        class HomeAssistant:
            config_entries: ConfigEntries

        def callback(func):
            return func
    """,
    "homeassistant/helpers/__init__.py": "",
    "homeassistant/helpers/deprecation.py": """
        def deprecated_function(replacement, *, breaks_in_ha_version=None): ...
        def deprecated_class(replacement, *, breaks_in_ha_version=None): ...
        def deprecated_hass_argument(breaks_in_ha_version=None): ...
        class DeprecatedConstant: ...
        class DeprecatedConstantEnum: ...
        class DeprecatedAlias: ...
        class DeprecatedEntityAttr: ...
        class EnumWithDeprecatedMembers(type): ...
        def check_if_deprecated_constant(name, module_globals): ...
        def all_with_deprecated_constants(module_globals): ...
        def dir_with_deprecated_constants(module_globals_keys): ...
    """,
    "homeassistant/helpers/old.py": """
        from typing import TYPE_CHECKING
        from .deprecation import (
            DeprecatedAlias, deprecated_class, deprecated_function, deprecated_hass_argument,
        )
        from .frame import report_usage

        if TYPE_CHECKING:
            from .impl import Thing as TypedThing

        class New: ...

        @deprecated_class("New", breaks_in_ha_version="2027.1")
        class Old: ...

        @deprecated_function("new_func")
        def old_func(): ...

        @deprecated_hass_argument()
        def takes_hass(hass=None): ...

        def reporting():
            \"\"\"Do something.\"\"\"
            report_usage("calls reporting, which is deprecated", breaks_in_ha_version="2027.1")

        def undocumented():
            \"\"\"Deprecated, use New instead.\"\"\"

        Wrapped = deprecated_class("New")(New)
        Aliased = DeprecatedAlias(New, "New", "2027.1")

        def fine(a, *, b=1): ...

        def loose(a, **kwargs): ...

        def nested():
            report_usage("not at top level deprecated") if a else None

        try:
            from .impl import Thing as Fallback
        except ImportError:
            Fallback = None
    """,
    "homeassistant/helpers/frame.py": "def report_usage(what, **kwargs): ...\n",
    "homeassistant/helpers/impl.py": """
        import os
        from typing import TYPE_CHECKING
        import homeassistant.helpers.reports_on_import as reports_mod

        class Thing: ...
        THING_CONST = 1

        if not TYPE_CHECKING:
            RUNTIME_ONLY = 1
    """,
    "homeassistant/helpers/lazy.py": """
        from importlib import import_module

        _LAZY = {
            "Thing": "homeassistant.helpers.impl",
            "Unknown": compute(),
            "Old": "homeassistant.helpers.old",
        }
        _DEPRECATED_LAZY = {"Gone"}

        def __getattr__(name):
            if name == "Inline":
                return 1
            if name in _LAZY:
                return getattr(import_module(_LAZY[name]), name)
            raise AttributeError(name)
    """,
    "homeassistant/helpers/lazy_deprecated.py": """
        from .frame import report_usage

        _OLD = {"OldLazy": 1}

        def __getattr__(name):
            if name in _OLD:
                report_usage(f"uses {name}, which is deprecated")
                return _OLD[name]
            raise AttributeError(name)
    """,
    "homeassistant/helpers/registry.py": """
        from dataclasses import dataclass
        from ..core import HomeAssistant
        from .frame import report_usage

        class Registry:
            def async_get_device(self, identifiers):
                \"\"\"Look a device up.\"\"\"
                report_usage("calls async_get_device, which is deprecated")

            def async_get_device_by_identifier(self, identifier): ...

            @property
            def config_entries(self):
                \"\"\"Deprecated: a device has one config entry now.\"\"\"

        def async_get(hass):
            return Registry()

        class _Mapping:
            _keys: ClassVar[tuple[str, ...]]

        @dataclass(slots=True)
        class DeviceInfo(_Mapping):
            _: KW_ONLY
            identifiers: set[tuple[str, str]] | None = None
            name: str | None = None
            if not TYPE_CHECKING:
                via_device: tuple[str, str] | None = None

        class TypedInfo(TypedDict):
            key: str

        @dataclass
        class Weird(SomeUnknownBase):
            x: int
    """,
    "homeassistant/helpers/reports_on_import.py": """
        from .frame import report_usage
        report_usage("imports reports_on_import, which is deprecated")
        X = 1
    """,
    "homeassistant/helpers/entity.py": """
        from .deprecation import DeprecatedEntityAttr

        class FrozenOrThawed(type): ...

        class EntityDescription(metaclass=FrozenOrThawed, frozen_or_thawed=True):
            key: str
            name: str | None = None

        class Entity:
            _attr_name: str | None = None
            _attr_unit: Final = DeprecatedEntityAttr[str]("_attr_native_unit", "2027.1")

            @property
            def old_prop(self):
                \"\"\"Deprecated, use new_prop.\"\"\"

            def new_prop(self): ...
    """,
    "homeassistant/helpers/pep758.py": """
        def f():
            try:
                return 1
            except KeyError, IndexError:
                return 2

        PARSED = True
    """,
    "homeassistant/helpers/cycle_a.py": "from .cycle_b import Loop\n",
    "homeassistant/helpers/cycle_b.py": "from .cycle_a import Loop\n",
    "homeassistant/components/__init__.py": "",
    "homeassistant/components/sensor/__init__.py": """
        from .const import SensorDeviceClass
        from .entity import *
        from .hidden import *
    """,
    "homeassistant/components/sensor/const.py": """
        from enum import StrEnum
        from homeassistant.helpers.deprecation import EnumWithDeprecatedMembers

        class SensorDeviceClass(
            StrEnum,
            metaclass=EnumWithDeprecatedMembers,
            deprecated={"OLD": ("SensorDeviceClass.NEW", "2027.3.0")},
        ):
            NEW = "new"
            OLD = "new"
    """,
    "homeassistant/components/sensor/entity.py": """
        from homeassistant.helpers.entity import Entity, EntityDescription

        __all__ = ["SensorEntity", "SensorEntityDescription"]

        class SensorEntity(Entity): ...

        class SensorEntityDescription(EntityDescription, frozen_or_thawed=True):
            device_class: str | None = None

        class NotExported: ...
    """,
    "homeassistant/components/sensor/hidden.py": "class Hidden: ...\n_private = 1\n",
}

# The integration under test: every use here is meant to be OK.
GOOD = """
    from __future__ import annotations
    from typing import TYPE_CHECKING
    import voluptuous as vol
    import homeassistant.helpers.registry
    from homeassistant.const import CONF_URL, UnitOfThing
    from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
    from homeassistant.helpers import registry as reg, impl
    from homeassistant.helpers.old import New, Fallback, fine, loose, takes_hass, nested
    from homeassistant.helpers.lazy import Thing, Inline, Unknown
    from homeassistant.components.sensor import (
        SensorDeviceClass, SensorEntity, SensorEntityDescription, Hidden,
    )
    from homeassistant.helpers.pep758 import PARSED
    from homeassistant.helpers.impl import *
    from homeassistant.helpers.impl import os, RUNTIME_ONLY
    import homeassistant.helpers.impl as impl2
    from . import const
    if TYPE_CHECKING:
        from homeassistant.helpers.old import TypedThing

    DESC = SensorEntityDescription(key="k", name="n", device_class=SensorDeviceClass.NEW)

    class MySensor(SensorEntity):
        _attr_name = "x"

        def read(self, hass: HomeAssistant) -> None:
            hass.config_entries.async_entries()
            reg.async_get(hass).async_get_device_by_identifier(("d", "1"))
            reg.DeviceInfo(identifiers={("d", "1")}, name="n")
            reg.TypedInfo(key="k")
            fine(1, b=2)
            loose(1, anything=2)
            impl.THING_CONST
            homeassistant.helpers.registry.async_get(hass)
            SensorDeviceClass.NEW.value
            UnitOfThing.GRAMS
            self.new_prop()
            vol.Schema({})
            reg.Weird(x=1)
            impl2.THING_CONST

    class Plain:
        pass
"""

BAD = """
    from homeassistant.const import CONF_OLD, OLD_GRAMS, CONF_NOPE
    from homeassistant.core import ConfigEntries
    import homeassistant.nowhere
    from homeassistant.components.nothing import Entity
    from homeassistant.components.sensor.private import Thing
    from homeassistant.components.sensor import NotExported, _private, SensorEntity
    from homeassistant.helpers.old import Old, old_func, reporting, undocumented, Wrapped
    from homeassistant.helpers.old import Aliased, TypedThing
    from homeassistant.helpers.lazy import Gone, Old as LazyOld
    from homeassistant.helpers.impl import reports_mod
    from homeassistant.helpers.lazy_deprecated import OldLazy, NotThere
    from homeassistant.helpers.reports_on_import import X
    from homeassistant.helpers.cycle_a import Loop
    from homeassistant.helpers import registry as reg, entity
    from homeassistant.helpers.registry import DeviceInfo
    from homeassistant.components.sensor import SensorDeviceClass, SensorEntityDescription

    DESC = SensorEntityDescription(key="k", bogus=1)

    class MyEntity(SensorEntity):
        _attr_unit = "g"

        def read(self, hass):
            reg.async_get(hass).async_get_device(identifiers={("d", "1")})
            reg.async_gone(hass)
            DeviceInfo(identifiers=set(), via_device=("d", "0"), colour="red")
            SensorDeviceClass.OLD
            SensorDeviceClass.MISSING
            self.old_prop
            self._attr_unit = "kg"
            entity.Entity.old_prop
            exempt = reg.async_get(hass).async_get_device(identifiers=set())  # forward-compat: ok
"""


def _write_tree(root: Path, files: dict[str, str]) -> None:
    """Write dedented files under root."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture(name="new_ha")
def new_ha_fixture(tmp_path: Path) -> Path:
    """Return the root of a synthetic unpacked "newest HA"."""
    root = tmp_path / "ha"
    _write_tree(root, NEW_HA)
    return root


def _check(tmp_path: Path, new_ha: Path, code: str) -> dict[str, fc.Finding]:
    """Check one integration file of the given code; return the findings by name."""
    integration = tmp_path / "integration"
    _write_tree(integration, {"module.py": code, "const.py": "X = 1\n"})
    return {f.display: f for f in fc.check(new_ha, integration)}


def test_good_integration_is_clean(tmp_path: Path, new_ha: Path) -> None:
    """Existing names, re-exports, stars, lazy names and type aliases all pass."""
    findings = _check(tmp_path, new_ha, GOOD)
    problems = {name: f.detail for name, f in findings.items() if f.status is not fc.Status.OK}
    assert problems == {}
    # The checks really looked at these (not just skipped them).
    for name in (
        "homeassistant.const.CONF_URL",
        "homeassistant.core.CALLBACK_TYPE",
        "homeassistant.helpers.registry",
        "homeassistant.helpers.lazy.Thing",
        "homeassistant.helpers.lazy.Inline",
        "homeassistant.helpers.lazy.Unknown",
        "homeassistant.helpers.old.Fallback",
        "homeassistant.helpers.old.TypedThing",
        "homeassistant.helpers.old.takes_hass",
        "homeassistant.components.sensor.Hidden",
        "homeassistant.components.sensor.entity.SensorEntityDescription(device_class=)",
        "homeassistant.components.sensor.entity.SensorEntityDescription(key=)",
        "homeassistant.helpers.registry.DeviceInfo(name=)",
        "homeassistant.helpers.registry.TypedInfo(key=)",
        "homeassistant.helpers.old.fine(b=)",
        "homeassistant.helpers.impl.THING_CONST",
        "homeassistant.helpers.registry.async_get",
        "homeassistant.components.sensor.const.SensorDeviceClass.NEW",
        "homeassistant.helpers.pep758.PARSED",
        "homeassistant.helpers.impl.*",
        "homeassistant.helpers.impl.os",
        "homeassistant.helpers.impl.RUNTIME_ONLY",
        "homeassistant.helpers.impl",
    ):
        assert name in findings, name
    # A dataclass whose bases cannot be followed is not second-guessed.
    assert "homeassistant.helpers.registry.Weird(x=)" not in findings
    assert findings["homeassistant.helpers.impl.os"].detail == "outside Home Assistant (os)"
    assert "lazy (__getattr__) from homeassistant.helpers.impl" in (
        findings["homeassistant.helpers.lazy.Thing"].detail
    )
    assert findings["homeassistant.helpers.lazy.Unknown"].detail == "lazy (__getattr__)"
    assert findings["homeassistant.core.CALLBACK_TYPE"].locations == ["module.py:7"]


@pytest.mark.parametrize(
    ("name", "status", "detail"),
    [
        ("homeassistant.const.CONF_OLD", "DEPRECATED", "DeprecatedConstant('old', 'CONF_URL'"),
        ("homeassistant.const.OLD_GRAMS", "DEPRECATED", "DeprecatedConstantEnum(UnitOfThing"),
        ("homeassistant.const.CONF_NOPE", "MISSING", "defines no CONF_NOPE"),
        ("homeassistant.core.ConfigEntries", "OK", ""),
        ("homeassistant.nowhere", "MISSING", "module homeassistant.nowhere does not exist"),
        ("homeassistant.components.nothing.Entity", "MISSING", "does not exist"),
        ("homeassistant.components.sensor.private.Thing", "MISSING", "does not exist"),
        ("homeassistant.components.sensor.NotExported", "MISSING", "defines no NotExported"),
        ("homeassistant.components.sensor._private", "MISSING", "defines no _private"),
        ("homeassistant.helpers.old.Old", "DEPRECATED", "decorated @deprecated_class"),
        ("homeassistant.helpers.old.old_func", "DEPRECATED", "decorated @deprecated_function"),
        ("homeassistant.helpers.old.reporting", "DEPRECATED", "reports a deprecated use"),
        ("homeassistant.helpers.old.undocumented", "DEPRECATED", "docstring says deprecated"),
        ("homeassistant.helpers.old.Wrapped", "DEPRECATED", "wrapped by deprecated_class"),
        ("homeassistant.helpers.old.Aliased", "DEPRECATED", "DeprecatedAlias(New, 'New'"),
        ("homeassistant.helpers.old.TypedThing", "MISSING", "only defined under TYPE_CHECKING"),
        ("homeassistant.helpers.lazy.Gone", "MISSING", "its __getattr__ does not name it"),
        ("homeassistant.helpers.lazy.Old", "DEPRECATED", "decorated @deprecated_class"),
        ("homeassistant.helpers.impl.reports_mod", "DEPRECATED", "reports itself deprecated"),
        ("homeassistant.helpers.lazy_deprecated.OldLazy", "DEPRECATED", "reports deprecation"),
        ("homeassistant.helpers.lazy_deprecated.NotThere", "MISSING", "does not name it"),
        ("homeassistant.helpers.reports_on_import.X", "DEPRECATED", "reports itself deprecated"),
        ("homeassistant.helpers.cycle_a.Loop", "MISSING", "circular re-export"),
        ("homeassistant.helpers.registry.async_gone", "MISSING", "defines no async_gone"),
        ("<object>.async_get_device", "DEPRECATED", "Registry.async_get_device reports"),
        ("homeassistant.helpers.registry.DeviceInfo(via_device=)", "DEPRECATED", "old callers"),
        ("homeassistant.helpers.registry.DeviceInfo(colour=)", "MISSING", "takes no colour"),
        ("homeassistant.helpers.registry.DeviceInfo(identifiers=)", "OK", ""),
        (
            "homeassistant.components.sensor.entity.SensorEntityDescription(bogus=)",
            "MISSING",
            "bogus",
        ),
        (
            "homeassistant.components.sensor.const.SensorDeviceClass.OLD",
            "DEPRECATED",
            "use SensorDeviceClass.NEW (removed in 2027.3.0)",
        ),
        ("homeassistant.components.sensor.const.SensorDeviceClass.MISSING", "MISSING", "no member"),
        ("Entity._attr_unit (overridden by MyEntity)", "DEPRECATED", "DeprecatedEntityAttr("),
        ("Entity.old_prop (used by MyEntity)", "DEPRECATED", "docstring says deprecated"),
        ("homeassistant.helpers.entity.Entity.old_prop", "DEPRECATED", "docstring says"),
    ],
)
def test_problems_are_found(
    tmp_path: Path, new_ha: Path, name: str, status: str, detail: str
) -> None:
    """Each kind of missing or deprecated use is reported with a reason."""
    findings = _check(tmp_path, new_ha, BAD)
    assert name in findings, sorted(findings)
    assert findings[name].status == status
    assert detail in findings[name].detail


def test_exempt_line_and_locations(tmp_path: Path, new_ha: Path) -> None:
    """A line marked `# forward-compat: ok` is OK; a finding lists every place that uses it."""
    findings = _check(tmp_path, new_ha, BAD)
    finding = findings["<object>.async_get_device"]
    # Line 25 is flagged, line 33 (exempted) is still listed but does not clear the finding.
    assert finding.locations == ["module.py:25", "module.py:33"]
    assert finding.status is fc.Status.DEPRECATED
    exempt_only = BAD.replace('async_get_device(identifiers={("d", "1")})', "other()")
    finding = _check(tmp_path, new_ha, exempt_only)["<object>.async_get_device"]
    assert finding.status is fc.Status.OK
    assert finding.detail == "exempted by comment"


def test_main_report_and_exit_status(
    tmp_path: Path, new_ha: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """main() prints one line per name and a summary; exit status 1 only when there are problems."""
    integration = tmp_path / "integration"
    _write_tree(integration, {"module.py": BAD})
    args = ["--source-dir", str(new_ha), "--integration", str(integration)]
    assert fc.main(args) == 1
    out = capsys.readouterr().out
    assert "Forward compatibility with Home Assistant 2026.11.0:" in out
    assert "DEPRECATED homeassistant.const.CONF_OLD" in out
    assert "MISSING    homeassistant.const.CONF_NOPE" in out
    assert "(module.py:2)" in out
    assert "missing." in out.splitlines()[-1]

    _write_tree(integration, {"module.py": GOOD, "const.py": ""})
    assert fc.main(args) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.endswith("OK, 0 deprecated, 0 missing.")


def test_ensure_source_unpacks_cached_wheel_once(tmp_path: Path) -> None:
    """A wheel already in the cache is unpacked (Python files only) once and then re-used."""
    cache = tmp_path / "cache"
    cache.mkdir()
    wheel = cache / "homeassistant-2099.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("homeassistant/__init__.py", "")
        zf.writestr("homeassistant/const.py", "CONF_URL = 'url'\n")
        zf.writestr("homeassistant/strings.json", "{}")
        zf.writestr("homeassistant-2099.1.0.dist-info/METADATA", "Name: homeassistant\n")
    root = fc.ensure_source(cache, "2099.1.0")
    assert root == cache / "homeassistant-2099.1.0"
    assert (root / "homeassistant" / "const.py").read_text() == "CONF_URL = 'url'\n"
    assert not (root / "homeassistant" / "strings.json").exists()
    assert not (root / "homeassistant-2099.1.0.dist-info").exists()
    assert fc.HaSource(root).resolve("homeassistant.const", "CONF_URL").status is fc.Status.OK
    # Re-used: neither the wheel nor pip is needed a second time.
    wheel.unlink()
    assert fc.ensure_source(cache, "2099.1.0") == root


def test_ensure_source_reports_a_download_that_left_no_wheel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If pip succeeds but leaves no wheel, the checker says so instead of checking nothing."""
    calls: list[list[str]] = []

    def fake_run(command: list[str], **_: object) -> None:
        calls.append(command)

    monkeypatch.setattr("subprocess.run", fake_run)
    with pytest.raises(FileNotFoundError, match=r"no homeassistant-2099\.2\.0 wheel"):
        fc.ensure_source(tmp_path / "cache", "2099.2.0")
    assert calls[0][1:4] == ["-m", "pip", "download"]
    assert "homeassistant==2099.2.0" in calls[0]
    assert "--only-binary=:all:" in calls[0]
    assert calls[0][calls[0].index("--python-version") + 1] == fc.PYTHON_VERSION


def test_main_without_a_source_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed download (no registry) ends with a one-line reason and exit status 2."""

    def failing_run(command: list[str], **_: object) -> None:
        raise subprocess.CalledProcessError(1, command)

    monkeypatch.setattr("subprocess.run", failing_run)
    assert fc.main(["--cache-dir", str(tmp_path / "cache"), "--version", "2099.3.0"]) == 2
    assert "cannot get the Home Assistant 2099.3.0 source" in capsys.readouterr().err
