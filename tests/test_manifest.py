"""The manifest, hacs.json and the release: what HA and HACS read, checked offline as HACS does."""

from __future__ import annotations

import json
from pathlib import Path
import shutil
from typing import TYPE_CHECKING, Any
import zipfile

from homeassistant.const import __version__ as ha_version
from homeassistant.util.yaml import parse_yaml
import pytest

from tests.common import load_script

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).parent.parent
MANIFEST = ROOT / "custom_components" / "portos" / "manifest.json"


if TYPE_CHECKING:
    from scripts import check_hacs, release
else:
    check_hacs = load_script("check_hacs")
    release = load_script("release")


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
    """hacs.json: a Slovak product, installed from the release zip, on the HA the tests run on."""
    hacs = json.loads((ROOT / "hacs.json").read_text(encoding="utf-8"))
    assert hacs == {
        "name": "PORTOS",
        "country": "SK",
        "homeassistant": "2026.2.0",
        "zip_release": True,
        "filename": "portos.zip",
    }
    # The minimum is the release series the tests run on (HA 2026.3 needs Python 3.14).
    assert ha_version.startswith("2026.2.")


def test_offline_hacs_checks_pass() -> None:
    """The repository passes every HACS check that can run without GitHub."""
    results = check_hacs.check(ROOT)
    assert [r.name for r in results] == list(check_hacs.CHECKS)
    assert {r.name: r.problems for r in results if r.problems} == {}


def _copy_repository(target: Path) -> Path:
    """Copy the files the HACS checks read into target (no git, so every file counts)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("hacs.json", "LICENSE", "README.md", "CHANGELOG.md"):
        shutil.copy(ROOT / name, target / name)
    integration = target / "custom_components" / "portos"
    (integration / "brand").mkdir(parents=True)
    shutil.copy(MANIFEST, integration / "manifest.json")
    shutil.copy(ROOT / "custom_components/portos/__init__.py", integration / "__init__.py")
    for icon in ("icon.png", "icon@2x.png"):
        shutil.copy(ROOT / "custom_components/portos/brand" / icon, integration / "brand" / icon)
    return target


def _edit_json(path: Path, change: Callable[[dict[str, object]], object]) -> None:
    """Apply change to the JSON object in path."""
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _manifest(root: Path) -> Path:
    return root / "custom_components" / "portos" / "manifest.json"


BREAKAGES: dict[str, tuple[Callable[[Path], object], str, str]] = {
    "no license": (
        lambda root: (root / "LICENSE").unlink(),
        "license",
        "no LICENSE file",
    ),
    "another license": (
        lambda root: (root / "LICENSE").write_text("All rights reserved.\n"),
        "license",
        "is not the MIT license text",
    ),
    "no readme": (lambda root: (root / "README.md").unlink(), "information", "no README"),
    "no hacs.json": (lambda root: (root / "hacs.json").unlink(), "hacsjson", "not found"),
    "render_readme": (
        lambda root: _edit_json(root / "hacs.json", lambda d: d.update(render_readme=True)),
        "hacsjson",
        "render_readme is not used by HACS 2",
    ),
    "unknown hacs.json key": (
        lambda root: _edit_json(root / "hacs.json", lambda d: d.update(domains=["portos"])),
        "hacsjson",
        "extra keys not allowed",
    ),
    "no name": (
        lambda root: _edit_json(root / "hacs.json", lambda d: d.pop("name")),
        "hacsjson",
        "required key not provided",
    ),
    "bad country": (
        lambda root: _edit_json(root / "hacs.json", lambda d: d.update(country="XX")),
        "hacsjson",
        "not an ISO 3166-1 alpha-2 country code: XX",
    ),
    "zip without filename": (
        lambda root: _edit_json(root / "hacs.json", lambda d: d.pop("filename")),
        "hacsjson",
        "zip_release is true, but filename is not set",
    ),
    "minimum newer than tested": (
        lambda root: _edit_json(root / "hacs.json", lambda d: d.update(homeassistant="2026.3.0")),
        "hacsjson",
        "newer than the",
    ),
    "no minimum": (
        lambda root: _edit_json(root / "hacs.json", lambda d: d.pop("homeassistant")),
        "hacsjson",
        "no minimum homeassistant version",
    ),
    "no issue tracker": (
        lambda root: _edit_json(_manifest(root), lambda d: d.pop("issue_tracker")),
        "manifest",
        "issue_tracker",
    ),
    "documentation not a URL": (
        lambda root: _edit_json(_manifest(root), lambda d: d.update(documentation="README.md")),
        "manifest",
        "documentation",
    ),
    "version HACS cannot compare": (
        lambda root: _edit_json(_manifest(root), lambda d: d.update(version="first")),
        "manifest",
        "is not a version HACS can compare",
    ),
    "folder not named after the domain": (
        lambda root: (root / "custom_components/portos").rename(root / "custom_components/pos"),
        "structure",
        "is not named after the domain 'portos'",
    ),
    "two integrations": (
        lambda root: shutil.copytree(
            root / "custom_components/portos", root / "custom_components/other"
        ),
        "structure",
        "exactly one integration, found ['other', 'portos']",
    ),
    "no brand icon": (
        lambda root: (root / "custom_components/portos/brand/icon.png").unlink(),
        "brands",
        "brand/icon.png not found",
    ),
    "icon of the wrong size": (
        lambda root: shutil.copy(
            root / "custom_components/portos/brand/icon@2x.png",
            root / "custom_components/portos/brand/icon.png",
        ),
        "brands",
        "is 512x512, brand icons are 256x256",
    ),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_offline_hacs_checks_fail(tmp_path: Path, breakage: str) -> None:
    """Each check fails, with a reason, on a repository that breaks its rule."""
    root = _copy_repository(tmp_path)
    assert {r.name: r.problems for r in check_hacs.check(root) if r.problems} == {}
    damage, check, reason = BREAKAGES[breakage]
    damage(root)
    failed = {r.name: " ".join(r.problems) for r in check_hacs.check(root) if r.problems}
    assert check in failed, failed
    assert reason in failed[check]


def test_check_hacs_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command line names each check, lists what needs GitHub, and fails on a problem."""
    root = _copy_repository(tmp_path)
    assert check_hacs.main(["--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "ok   license" in out
    assert "not checked here (needs GitHub):" in out
    assert "topics" in out
    assert out.splitlines()[-1] == "6 of 6 offline HACS checks passed."
    (root / "LICENSE").unlink()
    assert check_hacs.main(["--root", str(root)]) == 1
    assert "FAIL license" in capsys.readouterr().out


def _dated(root: Path, date: str = "2026-12-01") -> None:
    """Give the changelog's 0.1.0 section a release date."""
    changelog = root / "CHANGELOG.md"
    text = changelog.read_text(encoding="utf-8")
    changelog.write_text(text.replace("## [0.1.0] - unreleased", f"## [0.1.0] - {date}"))


def test_release_tag_must_be_the_manifest_version() -> None:
    version = json.loads(MANIFEST.read_text(encoding="utf-8"))["version"]
    assert release.check_tag(version) == version
    for tag in (f"v{version}", f"{version}.1", "latest"):
        with pytest.raises(release.ReleaseError, match=r"is not manifest\.json's version"):
            release.check_tag(tag)


def test_changelog_has_the_manifest_version() -> None:
    """The changelog has an (undated until released) section for the manifest's version."""
    version = json.loads(MANIFEST.read_text(encoding="utf-8"))["version"]
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"\n## [{version}] - " in text
    assert "license_activated" in text
    assert "licence_activated" in text


def test_release_notes_need_a_dated_section(tmp_path: Path) -> None:
    root = _copy_repository(tmp_path)
    with pytest.raises(release.ReleaseError, match=r"date CHANGELOG\.md's section first"):
        release.release_notes("0.1.0", root)
    with pytest.raises(release.ReleaseError, match=r"no '## \[0.2.0\]' section"):
        release.release_notes("0.2.0", root)
    _dated(root)
    notes = release.release_notes("0.1.0", root)
    assert notes.startswith("The first release.")
    assert "### Added" in notes
    assert "license_activated" in notes
    # Only this section: not the link references at the end of the file.
    assert "[Unreleased]:" not in notes
    assert "## [" not in notes


def test_release_zip_holds_the_integration_at_its_root(tmp_path: Path) -> None:
    """HACS unpacks the zip into custom_components/portos, so its root is the integration."""
    root = _copy_repository(tmp_path / "repo")
    cache = root / "custom_components/portos/__pycache__"
    cache.mkdir()
    (cache / "x.cpython-313.pyc").write_bytes(b"")
    names = release.build_zip(tmp_path / "dist" / "portos.zip", root)
    assert names == ["__init__.py", "brand/icon.png", "brand/icon@2x.png", "manifest.json"]
    with zipfile.ZipFile(tmp_path / "dist" / "portos.zip") as archive:
        assert archive.namelist() == names
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["domain"] == "portos"
    # The same tree gives the same bytes (fixed timestamps).
    again = release.build_zip(tmp_path / "again.zip", root)
    assert again == names
    assert (tmp_path / "again.zip").read_bytes() == (tmp_path / "dist/portos.zip").read_bytes()


def test_release_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The release command refuses a wrong tag or an undated changelog, else writes both files."""
    root = _copy_repository(tmp_path / "repo")
    dist = tmp_path / "dist"
    args = ["--root", str(root), "--tag", "0.1.0", "--zip", str(dist / "portos.zip")]
    args += ["--notes", str(dist / "n.md")]
    assert release.main(args) == 1
    assert "not releasable: date CHANGELOG.md's section first" in capsys.readouterr().err
    assert not dist.exists()
    _dated(root)
    assert release.main(["--root", str(root), "--tag", "v0.1.0"]) == 1
    assert release.main(args) == 0
    assert "release 0.1.0: tag, manifest and changelog agree" in capsys.readouterr().out
    assert (dist / "n.md").read_text(encoding="utf-8").startswith("The first release.")
    with zipfile.ZipFile(dist / "portos.zip") as archive:
        assert "manifest.json" in archive.namelist()


def _workflow(name: str) -> dict[str, Any]:
    """Load a GitHub workflow (YAML 1.1 reads its `on:` key as True)."""
    data = parse_yaml((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    data["on"] = data.pop(True)
    return data


def _steps(workflow: dict[str, Any], job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return steps


def test_validate_workflow_runs_hacs_and_hassfest() -> None:
    workflow = _workflow("validate.yml")
    assert {"push", "pull_request", "schedule", "workflow_call"} <= set(workflow["on"])
    hacs = [s for s in _steps(workflow, "hacs") if s.get("uses", "").startswith("hacs/action@")]
    assert hacs == [
        {"name": "HACS validation", "uses": "hacs/action@main", "with": {"category": "integration"}}
    ]
    hassfest = [s["uses"] for s in _steps(workflow, "hassfest") if "uses" in s]
    assert hassfest == ["actions/checkout@v4", "home-assistant/actions/hassfest@master"]


def test_tests_workflow_runs_ci_run_on_python_313_and_node_20() -> None:
    workflow = _workflow("tests.yml")
    assert "workflow_call" in workflow["on"]
    steps = _steps(workflow, "tests")
    versions = {s["uses"].split("@")[0]: s.get("with", {}) for s in steps if "uses" in s}
    assert versions["actions/setup-python"] == {"python-version": "3.13"}
    assert versions["actions/setup-node"] == {"node-version": "20"}
    assert steps[-1]["run"] == ".ci/run"
    assert steps[-1]["env"] == {"PYTHON": "${{ steps.python.outputs.python-path }}"}


def test_release_workflow_publishes_only_a_checked_tag() -> None:
    """Tag checked first, tests and validation on the tag, then the release with the zip."""
    workflow = _workflow("release.yml")
    assert workflow["on"] == {"push": {"tags": ["[0-9]+.[0-9]+.[0-9]+*"]}}
    jobs = workflow["jobs"]
    assert jobs["tests"] == {
        "needs": "check",
        "permissions": {"contents": "read"},
        "uses": "./.github/workflows/tests.yml",
    }
    assert jobs["validate"]["uses"] == "./.github/workflows/validate.yml"
    assert jobs["publish"]["needs"] == ["tests", "validate"]
    assert jobs["publish"]["permissions"] == {"contents": "write"}
    check_runs = [s["run"] for s in _steps(workflow, "check") if "run" in s]
    assert check_runs == ['python scripts/release.py --tag "${GITHUB_REF_NAME}"']
    build, publish = (s["run"] for s in _steps(workflow, "publish") if "run" in s)
    assert "filename=$(jq -r .filename hacs.json)" in build
    assert '--zip "dist/${filename}" --notes dist/notes.md' in build
    assert 'gh release create "${GITHUB_REF_NAME}" "dist/${FILENAME}"' in publish
    assert "--notes-file dist/notes.md" in publish
