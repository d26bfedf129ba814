"""Prepare a release: check the tag, build the zip HACS installs, take the notes from the changelog.

Standard library only, so the release workflow runs it with any Python 3.13:

    python3 scripts/release.py --tag 0.1.0 --zip dist/portos.zip --notes dist/notes.md

The tag must equal manifest.json's `version` (HACS shows the tag as the version and compares it
with the installed manifest), CHANGELOG.md must have a section for it, and the zip holds the files
of custom_components/portos at its root, because HACS unpacks it into
<config>/custom_components/portos (hacs.json `zip_release` / `filename`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import re
import sys
import zipfile

ROOT = Path(__file__).resolve().parents[1]
# Never shipped: caches and editor droppings that may sit in a working tree.
EXCLUDED_PARTS = frozenset({"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"})
EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo", ".orig", ".rej", ".swp"})
# A fixed timestamp, so the same tree always gives the same zip.
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


class ReleaseError(Exception):
    """The tree is not ready for the requested release."""


def integration_dir(root: Path) -> Path:
    """Return the integration's folder in a tree: what a release ships."""
    return root / "custom_components" / "portos"


def manifest_version(root: Path = ROOT) -> str:
    """Return the integration's version from manifest.json."""
    path = integration_dir(root) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return str(manifest["version"])


def check_tag(tag: str, root: Path = ROOT) -> str:
    """Return the version if the tag names it exactly; raise ReleaseError otherwise."""
    version = manifest_version(root)
    if tag != version:
        raise ReleaseError(
            f"tag {tag!r} is not manifest.json's version {version!r}: "
            "tag the commit with the version itself (no 'v' prefix), or bump the manifest first"
        )
    return version


def release_notes(version: str, root: Path = ROOT) -> str:
    """Return the CHANGELOG.md section of a dated version (without its heading)."""
    changelog = (root / "CHANGELOG.md").read_text(encoding="utf-8")
    heading = re.compile(rf"^## \[{re.escape(version)}\](.*)\n", re.MULTILINE)
    match = heading.search(changelog)
    if match is None:
        raise ReleaseError(f"CHANGELOG.md has no '## [{version}]' section")
    if not re.fullmatch(r" - \d{4}-\d{2}-\d{2}", match.group(1)):
        raise ReleaseError(f"date CHANGELOG.md's section first: '## [{version}] - YYYY-MM-DD'")
    following = re.compile(r"^## |^\[[^\]]+\]: ", re.MULTILINE).search(changelog, match.end())
    notes = changelog[match.end() : following.start() if following else None].strip()
    if not notes:
        raise ReleaseError(f"CHANGELOG.md's section for {version} is empty")
    return notes + "\n"


def shipped_files(root: Path = ROOT) -> list[Path]:
    """Return the integration's files that go into the release, sorted."""
    integration = integration_dir(root)
    return sorted(
        path
        for path in integration.rglob("*")
        if path.is_file()
        and not EXCLUDED_PARTS.intersection(path.relative_to(integration).parts)
        and path.suffix not in EXCLUDED_SUFFIXES
    )


def build_zip(destination: Path, root: Path = ROOT) -> list[str]:
    """Write the release zip (integration files at its root); return the names it holds."""
    integration = integration_dir(root)
    destination.parent.mkdir(parents=True, exist_ok=True)
    names = []
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in shipped_files(root):
            name = path.relative_to(integration).as_posix()
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
            names.append(name)
    return names


def main(argv: list[str] | None = None) -> int:
    """Run the release checks and write the requested artefacts; exit 1 when not ready."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", required=True, help="the git tag being released")
    parser.add_argument("--zip", type=Path, help="where to write the zip HACS downloads")
    parser.add_argument("--notes", type=Path, help="where to write the release notes")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository to release")
    args = parser.parse_args(argv)
    try:
        version = check_tag(args.tag, args.root)
        notes = release_notes(version, args.root)
    except ReleaseError as err:
        print(f"not releasable: {err}", file=sys.stderr)
        return 1
    if args.notes:
        args.notes.parent.mkdir(parents=True, exist_ok=True)
        args.notes.write_text(notes, encoding="utf-8")
        print(f"wrote {args.notes}")
    if args.zip:
        names = build_zip(args.zip, args.root)
        print(f"wrote {args.zip} ({len(names)} files)")
    print(f"release {version}: tag, manifest and changelog agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
