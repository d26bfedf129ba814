"""Check that every Home Assistant name the integration uses exists, undeprecated, in a newer HA.

These machines can only run HA 2026.2 (Python 3.13), so the newest release (which needs Python
3.14) is never installed or imported: its wheel is downloaded once into a cache directory,
unpacked, and its source is read with `ast`. For each `homeassistant` import of the integration
(and each attribute read off an imported HA module or enum, each keyword passed to an imported
HA function or dataclass, and each entity member an integration class overrides) the checker
reports OK, missing or deprecated, and exits non-zero on any problem.

A line of the integration ending in `# forward-compat: ok` is exempt (for a reviewed false alarm).
"""

from __future__ import annotations

import argparse
import ast
from dataclasses import dataclass, field
from enum import StrEnum
import functools
from pathlib import Path
import re
import shutil
import subprocess
import sys
import time
from typing import TYPE_CHECKING
import zipfile

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

HA_VERSION = "2026.11.0"
PYTHON_VERSION = "3.14.2"
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / ".cache" / "ha-forward"
DEFAULT_INTEGRATION = ROOT / "custom_components" / "portos"
EXEMPT_MARK = "# forward-compat: ok"
DEPRECATED_PREFIX = "_DEPRECATED_"
# Values HA's helpers/deprecation.py wraps a deprecated module constant or alias in.
DEPRECATED_WRAPPERS = frozenset(
    {"DeprecatedConstant", "DeprecatedConstantEnum", "DeprecatedAlias", "DeferredDeprecatedAlias"}
)
# Descriptors HA puts on an entity base class for a renamed entity property / _attr_ shorthand.
DEPRECATED_MEMBER_WRAPPERS = frozenset({"DeprecatedEntityProperty", "DeprecatedEntityAttr"})
# Calls that report a deprecated use at run time (frame.report_usage and the deprecation module).
REPORTING_CALLS = frozenset(
    {
        "report_usage",
        "_print_deprecation_warning",
        "_print_deprecation_warning_internal",
        "warn",
    }
)
# Modules whose classes' members nearly every integration touches (hass.config_entries, ...):
# a deprecated method name that one of them also offers undeprecated is not flagged.
AMBIGUITY_MODULES = (
    "homeassistant.core",
    "homeassistant.config_entries",
    "homeassistant.helpers.entity",
)
ENUM_BASES = frozenset({"Enum", "StrEnum", "IntEnum", "IntFlag", "Flag", "ReprEnum"})
DOCSTRING_DEPRECATED = re.compile(r"^\s*deprecated\b", re.IGNORECASE | re.MULTILINE)
# Python 3.14 (PEP 758) allows `except A, B:`; the 3.13 parser needs `except (A, B):`.
BARE_EXCEPT_TUPLE = re.compile(r"^(\s*except\*?\s+)(?!\()([^:#\n]+,[^:#\n]+):", re.MULTILINE)


class Status(StrEnum):
    """Outcome of checking one name."""

    OK = "OK"
    MISSING = "MISSING"
    DEPRECATED = "DEPRECATED"


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a name turned out to be in the new HA source."""

    status: Status
    detail: str = ""
    # Where the name is finally defined, for follow-up checks on its members.
    module: str | None = None
    node: ast.AST | None = None
    is_module: bool = False


@dataclass(frozen=True, slots=True)
class Ref:
    """One use of a Home Assistant name by the integration."""

    display: str  # what the report prints, e.g. "homeassistant.const.Platform"
    location: str  # "file.py:12"


@dataclass(slots=True)
class Finding:
    """The verdict on one name and every place that uses it."""

    display: str
    status: Status
    detail: str
    locations: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Binding:
    """A module-level name binding in the new HA source."""

    node: ast.AST
    typing_only: bool
    # For imports: (absolute module, imported name or None for `import x as name`).
    target: tuple[str, str | None] | None = None


@dataclass(slots=True)
class ModuleInfo:
    """The facts about one HA module the resolver needs."""

    name: str
    is_package: bool
    tree: ast.Module
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    star_imports: list[str] = field(default_factory=list)
    all_names: list[str] | None = None
    getattr_node: ast.AST | None = None
    deprecated_module: str | None = None


def _call_name(node: ast.AST) -> str | None:
    """Return the last dotted part of a callee (`a.b.c(...)` → "c"), unwrapping `X[T](...)`."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_type_checking(test: ast.expr) -> bool | None:
    """Return True for `if TYPE_CHECKING`, False for `if not TYPE_CHECKING`, else None."""
    if isinstance(test, ast.Name | ast.Attribute) and _call_name(test) == "TYPE_CHECKING":
        return True
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _is_type_checking(test.operand)
        return None if inner is None else not inner
    return None


def _strings(node: ast.AST) -> Iterator[str]:
    """Yield every string constant inside node."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            yield sub.value


def _reports_deprecation(call: ast.AST) -> bool:
    """Return True if call is a run-time deprecation report (its message says deprecated)."""
    return (
        isinstance(call, ast.Call)
        and _call_name(call) in REPORTING_CALLS
        and any("deprecat" in text.lower() for text in _strings(call))
    )


def _marker_of(node: ast.AST) -> str | None:
    """Return why a def/class/assignment is a deprecated alias, or None if it is not one."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return _definition_marker(node)
    value = getattr(node, "value", None)
    if not isinstance(value, ast.Call):
        return None
    if (_call_name(value) or "") in DEPRECATED_WRAPPERS:
        return _describe_wrapper(value)
    # `Name = deprecated_class("New")(Old)` style.
    wrapper = _call_name(value.func) if isinstance(value.func, ast.Call) else None
    return f"wrapped by {wrapper}" if wrapper and wrapper.startswith("deprecated") else None


def _definition_marker(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str | None:
    """Return why a def/class is deprecated: decorator, run-time report or docstring."""
    for decorator in node.decorator_list:
        name = _call_name(decorator) or ""
        # deprecated_hass_argument only deprecates passing hass, not the function.
        if name.startswith("deprecated") and name != "deprecated_hass_argument":
            return f"decorated @{name}"
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
        isinstance(stmt, ast.Expr) and _reports_deprecation(stmt.value) for stmt in node.body
    ):
        # A function that reports itself deprecated on every call (helpers/device.py style).
        return "reports a deprecated use on every call"
    if DOCSTRING_DEPRECATED.search(ast.get_docstring(node) or ""):
        return "docstring says deprecated"
    return None


def _describe_wrapper(call: ast.Call) -> str:
    """Describe a DeprecatedConstant(...)-style value: kind, replacement, removal version."""
    kind = _call_name(call) or "Deprecated"
    args = [ast.unparse(arg) for arg in call.args]
    args += [f"{kw.arg}={ast.unparse(kw.value)}" for kw in call.keywords]
    return f"{kind}({', '.join(args)})"


def parse_newer(text: str, filename: str) -> ast.Module:
    """Parse a newer Python's source with this one's parser (PEP 758 excepts rewritten)."""
    try:
        return ast.parse(text, filename=filename)
    except SyntaxError:
        return ast.parse(BARE_EXCEPT_TUPLE.sub(r"\1(\2):", text), filename=filename)


class HaSource:
    """Static view of an unpacked Home Assistant source tree (the dir holding `homeassistant/`)."""

    def __init__(self, root: Path) -> None:
        """Remember the tree's root; modules are parsed on first use."""
        self.root = root

    def module_file(self, module: str) -> tuple[Path, bool] | None:
        """Return (file, is_package) for a dotted module name, or None if it does not exist."""
        base = self.root.joinpath(*module.split("."))
        if (init := base / "__init__.py").is_file():
            return init, True
        if (plain := base.with_suffix(".py")).is_file():
            return plain, False
        return None

    @functools.cache  # noqa: B019 - one instance per run; the cache is the point
    def module(self, module: str) -> ModuleInfo | None:
        """Parse a module and index its module-level bindings."""
        found = self.module_file(module)
        if found is None:
            return None
        path, is_package = found
        tree = parse_newer(path.read_text(encoding="utf-8"), str(path))
        info = ModuleInfo(name=module, is_package=is_package, tree=tree)
        self._index(info, tree.body, typing_only=False)
        return info

    def _absolute(self, info: ModuleInfo, node: ast.ImportFrom) -> str:
        """Turn a (possibly relative) `from x import` into an absolute module name."""
        if not node.level:
            return node.module or ""
        parts = info.name.split(".")
        # A package's own name counts as the first level; a module's parent does.
        keep = len(parts) - node.level + (1 if info.is_package else 0)
        base = ".".join(parts[:keep])
        return f"{base}.{node.module}" if node.module else base

    def _bind(self, info: ModuleInfo, name: str, binding: Binding) -> None:
        """Record one binding of a module-level name."""
        info.bindings.setdefault(name, []).append(binding)

    def _index(self, info: ModuleInfo, body: list[ast.stmt], *, typing_only: bool) -> None:
        """Index module-level statements, descending into if/try/with blocks but not functions."""
        for stmt in body:
            match stmt:
                case ast.FunctionDef() | ast.AsyncFunctionDef() | ast.ClassDef():
                    self._bind(info, stmt.name, Binding(stmt, typing_only))
                    if stmt.name == "__getattr__":
                        info.getattr_node = stmt
                case ast.Assign() | ast.AnnAssign() | ast.AugAssign():
                    self._index_assign(info, stmt, typing_only=typing_only)
                case ast.TypeAlias():
                    self._bind(info, stmt.name.id, Binding(stmt, typing_only))
                case ast.ImportFrom() | ast.Import():
                    self._index_import(info, stmt, typing_only=typing_only)
                case ast.If() | ast.Try() | ast.With():
                    self._index_block(info, stmt, typing_only=typing_only)
                case ast.Expr() if _reports_deprecation(stmt.value):
                    info.deprecated_module = "the module reports itself deprecated on import"
                case _:
                    pass

    def _index_block(
        self, info: ModuleInfo, stmt: ast.If | ast.Try | ast.With, *, typing_only: bool
    ) -> None:
        """Index the bodies of a module-level if/try/with (TYPE_CHECKING blocks marked so)."""
        if isinstance(stmt, ast.If):
            checking = _is_type_checking(stmt.test)
            self._index(info, stmt.body, typing_only=typing_only or checking is True)
            self._index(info, stmt.orelse, typing_only=typing_only or checking is False)
            return
        blocks = [stmt.body]
        if isinstance(stmt, ast.Try):
            blocks += [stmt.orelse, stmt.finalbody, *(h.body for h in stmt.handlers)]
        for block in blocks:
            self._index(info, block, typing_only=typing_only)

    def _index_import(
        self, info: ModuleInfo, stmt: ast.ImportFrom | ast.Import, *, typing_only: bool
    ) -> None:
        """Index a module-level import as a re-export binding (or a star import)."""
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                local = alias.asname or alias.name.split(".")[0]
                module = alias.name if alias.asname else local
                self._bind(info, local, Binding(stmt, typing_only, (module, None)))
            return
        module = self._absolute(info, stmt)
        for alias in stmt.names:
            if alias.name == "*":
                info.star_imports.append(module)
            else:
                target = (module, alias.name)
                self._bind(info, alias.asname or alias.name, Binding(stmt, typing_only, target))

    def _index_assign(
        self,
        info: ModuleInfo,
        stmt: ast.Assign | ast.AnnAssign | ast.AugAssign,
        *,
        typing_only: bool,
    ) -> None:
        """Index an assignment: plain names, tuples, `__all__` and `__getattr__ = partial(...)`."""
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        names: list[str] = []
        for target in targets:
            elements = target.elts if isinstance(target, ast.Tuple | ast.List) else [target]
            names += [elt.id for elt in elements if isinstance(elt, ast.Name)]
        for name in names:
            self._bind(info, name, Binding(stmt, typing_only))
            if name == "__getattr__":
                info.getattr_node = stmt
            if name == "__all__" and stmt.value is not None:
                literal = [
                    elt.value
                    for elt in getattr(stmt.value, "elts", [])
                    if isinstance(elt, ast.Constant) and isinstance(elt.value, str)
                ]
                if isinstance(stmt.value, ast.List | ast.Tuple):
                    info.all_names = [*(info.all_names or []), *literal]

    def resolve(
        self, module: str, name: str, seen: frozenset[tuple[str, str]] = frozenset()
    ) -> Resolution:
        """Say whether `from module import name` works in the new HA and is not deprecated."""
        if not module.startswith("homeassistant"):
            return Resolution(Status.OK, f"outside Home Assistant ({module})")
        info = self.module(module)
        if info is None or (module, name) in seen:
            why = "circular re-export" if info else f"module {module} does not exist"
            return Resolution(Status.MISSING, why)
        seen |= {(module, name)}
        if info.deprecated_module:
            return Resolution(Status.DEPRECATED, f"module {module}: {info.deprecated_module}")
        if name in info.bindings:
            return self._resolve_binding(info, name, seen)
        if self.module_file(f"{module}.{name}") is not None:
            return self.resolve_module(f"{module}.{name}")
        return self._resolve_dynamic(info, name, seen)

    def resolve_module(self, module: str) -> Resolution:
        """Say whether `import module` works in the new HA."""
        if not module.startswith("homeassistant"):
            return Resolution(Status.OK, f"outside Home Assistant ({module})")
        info = self.module(module)
        if info is None:
            return Resolution(Status.MISSING, f"module {module} does not exist")
        if info.deprecated_module:
            return Resolution(Status.DEPRECATED, info.deprecated_module, module, is_module=True)
        return Resolution(Status.OK, "module", module, info.tree, is_module=True)

    def _resolve_binding(
        self, info: ModuleInfo, name: str, seen: frozenset[tuple[str, str]]
    ) -> Resolution:
        """Resolve a name the module binds itself (definition, assignment or re-export)."""
        bindings = info.bindings[name]
        runtime = [b for b in bindings if not b.typing_only]
        binding = (runtime or bindings)[-1]
        typing_note = "" if runtime else "only defined under TYPE_CHECKING"
        if binding.target is not None:
            target_module, target_name = binding.target
            if target_name is None:
                result = self.resolve_module(target_module)
            else:
                result = self.resolve(target_module, target_name, seen)
            if result.status is Status.OK and target_module.startswith("homeassistant"):
                via = f"re-exported from {target_module}"
                detail = f"{via}; {result.detail}" if result.detail else via
                result = Resolution(
                    Status.OK, detail, result.module, result.node, is_module=result.is_module
                )
        elif (marker := _marker_of(binding.node)) is not None:
            result = Resolution(Status.DEPRECATED, marker, info.name, binding.node)
        else:
            result = Resolution(Status.OK, "", info.name, binding.node)
        if typing_note and result.status is Status.OK:
            return Resolution(Status.MISSING, typing_note, result.module, result.node)
        return result

    def _resolve_dynamic(
        self, info: ModuleInfo, name: str, seen: frozenset[tuple[str, str]]
    ) -> Resolution:
        """Resolve a name the module does not bind: deprecated constants, stars, lazy ones."""
        deprecated = info.bindings.get(DEPRECATED_PREFIX + name)
        if deprecated and info.getattr_node is not None:
            marker = _marker_of(deprecated[-1].node) or "deprecated constant"
            return Resolution(Status.DEPRECATED, f"{DEPRECATED_PREFIX}{name} = {marker}", info.name)
        for star in info.star_imports:
            star_info = self.module(star)
            if star_info is None or name.startswith("_"):
                continue
            if star_info.all_names is not None and name not in star_info.all_names:
                continue
            result = self.resolve(star, name, seen)
            if result.status is not Status.MISSING:
                return result
        if info.getattr_node is not None:
            return self._resolve_lazy(info, name, seen)
        return Resolution(Status.MISSING, f"{info.name} defines no {name}")

    def _resolve_lazy(
        self, info: ModuleInfo, name: str, seen: frozenset[tuple[str, str]]
    ) -> Resolution:
        """Resolve a name served by a module `__getattr__` (PEP 562 lazy loading)."""
        getattr_node = info.getattr_node
        assert getattr_node is not None  # noqa: S101 - checked by the caller
        reports = any(
            isinstance(sub, ast.Call)
            and (
                (_call_name(sub) or "").startswith("check_if_deprecated")
                or _reports_deprecation(sub)
            )
            for sub in ast.walk(getattr_node)
        )
        # The mapping the lazy loader consults: a module-level dict/set/list that __getattr__
        # reads and that names it, or a comparison inside __getattr__ itself.
        consulted = {n.id for n in ast.walk(getattr_node) if isinstance(n, ast.Name)}
        for stmt in info.tree.body:
            if stmt is not getattr_node and not (
                isinstance(stmt, ast.Assign | ast.AnnAssign)
                and consulted.intersection(_stmt_names(stmt))
            ):
                continue
            target = self._lazy_target(stmt, name)
            if target is None:
                continue
            how = "lazy (__getattr__)"
            if reports:
                return Resolution(Status.DEPRECATED, f"{how}, which reports deprecation")
            if target and target != info.name:
                result = self.resolve(target, name, seen)
                if result.status is Status.OK:
                    detail = f"{how} from {target}; {result.detail}".rstrip("; ")
                    return Resolution(Status.OK, detail, result.module, result.node)
                if result.status is Status.DEPRECATED:
                    return result
            return Resolution(Status.OK, how, info.name)
        return Resolution(
            Status.MISSING, f"{info.name} defines no {name} (its __getattr__ does not name it)"
        )

    def _lazy_target(self, stmt: ast.stmt, name: str) -> str | None:
        """Return the module a lazy mapping sends name to ("" if unknown), or None if not named."""
        for sub in ast.walk(stmt):
            if isinstance(sub, ast.Dict):
                for key, value in zip(sub.keys, sub.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == name:
                        if isinstance(value, ast.Constant) and isinstance(value.value, str):
                            return value.value if value.value.startswith("homeassistant") else ""
                        return ""
            elif isinstance(sub, ast.Constant) and sub.value == name:
                return ""
        return None

    def class_members(
        self, module: str, node: ast.ClassDef, seen: frozenset[str] = frozenset()
    ) -> dict[str, tuple[str, ast.AST]]:
        """Return the class body's members (name → (class, node)) including resolvable HA bases."""
        members: dict[str, tuple[str, ast.AST]] = {}
        key = f"{module}.{node.name}"
        if key in seen:
            return members
        for base in node.bases:
            base_name = ast.unparse(base).split("[")[0]
            resolved = self._resolve_in_module(module, base_name)
            if resolved is not None and isinstance(resolved.node, ast.ClassDef) and resolved.module:
                members.update(self.class_members(resolved.module, resolved.node, seen | {key}))
        for stmt in node.body:
            for name in _stmt_names(stmt):
                members[name] = (node.name, stmt)
        return members

    @functools.cache  # noqa: B019 - one instance per run; the cache is the point
    def class_member_names(self, module: str) -> tuple[dict[str, str], frozenset[str]]:
        """Return the module's classes' public members: (deprecated name → why, the others)."""
        info = self.module(module)
        deprecated: dict[str, str] = {}
        plain: set[str] = set()
        if info is None:
            return deprecated, frozenset()
        for cls in (n for n in ast.walk(info.tree) if isinstance(n, ast.ClassDef)):
            for stmt in cls.body:
                for name in _stmt_names(stmt):
                    if name.startswith("_"):
                        continue
                    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef) and (
                        marker := _marker_of(stmt)
                    ):
                        deprecated[name] = f"{module}.{cls.name}.{name} {marker}"
                    else:
                        plain.add(name)
        return deprecated, frozenset(plain)

    def _resolve_in_module(self, module: str, dotted: str) -> Resolution | None:
        """Resolve a (dotted) name as seen from inside a module of the new HA, if possible."""
        head, _, rest = dotted.partition(".")
        result = self.resolve(module, head)
        if result.status is Status.MISSING:
            return None
        for part in rest.split(".") if rest else []:
            if not result.is_module or result.module is None:
                return None
            result = self.resolve(result.module, part)
        return result


def _stmt_names(stmt: ast.stmt) -> list[str]:
    """Return the names a class-body statement defines."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [stmt.name]
    if isinstance(stmt, ast.Assign):
        return [t.id for t in stmt.targets if isinstance(t, ast.Name)]
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id]
    if isinstance(stmt, ast.If):
        return [name for sub in (*stmt.body, *stmt.orelse) for name in _stmt_names(sub)]
    return []


def _enum_deprecations(node: ast.ClassDef) -> dict[str, str]:
    """Return the members an `EnumWithDeprecatedMembers` enum lists as deprecated."""
    out: dict[str, str] = {}
    for keyword in node.keywords:
        if keyword.arg == "deprecated" and isinstance(keyword.value, ast.Dict):
            for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    parts = [str(ast.literal_eval(e)) for e in getattr(value, "elts", [])]
                    hint = f", use {' (removed in '.join(parts)})" if parts else ""
                    out[key.value] = f"deprecated enum member{hint}"
    return out


def _is_enum(node: ast.ClassDef) -> bool:
    """Return True if a class is an enum (by its bases or metaclass)."""
    bases = {(_call_name(base) or "") for base in node.bases}
    return bool(bases & ENUM_BASES) or any(k.arg == "metaclass" for k in node.keywords)


def _dataclass_fields(source: HaSource, module: str, node: ast.ClassDef) -> dict[str, bool] | None:
    """Return a dataclass/TypedDict's fields (name → deprecated?), None if not known statically."""
    decorators = {_call_name(d) for d in node.decorator_list}
    bases = {(_call_name(b) or "") for b in node.bases}
    # HA's EntityDescription classes become dataclasses through the FrozenOrThawed metaclass.
    frozen_or_thawed = any(k.arg == "frozen_or_thawed" for k in node.keywords)
    if "dataclass" not in decorators and "TypedDict" not in bases and not frozen_or_thawed:
        return None
    fields: dict[str, bool] = {}
    for base in node.bases:
        base_name = ast.unparse(base).split("[")[0]
        if base_name in {"TypedDict", "Generic", "object"}:
            continue
        resolved = source._resolve_in_module(module, base_name)  # noqa: SLF001 - same module
        if resolved is None or not isinstance(resolved.node, ast.ClassDef) or not resolved.module:
            if base_name.startswith("_") or "Mapping" in base_name:
                continue  # a mixin without fields (e.g. DeviceInfo's mapping view)
            return None
        inherited = _dataclass_fields(source, resolved.module, resolved.node)
        if inherited is None:
            if _class_annotations(resolved.node):
                return None
            continue
        fields.update(inherited)
    fields.update(_class_annotations(node))
    return fields


def _class_annotations(node: ast.ClassDef) -> dict[str, bool]:
    """Return annotated class-body names; True for those kept only under `if not TYPE_CHECKING`."""
    out: dict[str, bool] = {}

    def walk(body: list[ast.stmt], hidden: bool) -> None:
        for stmt in body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                annotation = ast.unparse(stmt.annotation)
                if annotation != "KW_ONLY" and not annotation.startswith("ClassVar"):
                    out[stmt.target.id] = hidden
            elif isinstance(stmt, ast.If):
                checking = _is_type_checking(stmt.test)
                walk(stmt.body, hidden or checking is False)
                walk(stmt.orelse, hidden or checking is True)

    walk(node.body, hidden=False)
    return out


def _function_params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str] | None:
    """Return the keyword-passable parameters of a function, or None if it takes **kwargs."""
    args = node.args
    if args.kwarg is not None:
        return None
    return {a.arg for a in (*args.args, *args.kwonlyargs)}


@dataclass(slots=True)
class _FileScan:
    """The Home Assistant names one integration file binds, and where it uses them."""

    path: Path
    rel: str
    lines: list[str]
    # local name → (module, name or None when the local name is the module itself)
    aliases: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    # Deprecated method names of the classes in the HA modules the file imports.
    deprecated_methods: dict[str, str] = field(default_factory=dict)


class Checker:
    """Collect the integration's HA uses and resolve each against a new HA source tree."""

    def __init__(self, source: HaSource, integration_dir: Path) -> None:
        """Prepare a check of integration_dir against source."""
        self.source = source
        self.integration_dir = integration_dir
        self.findings: dict[str, Finding] = {}

    def run(self) -> list[Finding]:
        """Check every .py file of the integration; return the findings sorted by name."""
        for path in sorted(self.integration_dir.rglob("*.py")):
            self._check_file(path)
        return sorted(self.findings.values(), key=lambda f: f.display)

    def _add(self, ref: Ref, result: Resolution, scan: _FileScan, line: int) -> None:
        """Record a verdict for one use, unless its line carries the exemption mark."""
        if EXEMPT_MARK in scan.lines[line - 1]:
            result = Resolution(Status.OK, "exempted by comment")
        finding = self.findings.get(ref.display)
        if finding is None:
            finding = Finding(ref.display, result.status, result.detail)
            self.findings[ref.display] = finding
        elif result.status is not Status.OK and finding.status is Status.OK:
            finding.status, finding.detail = result.status, result.detail
        finding.locations.append(ref.location)

    def _check_file(self, path: Path) -> None:
        """Check one integration file: imports, then attribute reads, calls and subclasses."""
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        rel = str(path.relative_to(self.integration_dir))
        scan = _FileScan(path, rel, text.splitlines())
        self._check_imports(scan, tree.body, type_checking=False)
        scanned = set(AMBIGUITY_MODULES)
        for module, name in set(scan.aliases.values()):
            scanned.add(module)
            if name is not None and (resolved := self.source.resolve(module, name)).module:
                scanned.add(resolved.module)
        plain: set[str] = set()
        for each in sorted(scanned):
            deprecated, others = self.source.class_member_names(each)
            scan.deprecated_methods.update(deprecated)
            plain |= others
        # A name some other class (e.g. HomeAssistant.config_entries) still offers is ambiguous.
        for name in plain:
            scan.deprecated_methods.pop(name, None)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                self._check_attribute(scan, node)
            elif isinstance(node, ast.Call):
                self._check_call(scan, node)
            elif isinstance(node, ast.ClassDef):
                self._check_subclass(scan, node)

    def _check_imports(
        self, scan: _FileScan, body: Iterable[ast.AST], *, type_checking: bool
    ) -> None:
        """Check the file's `homeassistant` imports (anywhere, noting TYPE_CHECKING blocks)."""
        for stmt in body:
            if isinstance(stmt, ast.If) and _is_type_checking(stmt.test):
                self._check_imports(scan, stmt.body, type_checking=True)
                self._check_imports(scan, stmt.orelse, type_checking=type_checking)
                continue
            if isinstance(stmt, ast.ImportFrom) and not stmt.level:
                self._check_import_from(scan, stmt, type_checking=type_checking)
            elif isinstance(stmt, ast.Import):
                self._check_import(scan, stmt)
            self._check_imports(scan, ast.iter_child_nodes(stmt), type_checking=type_checking)

    def _check_import_from(
        self, scan: _FileScan, stmt: ast.ImportFrom, *, type_checking: bool
    ) -> None:
        """Check `from homeassistant.x import A, B`."""
        module = stmt.module or ""
        if module.split(".")[0] != "homeassistant":
            return
        for alias in stmt.names:
            location = f"{scan.rel}:{stmt.lineno}"
            if alias.name == "*":
                result = self.source.resolve_module(module)
                self._add(Ref(f"{module}.*", location), result, scan, stmt.lineno)
                continue
            result = self.source.resolve(module, alias.name)
            if type_checking and result.status is Status.MISSING and result.node is not None:
                result = Resolution(Status.OK, "typing only", result.module, result.node)
            scan.aliases[alias.asname or alias.name] = (module, alias.name)
            self._add(Ref(f"{module}.{alias.name}", location), result, scan, stmt.lineno)

    def _check_import(self, scan: _FileScan, stmt: ast.Import) -> None:
        """Check `import homeassistant.x [as y]`."""
        for alias in stmt.names:
            if alias.name.split(".")[0] != "homeassistant":
                continue
            result = self.source.resolve_module(alias.name)
            if alias.asname:
                scan.aliases[alias.asname] = (alias.name, None)
            else:
                scan.aliases["homeassistant"] = ("homeassistant", None)
            self._add(Ref(alias.name, f"{scan.rel}:{stmt.lineno}"), result, scan, stmt.lineno)

    def _target_of(self, scan: _FileScan, node: ast.expr) -> Resolution | None:
        """Resolve a Name/Attribute chain of the integration to an HA definition, if it is one."""
        if isinstance(node, ast.Name):
            alias = scan.aliases.get(node.id)
            if alias is None:
                return None
            module, name = alias
            return (
                self.source.resolve_module(module)
                if name is None
                else self.source.resolve(module, name)
            )
        if isinstance(node, ast.Attribute):
            owner = self._target_of(scan, node.value)
            if owner is not None and owner.is_module and owner.module:
                return self.source.resolve(owner.module, node.attr)
        return None

    def _check_attribute(self, scan: _FileScan, node: ast.Attribute) -> None:
        """Check `dr.async_get`, `SensorDeviceClass.ENUM`: module attributes and enum members."""
        owner = self._target_of(scan, node.value)
        if owner is None and node.attr in scan.deprecated_methods:
            # The receiver's type is unknown statically: a same-named deprecated method of a
            # class in a module this file imports is flagged (exempt the line if it is another).
            why = scan.deprecated_methods[node.attr]
            ref = Ref(f"<object>.{node.attr}", f"{scan.rel}:{node.lineno}")
            detail = f"probably {why} (receiver type not checked)"
            self._add(ref, Resolution(Status.DEPRECATED, detail), scan, node.lineno)
            return
        if owner is None or owner.status is not Status.OK or owner.module is None:
            return
        display = f"{owner.module}.{node.attr}"
        location = f"{scan.rel}:{node.lineno}"
        if owner.is_module:
            result = self.source.resolve(owner.module, node.attr)
            self._add(Ref(display, location), result, scan, node.lineno)
            return
        if isinstance(owner.node, ast.ClassDef):
            self._check_member(scan, owner.module, owner.node, node)

    def _check_member(
        self, scan: _FileScan, module: str, cls: ast.ClassDef, node: ast.Attribute
    ) -> None:
        """Check a class attribute read: enum members must exist; deprecated members are flagged."""
        display = f"{module}.{cls.name}.{node.attr}"
        ref = Ref(display, f"{scan.rel}:{node.lineno}")
        deprecated = _enum_deprecations(cls)
        if node.attr in deprecated:
            self._add(ref, Resolution(Status.DEPRECATED, deprecated[node.attr]), scan, node.lineno)
            return
        members = self.source.class_members(module, cls)
        if node.attr in members:
            marker = _member_marker(members[node.attr][1])
            status = Status.DEPRECATED if marker else Status.OK
            self._add(ref, Resolution(status, marker or ""), scan, node.lineno)
        elif _is_enum(cls) and not node.attr.startswith("_") and node.attr not in {"name", "value"}:
            self._add(
                ref,
                Resolution(Status.MISSING, f"{cls.name} has no member {node.attr}"),
                scan,
                node.lineno,
            )

    def _check_call(self, scan: _FileScan, node: ast.Call) -> None:
        """Check the keywords passed to an HA function, dataclass or TypedDict are still taken."""
        target = self._target_of(scan, node.func)
        if target is None or target.status is not Status.OK or target.module is None:
            return
        keywords = [kw for kw in node.keywords if kw.arg is not None]
        if not keywords:
            return
        known: dict[str, bool] | None = None
        owner = ""
        if isinstance(target.node, ast.FunctionDef | ast.AsyncFunctionDef):
            params = _function_params(target.node)
            known = None if params is None else dict.fromkeys(params, False)
            owner = target.node.name
        elif isinstance(target.node, ast.ClassDef):
            known = _dataclass_fields(self.source, target.module, target.node)
            owner = target.node.name
        if known is None:
            return
        for kw in keywords:
            assert kw.arg is not None  # noqa: S101 - filtered above
            display = f"{target.module}.{owner}({kw.arg}=)"
            ref = Ref(display, f"{scan.rel}:{kw.value.lineno}")
            if kw.arg not in known:
                result = Resolution(Status.MISSING, f"{owner} takes no {kw.arg}")
            elif known[kw.arg]:
                result = Resolution(
                    Status.DEPRECATED, f"{owner}.{kw.arg} is kept only for old callers"
                )
            else:
                result = Resolution(Status.OK)
            self._add(ref, result, scan, kw.value.lineno)

    def _check_subclass(self, scan: _FileScan, node: ast.ClassDef) -> None:
        """Check an integration class does not define members its HA bases deprecated."""
        inherited: dict[str, tuple[str, ast.AST]] = {}
        for base in node.bases:
            target = self._target_of(scan, base.value if isinstance(base, ast.Subscript) else base)
            if target is not None and isinstance(target.node, ast.ClassDef) and target.module:
                inherited.update(self.source.class_members(target.module, target.node))
        if not inherited:
            return
        uses: list[tuple[str, int, str]] = []
        for stmt in node.body:
            uses += [(name, stmt.lineno, "overridden") for name in _stmt_names(stmt)]
        # `self._attr_x = ...` in methods sets the same shorthand as a class attribute, and
        # `self.x` reads an inherited member.
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.value, ast.Name)
                and sub.value.id == "self"
            ):
                how = "overridden" if isinstance(sub.ctx, ast.Store) else "used"
                uses.append((sub.attr, sub.lineno, how))
        for name, line, how in uses:
            if name not in inherited:
                continue
            owner, base_node = inherited[name]
            marker = _member_marker(base_node)
            if marker:
                ref = Ref(f"{owner}.{name} ({how} by {node.name})", f"{scan.rel}:{line}")
                self._add(ref, Resolution(Status.DEPRECATED, marker), scan, line)


def _member_marker(node: ast.AST) -> str | None:
    """Return why a class member is deprecated (descriptor, decorator, report), or None."""
    value = getattr(node, "value", None)
    if isinstance(value, ast.Call) and _call_name(value) in DEPRECATED_MEMBER_WRAPPERS:
        return _describe_wrapper(value)
    return _marker_of(node)


def check(source_root: Path, integration_dir: Path) -> list[Finding]:
    """Check integration_dir against the HA source unpacked in source_root (no download)."""
    return Checker(HaSource(source_root), integration_dir).run()


def ensure_source(
    cache_dir: Path, version: str = HA_VERSION, python_version: str = PYTHON_VERSION
) -> Path:
    """Download (once) and unpack (once) the HA wheel's Python source; return the unpacked root."""
    target = cache_dir / f"homeassistant-{version}"
    marker = target / ".complete"
    if marker.is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache_dir.glob(f"homeassistant-{version}-*.whl"))
    if not wheels:
        started = time.monotonic()
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--python-version", python_version, f"homeassistant=={version}",
            "--dest", str(cache_dir), "--quiet",
        ]  # fmt: skip
        subprocess.run(command, check=True, timeout=900)  # noqa: S603 - fixed argv, our interpreter
        wheels = sorted(cache_dir.glob(f"homeassistant-{version}-*.whl"))
        if not wheels:
            raise FileNotFoundError(f"pip download left no homeassistant-{version} wheel")
        size = wheels[0].stat().st_size / 1e6
        print(f"downloaded {wheels[0].name} ({size:.1f} MB) in {time.monotonic() - started:.1f} s")
    # Unpack into a scratch dir and rename, so an interrupted run never leaves half a tree.
    scratch = cache_dir / f".unpacking-{version}"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(wheels[0]) as wheel:
        members = [
            m for m in wheel.namelist() if m.startswith("homeassistant/") and m.endswith(".py")
        ]
        wheel.extractall(scratch, members)
    (scratch / ".complete").write_text(f"{wheels[0].name}\n", encoding="utf-8")
    scratch.rename(target)
    return target


def report(findings: list[Finding], version: str) -> int:
    """Print the findings and return the number of problems."""
    problems = [f for f in findings if f.status is not Status.OK]
    print(f"Forward compatibility with Home Assistant {version}:")
    width = max((len(f.display) for f in findings), default=0)
    for finding in findings:
        places = ", ".join(sorted(set(finding.locations)))
        detail = (
            f" — {finding.detail}" if finding.detail and finding.status is not Status.OK else ""
        )
        print(f"  {finding.status.value:<10} {finding.display:<{width}}{detail}  ({places})")
    print(
        f"{len(findings)} names checked: {len(findings) - len(problems)} OK, "
        f"{sum(f.status is Status.DEPRECATED for f in problems)} deprecated, "
        f"{sum(f.status is Status.MISSING for f in problems)} missing."
    )
    return len(problems)


def main(argv: list[str] | None = None) -> int:
    """Run the check from the command line; exit status 1 on any problem, 2 without a source."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=HA_VERSION, help="HA release to check against")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="wheel cache")
    parser.add_argument("--source-dir", type=Path, help="an already unpacked HA source root")
    parser.add_argument("--integration", type=Path, default=DEFAULT_INTEGRATION)
    args = parser.parse_args(argv)
    try:
        source = args.source_dir or ensure_source(args.cache_dir, args.version)
    except (OSError, subprocess.SubprocessError, zipfile.BadZipFile) as err:
        # No registry, no disk space, a broken download: say so plainly instead of a traceback.
        print(f"cannot get the Home Assistant {args.version} source: {err}", file=sys.stderr)
        return 2
    findings = check(source, args.integration)
    return 1 if report(findings, args.version) else 0


if __name__ == "__main__":
    sys.exit(main())
