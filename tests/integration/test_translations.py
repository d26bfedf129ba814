"""What a person reads: PORTOS's own words, no API names, no example address as a link."""

from __future__ import annotations

import re

import pytest

from custom_components.portos.api.const import RESOURCE_NAMES
from custom_components.portos.config_flow import OPTIONS_SCHEMA, URL_PLACEHOLDERS
from custom_components.portos.const import CONF_RESOURCES
from tests.integration.const import LANGUAGES
from tests.integration.portos_helpers import flatten, translation

# Words a PORTOS user would not know, or that mean something else (/work/shared/portos/sk-terms.md).
SLOVAK_TO_AVOID = (
    "Výdajné miesta",  # a pickup counter; orderendpoints are Objednávkové zariadenia
    "Presuny medzi skladmi",  # only one kind of Skladové pohyby
    "Položky",  # a line on a ticket; PLUs are Tovary
    "Kategórie tovaru",
    "Spôsoby platby",
    "Spoločnosti",
    "Fiškálne",
    "Relácie",
    "relácia",
    "pokladnic",  # the device type is Pokladňa
    "zmaz",  # PORTOS and Home Assistant say odstrániť
    "uzavret",  # PORTOS says uzatvorený
    "schém",
    "Zdroje",
    "zdroj",
    "hub",
    "Home Assistantu",
    "PORTOS server",  # the product name goes after the noun: server PORTOS
    "Používateľské meno",  # PORTOS's login name is Prihlasovacie meno
)
# API names and spellings that are not what an owner sees in BackOffice.
NEVER_SHOWN = ("CashRegister", "PDA", "NineDigit", "API names", "názvy z PORTOS API")


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_address_is_written_into_a_text(language: str) -> None:
    """Example addresses are placeholders in code spans, so the form shows them as text."""
    texts = flatten(translation(language))
    for key, text in texts.items():
        assert not re.search(r"https?://[\w\[]", text), key
        for placeholder in URL_PLACEHOLDERS:
            if f"{{{placeholder}}}" in text:
                assert f"`{{{placeholder}}}`" in text, key
    for step in ("user", "reconfigure"):
        assert "`{example_url}`" in texts[f"config.step.{step}.data_description.url"]
    assert "`{example_url}`" in texts["config.error.invalid_url"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_resources_are_named_in_words(language: str) -> None:
    """The options form and the triggers name each resource in words, the same words."""
    doc = translation(language)
    labels = doc["selector"][CONF_RESOURCES]["options"]
    assert set(labels) == set(RESOURCE_NAMES)
    for name, label in labels.items():
        assert label
        assert label != name, name  # the raw name, e.g. dailysalesreports
    subtypes = doc["device_automation"]["trigger_subtype"]
    assert subtypes == {name: label for name, label in labels.items() if name != "tickets"}
    selector = OPTIONS_SCHEMA.schema[next(k for k in OPTIONS_SCHEMA.schema if k == CONF_RESOURCES)]
    assert selector.config["translation_key"] == CONF_RESOURCES


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_api_names_or_misspelled_company(language: str) -> None:
    """Device types read as BackOffice names them; the company as it spells itself."""
    for key, text in flatten(translation(language)).items():
        for word in NEVER_SHOWN:
            assert word not in text, (key, word)


def test_slovak_uses_portos_words() -> None:
    """Slovak texts use PORTOS's own words and the formal style of Home Assistant's Slovak."""
    texts = flatten(translation("sk"))
    for key, text in texts.items():
        for word in SLOVAK_TO_AVOID:
            assert word not in text, (key, word)
        # Formal "vy" with a lowercase "vaše"; never the familiar "ty" forms.
        assert not re.search(r"\b(tvoj|tvoje|tvoja|zadaj|vyber|skontroluj)\b", text), key
    assert texts["selector.resources.options.orderendpoints"] == "Objednávkové zariadenia"
    assert texts["selector.resources.options.stocktransfers"] == "Skladové pohyby"
    assert "Pokladňa" in texts["config.step.user.description"]
    assert "Mobilný čašník" in texts["config.step.user.description"]
    assert "Nine Digit, s.r.o." in texts["issues.license_expired.description"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_till_refusal_says_what_already_happened(language: str) -> None:
    """The refusal comes after PORTOS has logged the till out: it says so, not "would"."""
    text = translation(language)["config"]["error"]["wrong_device_type"]
    if language == "en":
        assert "would" not in text
        assert "has just logged out" in text
    else:
        assert "by odhlásilo" not in text
        assert "práve odhlásilo" in text
