"""Check offline what HACS's repository validation checks, as far as it can be told without GitHub.

The HACS action (hacs/action, running hacs/integration's validators) registers the repository
through GitHub's API and then runs one validator per rule. These ones read only the repository's
files, so they are re-done here with the same rules (voluptuous schemas like HACS's own):

- structure: one integration under custom_components/, named after its manifest's domain;
- manifest: the keys HACS requires in manifest.json (domain, name, version, documentation,
  issue_tracker, codeowners), URLs that HA's url validator accepts, a version HACS can compare;
- hacsjson: hacs.json in the root, only the keys HACS knows, a name, valid country codes, a
  minimum Home Assistant version (not newer than the one the tests run on), `filename` with
  `zip_release`, and no `render_readme` (HACS 2 ignores it);
- information: a README in the root;
- license: a LICENSE file that is the MIT license (what GitHub's detection must report);
- brands: the integration's own brand/icon.png, a 256x256 PNG (tests/test_assets.py checks the
  image rules in full).

What needs GitHub is listed by `--help` and at the end of each run (GITHUB_ONLY).
Run `.venv/bin/python scripts/check_hacs.py`; exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import json
from pathlib import Path
import struct
import subprocess
import sys
from typing import Any

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.const import __version__ as tested_ha_version
from homeassistant.generated.countries import COUNTRIES
from homeassistant.helpers import config_validation as cv
import voluptuous as vol
from voluptuous.humanize import humanize_error

ROOT = Path(__file__).resolve().parents[1]

GITHUB_ONLY = (
    "description: the GitHub repository has a description",
    "topics: the GitHub repository has topics",
    "issues: issues are enabled on GitHub",
    "archived: the repository is not archived",
    "license (GitHub side): GitHub's license detection reports an OSI license (SPDX id)",
    "releases: a published GitHub release with the hacs.json `filename` asset (hacs/default)",
    "brands fallback: brands.home-assistant.io's domains.json (only without a brand/ folder)",
    "hacs/default review: owner or major contributor, sorted and valid JSON in the PR",
)

COUNTRY_CODES = frozenset(COUNTRIES) | {"ALL"}


def _countries(value: object) -> list[str]:
    """Accept one ISO 3166-1 alpha-2 code or a list of them (HACS upper-cases them too)."""
    codes = [value] if isinstance(value, str) else value
    if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
        raise vol.Invalid("country must be a code or a list of codes")
    unknown = [code for code in codes if code.upper() not in COUNTRY_CODES]
    if unknown:
        raise vol.Invalid(f"not an ISO 3166-1 alpha-2 country code: {', '.join(unknown)}")
    return [code.upper() for code in codes]


def _version(value: object) -> AwesomeVersion:
    """Accept a version HACS can compare (semantic or calendar versioning)."""
    version = AwesomeVersion(str(value))
    if version.strategy is AwesomeVersionStrategy.UNKNOWN:
        raise vol.Invalid(f"{value!r} is not a version HACS can compare")
    return version


# hacs.json: the keys HACS 2 knows; anything else makes HACS reject the file.
HACS_JSON_SCHEMA = vol.Schema(
    {
        vol.Required("name"): str,
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): _countries,
        vol.Optional("filename"): str,
        vol.Optional("hacs"): _version,
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): _version,
        vol.Optional("persistent_directory"): str,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
    },
    extra=vol.PREVENT_EXTRA,
)

# manifest.json: what HACS requires on top of Home Assistant's own schema (hassfest checks that).
MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("codeowners"): [str],
        vol.Required("documentation"): cv.url,
        vol.Required("domain"): str,
        vol.Required("issue_tracker"): cv.url,
        vol.Required("name"): str,
        vol.Required("version"): _version,
    },
    extra=vol.ALLOW_EXTRA,
)

README_NAMES = frozenset({"readme", "readme.md", "info", "info.md"})
LICENSE_NAMES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "COPYING")
# Sentences every copy of the MIT license has, as GitHub's detection (licensee) matches them.
MIT_SENTENCES = (
    "permission is hereby granted, free of charge, to any person obtaining a copy",
    "the above copyright notice and this permission notice shall be included in all",
    'the software is provided "as is", without warranty of any kind',
)
_NESTED = 3  # custom_components/<folder>/<file>
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ICON_SIZE = (256, 256)


@dataclass(frozen=True, slots=True)
class Result:
    """One check's outcome: no problems means it passed."""

    name: str
    problems: tuple[str, ...]


def repository_files(root: Path) -> list[str]:
    """Return the files a push would publish: git's view when root is a checkout, else all."""
    if (root / ".git").exists():
        command = ["git", "-C", str(root), "ls-files", "--cached", "--others", "--exclude-standard"]
        listed = subprocess.run(  # noqa: S603 - fixed argv; the root is ours
            command,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        return sorted(name for name in listed if (root / name).exists())
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())


def _load_json(root: Path, name: str) -> tuple[dict[str, Any] | None, str | None]:
    """Return (the JSON object in a file, None) or (None, why it cannot be read)."""
    try:
        data = json.loads((root / name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"{name} not found"
    except ValueError as err:
        return None, f"{name} is not valid JSON: {err}"
    if not isinstance(data, dict):
        return None, f"{name} is not a JSON object"
    return data, None


def _integration_dirs(files: list[str]) -> list[str]:
    """Return the directories directly under custom_components/."""
    nested = (name.split("/", 2) for name in files if name.startswith("custom_components/"))
    return sorted({parts[1] for parts in nested if len(parts) == _NESTED} - {"__pycache__"})


def check_structure(root: Path, files: list[str]) -> list[str]:
    """One integration under custom_components/, in a folder named after its domain."""
    dirs = _integration_dirs(files)
    if len(dirs) != 1:
        return [f"custom_components/ must hold exactly one integration, found {dirs or 'none'}"]
    problems = []
    manifest_path = f"custom_components/{dirs[0]}/manifest.json"
    if manifest_path not in files:
        return [f"{manifest_path} not found"]
    manifest, error = _load_json(root, manifest_path)
    if manifest is not None and manifest.get("domain") != dirs[0]:
        problems.append(
            f"the folder custom_components/{dirs[0]} is not named after the domain "
            f"{manifest.get('domain')!r} (HACS installs it as custom_components/<domain>)"
        )
    if error:
        problems.append(error)
    return problems


def check_manifest(root: Path, files: list[str]) -> list[str]:
    """manifest.json has what HACS requires."""
    dirs = _integration_dirs(files)
    if not dirs:
        return ["no integration found"]
    manifest, error = _load_json(root, f"custom_components/{dirs[0]}/manifest.json")
    if manifest is None:
        return [error or "manifest.json not readable"]
    try:
        MANIFEST_SCHEMA(manifest)
    except vol.Invalid as err:
        return [f"manifest.json: {humanize_error(manifest, err)}"]
    return []


def check_hacs_json(root: Path, files: list[str]) -> list[str]:
    """hacs.json is valid for HACS and agrees with what we release and test."""
    if "hacs.json" not in files:
        return ["hacs.json not found in the repository's root"]
    hacs, error = _load_json(root, "hacs.json")
    if hacs is None:
        return [error or "hacs.json not readable"]
    try:
        HACS_JSON_SCHEMA(hacs)
    except vol.Invalid as err:
        return [f"hacs.json: {humanize_error(hacs, err)}"]
    problems = []
    if "render_readme" in hacs:
        problems.append("hacs.json: render_readme is not used by HACS 2; remove it")
    if hacs.get("zip_release") and not hacs.get("filename"):
        problems.append("hacs.json: zip_release is true, but filename is not set")
    if hacs.get("zip_release") and not str(hacs.get("filename", "")).endswith(".zip"):
        problems.append("hacs.json: with zip_release, filename names the release's .zip asset")
    if hacs.get("content_in_root"):
        problems.append("hacs.json: content_in_root, but the integration is in custom_components/")
    minimum = hacs.get("homeassistant")
    if minimum is None:
        problems.append("hacs.json: no minimum homeassistant version")
    elif AwesomeVersion(minimum) > AwesomeVersion(tested_ha_version):
        problems.append(
            f"hacs.json: homeassistant {minimum} is newer than the {tested_ha_version} "
            "the tests run on, so HACS would refuse the tested version"
        )
    return problems


def check_information(_root: Path, files: list[str]) -> list[str]:
    """A README (or info file) in the root, which HACS shows."""
    if not any(name.lower() in README_NAMES for name in files):
        return ["no README.md (or info.md) in the repository's root"]
    return []


def check_license(root: Path, files: list[str]) -> list[str]:
    """A license file in the root that GitHub will detect as MIT."""
    found = [name for name in LICENSE_NAMES if name in files]
    if not found:
        return ["no LICENSE file in the repository's root (HACS: 'The repository has no license')"]
    text = " ".join((root / found[0]).read_text(encoding="utf-8").lower().split())
    missing = [sentence for sentence in MIT_SENTENCES if sentence not in text]
    if missing:
        return [f"{found[0]} is not the MIT license text (missing: {missing[0]!r})"]
    return []


def check_brands(root: Path, files: list[str]) -> list[str]:
    """The integration ships brand/icon.png (HACS's brands check), a 256x256 PNG."""
    dirs = _integration_dirs(files)
    if not dirs:
        return ["no integration found"]
    icon = f"custom_components/{dirs[0]}/brand/icon.png"
    if icon not in files:
        return [f"{icon} not found (and HACS's fallback, the brands repository, has no PORTOS)"]
    header = (root / icon).read_bytes()[:24]
    if not header.startswith(PNG_SIGNATURE) or header[12:16] != b"IHDR":
        return [f"{icon} is not a PNG"]
    size = struct.unpack(">II", header[16:24])
    if size != ICON_SIZE:
        return [f"{icon} is {size[0]}x{size[1]}, brand icons are 256x256"]
    return []


CHECKS = {
    "structure": check_structure,
    "manifest": check_manifest,
    "hacsjson": check_hacs_json,
    "information": check_information,
    "license": check_license,
    "brands": check_brands,
}


def check(root: Path = ROOT) -> list[Result]:
    """Run every offline check on a repository tree."""
    files = repository_files(root)
    return [Result(name, tuple(run(root, files))) for name, run in CHECKS.items()]


def main(argv: list[str] | None = None) -> int:
    """Print each check's outcome and what only GitHub can check; exit 1 on a failure."""
    epilog = "Checks that need GitHub (not run here):\n" + "\n".join(f"  {c}" for c in GITHUB_ONLY)
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository to check")
    args = parser.parse_args(argv)
    results = check(args.root)
    for result in results:
        print(f"{'FAIL' if result.problems else 'ok  '} {result.name}")
        for problem in result.problems:
            print(f"       {problem}")
    print("not checked here (needs GitHub):")
    for github_check in GITHUB_ONLY:
        print(f"  -  {github_check}")
    failed = [result.name for result in results if result.problems]
    print(f"{len(results) - len(failed)} of {len(results)} offline HACS checks passed.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
