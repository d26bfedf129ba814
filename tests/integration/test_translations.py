"""What a person reads in the forms: no example address rendered as a link."""

from __future__ import annotations

from collections.abc import Mapping
import json
from pathlib import Path
import re
from typing import Any

import pytest

import custom_components.portos
from custom_components.portos.config_flow import URL_PLACEHOLDERS

TRANSLATIONS = Path(custom_components.portos.__file__).parent / "translations"
LANGUAGES = ("en", "sk")


def _doc(language: str) -> dict[str, Any]:
    """Load one translation file."""
    doc: dict[str, Any] = json.loads(
        (TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8")
    )
    return doc


def _texts(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten a translation tree to {dotted key: text}."""
    texts: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            texts |= _texts(value, f"{prefix}{key}.")
        else:
            texts[f"{prefix}{key}"] = value
    return texts


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_address_is_written_into_a_text(language: str) -> None:
    """Example addresses are placeholders in code spans, so the form shows them as text."""
    texts = _texts(_doc(language))
    for key, text in texts.items():
        assert not re.search(r"https?://[\w\[]", text), key
        for placeholder in URL_PLACEHOLDERS:
            if f"{{{placeholder}}}" in text:
                assert f"`{{{placeholder}}}`" in text, key
    for step in ("user", "reconfigure"):
        assert "`{example_url}`" in texts[f"config.step.{step}.data_description.url"]
    assert "`{example_url}`" in texts["config.error.invalid_url"]
