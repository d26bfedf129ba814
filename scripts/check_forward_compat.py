"""Check that the Home Assistant names the integration uses exist, undeprecated, in a newer HA.

Two questions, for every `homeassistant` name the integration imports, every attribute it reads
off one (`dr.async_get`, `SensorDeviceClass.ENUM`) and every member its subclasses of HA classes
define or use: does it exist in the newest HA, and is it deprecated there? That HA needs Python
3.14, so it cannot be imported here: its wheel is downloaded once into .cache/, unpacked, and its
source is read with `ast`. Deprecated means what HA's helpers/deprecation.py marks: a
`DeprecatedConstant`/`DeprecatedConstantEnum`/`DeprecatedAlias` value (or a `_DEPRECATED_<name>`
one), a `@deprecated_class`/`@deprecated_function` decorator, a `DeprecatedEntityAttr`/
`DeprecatedEntityProperty` member, an enum member listed by `EnumWithDeprecatedMembers`, a body
that reports a deprecated use, or a docstring that starts with "Deprecated".

Exit status 1 on a missing or deprecated name. A line ending in `# forward-compat: ok` is exempt
(for a reviewed false alarm).
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
from typing import TYPE_CHECKING
import zipfile

if TYPE_CHECKING:
    from collections.abc import Callable

HA_VERSION = "2026.11.0"
PYTHON_VERSION = "3.14.2"
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = ROOT / ".cache" / "ha-forward"
DEFAULT_INTEGRATION = ROOT / "custom_components" / "portos"
EXEMPT_MARK = "# forward-compat: ok"
TYPING_ONLY = "only defined under TYPE_CHECKING"
DEPRECATED_VALUES = frozenset(
    {
        "DeprecatedConstant",
        "DeprecatedConstantEnum",
        "DeprecatedAlias",
        "DeferredDeprecatedAlias",
        "DeprecatedEntityAttr",
        "DeprecatedEntityProperty",
    }
)
REPORTING_CALLS = frozenset({"report_usage", "_print_deprecation_warning", "warn"})
ENUM_BASES = frozenset({"Enum", "StrEnum", "IntEnum", "IntFlag", "Flag"})
# Python 3.14 (PEP 758) allows `except A, B:`; the 3.13 parser needs `except (A, B):`.
BARE_EXCEPT_TUPLE = re.compile(r"^(\s*except\*?\s+)(?!\()([^:#\n]+,[^:#\n]+):", re.MULTILINE)


type _Use = Callable[[str, Found, ast.AST], None]  # records one use: (name, verdict, where)


class Status(StrEnum):
    """Outcome of checking one name."""

    OK = "OK"
    MISSING = "MISSING"
    DEPRECATED = "DEPRECATED"


@dataclass(frozen=True, slots=True)
class Found:
    """What a name is in the new HA: its status, why, and its definition (a module or a node)."""

    status: Status
    detail: str = ""
    module: str | None = None
    node: ast.AST | None = None
    is_module: bool = False


@dataclass(slots=True)
class Finding:
    """The verdict on one name and every place of the integration that uses it."""

    name: str
    status: Status
    detail: str
    locations: list[str] = field(default_factory=list)


def _callee(node: ast.AST) -> str:
    """Return the last dotted part of a call's callee or a name (`a.b.C[T](...)` -> "C")."""
    node = node.func if isinstance(node, ast.Call) else node
    node = node.value if isinstance(node, ast.Subscript) else node
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def _reports_deprecation(node: ast.AST) -> bool:
    """Return True if node calls a reporter whose message says "deprecat"."""
    return any(
        isinstance(call, ast.Call)
        and _callee(call) in REPORTING_CALLS
        and "deprecat" in ast.unparse(call).lower()
        for call in ast.walk(node)
    )


def deprecation(node: ast.AST) -> str | None:
    """Return why a definition (def, class or assignment) is deprecated, or None."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        for decorator in node.decorator_list:
            name = _callee(decorator)
            # deprecated_hass_argument deprecates passing hass, not the function.
            if name.startswith("deprecated") and name != "deprecated_hass_argument":
                return f"decorated @{name}"
        if not isinstance(node, ast.ClassDef) and any(
            isinstance(stmt, ast.Expr) and _reports_deprecation(stmt) for stmt in node.body
        ):
            return "reports a deprecated use on every call"
        doc = ast.get_docstring(node) or ""
        return "docstring says deprecated" if doc.lower().startswith("deprecated") else None
    value = getattr(node, "value", None)
    if not isinstance(value, ast.Call):
        return None
    if _callee(value) in DEPRECATED_VALUES:
        return ast.unparse(value)
    wrapper = _callee(value.func) if isinstance(value.func, ast.Call) else ""
    return f"wrapped by {wrapper}" if wrapper.startswith("deprecated") else None


def parse_newer(text: str, filename: str) -> ast.Module:
    """Parse a newer Python's source with this one's parser (PEP 758 excepts rewritten)."""
    try:
        return ast.parse(text, filename=filename)
    except SyntaxError:
        return ast.parse(BARE_EXCEPT_TUPLE.sub(r"\1(\2):", text), filename=filename)


def _is_type_checking(test: ast.expr) -> bool:
    """Return True for the test of an `if TYPE_CHECKING:` block."""
    return _callee(test) == "TYPE_CHECKING"


def _names(stmt: ast.stmt) -> list[str]:
    """Return the names a definition or assignment statement binds."""
    if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [stmt.name]
    if isinstance(stmt, ast.TypeAlias):
        return [stmt.name.id]
    if isinstance(stmt, ast.Assign):
        return [target.id for target in stmt.targets if isinstance(target, ast.Name)]
    if isinstance(stmt, ast.AnnAssign | ast.AugAssign) and isinstance(stmt.target, ast.Name):
        return [stmt.target.id]
    if isinstance(stmt, ast.Import | ast.ImportFrom):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"]
    return []


def _bindings(body: list[ast.stmt], typing_only: bool = False) -> list[tuple[str, ast.stmt, bool]]:
    """Return (name, statement, under TYPE_CHECKING) for each binding of a module or class body."""
    found: list[tuple[str, ast.stmt, bool]] = []
    for stmt in body:
        if isinstance(stmt, ast.If):
            found += _bindings(stmt.body, typing_only or _is_type_checking(stmt.test))
            found += _bindings(stmt.orelse, typing_only)
        elif isinstance(stmt, ast.Try):
            for block in (stmt.body, stmt.orelse, *(h.body for h in stmt.handlers)):
                found += _bindings(block, typing_only)
        else:
            found += [(name, stmt, typing_only) for name in _names(stmt)]
    return found


class NewHa:
    """Static view of an unpacked Home Assistant (the folder holding `homeassistant/`)."""

    def __init__(self, root: Path) -> None:
        """Remember where the source is; modules are parsed on first use."""
        self.root = root

    @functools.cache  # noqa: B019 - one instance per run; the cache is the point
    def module(self, name: str) -> tuple[ast.Module, bool] | None:
        """Return (the parsed module, is a package), or None if it does not exist."""
        base = self.root.joinpath(*name.split("."))
        for path, is_package in ((base / "__init__.py", True), (base.with_suffix(".py"), False)):
            if path.is_file():
                return parse_newer(path.read_text(encoding="utf-8"), str(path)), is_package
        return None

    def find(self, module: str, name: str, seen: frozenset[str] = frozenset()) -> Found:
        """Say whether `from module import name` works in the new HA and is not deprecated."""
        if not module.startswith("homeassistant"):
            return Found(Status.OK, f"outside Home Assistant ({module})")
        if (parsed := self.module(module)) is None:
            return Found(Status.MISSING, f"module {module} does not exist")
        if f"{module}.{name}" in seen:
            return Found(Status.MISSING, "circular re-export")
        if any(isinstance(s, ast.Expr) and _reports_deprecation(s) for s in parsed[0].body):
            return Found(Status.DEPRECATED, f"module {module} reports itself deprecated")
        return self._lookup(module, parsed, name, seen | {f"{module}.{name}"})

    def _lookup(
        self, module: str, parsed: tuple[ast.Module, bool], name: str, seen: frozenset[str]
    ) -> Found:
        """Find name in a module: its own bindings, deprecated constants, submodules."""
        tree, is_package = parsed
        bindings = _bindings(tree.body)
        if matches := [(stmt, typing) for bound, stmt, typing in bindings if bound == name]:
            stmt, typing_only = next((m for m in matches if not m[1]), matches[-1])
            found = self._binding(module, is_package, name, stmt, seen)
            if typing_only and found.status is Status.OK:
                return Found(Status.MISSING, TYPING_ONLY)
            return found
        if any(bound == f"_DEPRECATED_{name}" for bound, _, _ in bindings):
            return Found(Status.DEPRECATED, f"_DEPRECATED_{name}: a deprecated constant")
        if self.module(f"{module}.{name}") is not None:
            return self.find_module(f"{module}.{name}")
        # HA has no `import *` (2026.11): a name it binds nowhere is missing.
        return Found(Status.MISSING, f"{module} defines no {name}")

    @staticmethod
    def _absolute(module: str, is_package: bool, stmt: ast.ImportFrom) -> str:
        """Return the absolute module a (possibly relative) `from x import` names."""
        if not stmt.level:
            return stmt.module or ""
        parts = module.split(".")
        base = ".".join(parts[: len(parts) - stmt.level + is_package])
        return f"{base}.{stmt.module}" if stmt.module else base

    def _binding(
        self, module: str, is_package: bool, name: str, stmt: ast.stmt, seen: frozenset[str]
    ) -> Found:
        """Follow one binding: a re-export to where it is defined, else judge the definition."""
        if isinstance(stmt, ast.ImportFrom):
            alias = next(a for a in stmt.names if (a.asname or a.name) == name)
            return self.find(self._absolute(module, is_package, stmt), alias.name, seen)
        if isinstance(stmt, ast.Import):
            alias = next(a for a in stmt.names if (a.asname or a.name).split(".")[0] == name)
            target = alias.name if alias.asname else name
            return self.find_module(target)
        why = deprecation(stmt)
        if not why and isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Name):
            return self.find(module, stmt.value.id, seen)  # `Platform = EntityPlatforms`
        return Found(Status.DEPRECATED if why else Status.OK, why or "", module, stmt)

    def find_module(self, module: str) -> Found:
        """Say whether `import module` works in the new HA."""
        if not module.startswith("homeassistant"):
            return Found(Status.OK, f"outside Home Assistant ({module})")
        if self.module(module) is None:
            return Found(Status.MISSING, f"module {module} does not exist")
        return Found(Status.OK, "", module, is_module=True)

    def member(self, owner: Found, name: str) -> Found | None:
        """Judge `owner.name` for a class owner: None when it cannot be told statically."""
        cls = owner.node
        if not isinstance(cls, ast.ClassDef) or owner.module is None:
            return None
        if why := _deprecated_enum_member(cls, name):
            return Found(Status.DEPRECATED, why)
        for bound, stmt, _ in _bindings(cls.body):
            if bound == name:
                marker = deprecation(stmt)
                status = Status.DEPRECATED if marker else Status.OK
                return Found(status, marker or "", owner.module, stmt)
        for base in cls.bases:
            if (inherited := self.member(self.find(owner.module, _callee(base)), name)) is not None:
                return inherited
        if {_callee(base) for base in cls.bases} & ENUM_BASES and not name.startswith("_"):
            return Found(Status.MISSING, f"{cls.name} has no member {name}")
        return None


def _deprecated_enum_member(cls: ast.ClassDef, name: str) -> str | None:
    """Return why an `EnumWithDeprecatedMembers` enum deprecates a member, or None."""
    for keyword in cls.keywords:
        if keyword.arg == "deprecated" and isinstance(keyword.value, ast.Dict):
            for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == name:
                    return f"deprecated member of {cls.name}: {ast.unparse(value)}"
    return None


class Checker:
    """Collect the integration's uses of HA names and judge each against the new HA."""

    def __init__(self, ha: NewHa) -> None:
        """Start with no findings."""
        self.ha = ha
        self.findings: dict[str, Finding] = {}

    def add(self, name: str, found: Found, where: str, line: str) -> None:
        """Record one use; a missing or deprecated use wins over OK ones of the same name."""
        if EXEMPT_MARK in line:
            found = Found(Status.OK, "exempted by comment")
        finding = self.findings.setdefault(name, Finding(name, found.status, found.detail))
        if finding.status is Status.OK and found.status is not Status.OK:
            finding.status, finding.detail = found.status, found.detail
        finding.locations.append(where)

    def check_file(self, path: Path, rel: str) -> None:
        """Check one file: its HA imports, attributes read off them, members of HA subclasses."""
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines), filename=str(path))

        def use(name: str, found: Found, node: ast.AST) -> None:
            lineno = getattr(node, "lineno", 1)
            self.add(name, found, f"{rel}:{lineno}", lines[lineno - 1])

        local = self._imports(tree, use)
        judged: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and id(node) not in judged:
                self._attribute(local, node, use)
                link: ast.expr = node  # `a.b.c` is judged at once: a.b, then a.b.c
                while isinstance(link, ast.Attribute):
                    judged.add(id(link))
                    link = link.value
            elif isinstance(node, ast.ClassDef):
                self._subclass(local, node, use)

    def _imports(self, tree: ast.Module, use: _Use) -> dict[str, tuple[str, Found]]:
        """Judge the file's `homeassistant` imports; return local name -> (HA name, verdict)."""
        typing_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and _is_type_checking(block.test)
            for node in ast.walk(block)
        }
        local: dict[str, tuple[str, Found]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("homeassistant"):
                for alias in node.names:
                    name = f"{node.module}.{alias.name}"
                    found = self.ha.find(node.module or "", alias.name)
                    if found.detail == TYPING_ONLY and id(node) in typing_only:
                        found = Found(Status.OK, "typing only, as here")
                    local[alias.asname or alias.name] = (name, found)
                    use(name, found, node)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("homeassistant"):
                        found = self.ha.find_module(alias.name)
                        # `import homeassistant.x` binds `homeassistant`: only `as` names count.
                        if alias.asname:
                            local[alias.asname] = (alias.name, found)
                        use(alias.name, found, node)
        return local

    def _attribute(
        self, local: dict[str, tuple[str, Found]], node: ast.Attribute, use: _Use
    ) -> tuple[str, Found] | None:
        """Judge `x.attr` (x an imported HA module or class, or a chain of them); return it."""
        if isinstance(node.value, ast.Name):
            owner = local.get(node.value.id)
        elif isinstance(node.value, ast.Attribute):
            owner = self._attribute(local, node.value, use)
        else:
            return None
        if owner is None:
            return None
        name, found = owner
        if found.status is not Status.OK or found.module is None:
            return None
        if found.is_module:
            judged = (f"{found.module}.{node.attr}", self.ha.find(found.module, node.attr))
        elif (member := self.ha.member(found, node.attr)) is not None:
            judged = (f"{name}.{node.attr}", member)
        else:
            return None
        use(*judged, node)
        return judged

    def _subclass(self, local: dict[str, tuple[str, Found]], cls: ast.ClassDef, use: _Use) -> None:
        """Judge the members our class defines or uses that its HA base classes also have."""
        bases = [local[b.id] for b in map(_base_name, cls.bases) if b is not None and b.id in local]
        if not bases:
            return
        members = [(n, s) for n, s, _ in _bindings(cls.body)] + [
            (node.attr, node)
            for node in ast.walk(cls)
            if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ]
        for member, node in members:
            for base_name, base in bases:
                found = self.ha.member(base, member)
                if found is not None and found.status is Status.DEPRECATED:
                    use(f"{base_name}.{member} (in {cls.name})", found, node)


def _base_name(base: ast.expr) -> ast.Name | None:
    """Return the Name a class base refers to (`Base[T]` -> Base), if it is a plain name."""
    base = base.value if isinstance(base, ast.Subscript) else base
    return base if isinstance(base, ast.Name) else None


def check(source_root: Path, integration_dir: Path) -> list[Finding]:
    """Check every file of integration_dir against the HA source in source_root."""
    checker = Checker(NewHa(source_root))
    for path in sorted(integration_dir.rglob("*.py")):
        checker.check_file(path, path.relative_to(integration_dir).as_posix())
    return sorted(checker.findings.values(), key=lambda finding: finding.name)


def ensure_source(cache_dir: Path, version: str, python_version: str = PYTHON_VERSION) -> Path:
    """Download (once) and unpack (once) an HA wheel's Python files; return the unpacked root."""
    target = cache_dir / f"homeassistant-{version}"
    if (target / ".complete").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    if not (wheels := sorted(cache_dir.glob(f"homeassistant-{version}-*.whl"))):
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--python-version", python_version, f"homeassistant=={version}",
            "--dest", str(cache_dir), "--quiet",
        ]  # fmt: skip
        subprocess.run(command, check=True, timeout=900)  # noqa: S603 - fixed argv, our interpreter
        if not (wheels := sorted(cache_dir.glob(f"homeassistant-{version}-*.whl"))):
            raise FileNotFoundError(f"pip download left no homeassistant-{version} wheel")
    # Unpacked into a scratch folder and renamed, so an interrupted run leaves no half tree.
    scratch = cache_dir / f".unpacking-{version}"
    shutil.rmtree(scratch, ignore_errors=True)
    with zipfile.ZipFile(wheels[0]) as wheel:
        members = [
            m for m in wheel.namelist() if m.startswith("homeassistant/") and m[-3:] == ".py"
        ]
        wheel.extractall(scratch, members)
    (scratch / ".complete").write_text(f"{wheels[0].name}\n", encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    scratch.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    """Print one line per name and a summary; exit 1 on problems, 2 without an HA source."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=HA_VERSION, help="the HA release to check against")
    parser.add_argument("--python-version", default=PYTHON_VERSION, help="for its wheel")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--source-dir", type=Path, help="an already unpacked HA source")
    parser.add_argument("--integration", type=Path, default=DEFAULT_INTEGRATION)
    args = parser.parse_args(argv)
    try:
        source = args.source_dir or ensure_source(args.cache_dir, args.version, args.python_version)
    except (OSError, subprocess.SubprocessError, zipfile.BadZipFile) as err:
        print(f"cannot get the Home Assistant {args.version} source: {err}", file=sys.stderr)
        return 2
    findings = check(source, args.integration)
    print(f"Forward compatibility with Home Assistant {args.version}:")
    width = max((len(f.name) for f in findings), default=0)
    for f in findings:
        why = f" - {f.detail}" if f.status is not Status.OK else ""
        print(f"  {f.status:<10} {f.name:<{width}}{why}  ({', '.join(sorted(set(f.locations)))})")
    counts = {status: sum(f.status is status for f in findings) for status in Status}
    print(
        f"{len(findings)} names checked: {counts[Status.OK]} OK, "
        f"{counts[Status.DEPRECATED]} deprecated, {counts[Status.MISSING]} missing."
    )
    return 1 if counts[Status.OK] != len(findings) else 0


if __name__ == "__main__":
    sys.exit(main())
