"""Config flow tests: setup, reauth, reconfigure and options, against the simulator on 127.0.0.1."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.portos.api import PortosClient
from custom_components.portos.config_flow import (
    OPTIONS_SCHEMA,
    REAUTH_SCHEMA,
    RECONFIGURE_SCHEMA,
    URL_PLACEHOLDERS,
    USER_SCHEMA,
)
from custom_components.portos.const import (
    CONF_DEVICE_NAME,
    CONF_EVENT_DETAIL,
    CONF_RESOURCES,
    DOMAIN,
)
from tests.common import free_port
from tests.integration.const import LANGUAGES, SHOP_ID
from tests.integration.portos_helpers import (
    flatten,
    portos_config_entry,
    translation,
    wait_for,
    wait_hub,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from homeassistant.core import HomeAssistant

    from simulator.server import Simulator

pytestmark = pytest.mark.usefixtures("socket_enabled")

OTHER_SHOP_ID = 67890
PASSWORD = "portos"  # the simulator's default password
WRONG_PASSWORD = "Wr0ng-Pa55word"  # distinctive, so a leak into the log would be found
EN = translation("en")

# Form values for the error cases; "{closed}" and "{server}" are filled in per test.
FORM_ERROR_CASES = [
    pytest.param({CONF_PASSWORD: WRONG_PASSWORD}, {"base": "invalid_auth"}, id="wrong_password"),
    pytest.param({CONF_USERNAME: "nobody"}, {"base": "invalid_auth"}, id="unknown_user"),
    # PORTOS answers a login on a device it does not know with a plain 401.
    pytest.param({CONF_DEVICE_NAME: "Kitchen"}, {"base": "invalid_auth"}, id="unknown_device"),
    pytest.param(
        {CONF_DEVICE_NAME: "P01"}, {CONF_DEVICE_NAME: "wrong_device_type"}, id="till_device"
    ),
]
URL_ERROR_CASES = [
    pytest.param({CONF_URL: "{closed}"}, {"base": "cannot_connect"}, id="connection_refused"),
    # Not a PORTOS server at that address: it answers 404 to the login.
    pytest.param({CONF_URL: "{server}/nothing"}, {"base": "cannot_connect"}, id="server_error"),
    pytest.param({CONF_URL: "192.168.1.20:3000"}, {CONF_URL: "invalid_url"}, id="no_scheme"),
    pytest.param(
        {CONF_URL: "http://admin:x@127.0.0.1:1"}, {CONF_URL: "invalid_url"}, id="userinfo"
    ),
]


@pytest.fixture
def closed_url() -> str:
    """Return a 127.0.0.1 address nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


def _form(url: str, /, **changes: Any) -> dict[str, Any]:
    """Return the user step's input for the simulator's defaults, with changes."""
    return {
        CONF_URL: url,
        CONF_USERNAME: "admin",
        CONF_PASSWORD: PASSWORD,
        CONF_DEVICE_NAME: "HomeAssistant",
        CONF_VERIFY_SSL: True,
    } | changes


def _fill(changes: Mapping[str, Any], server: str, closed: str) -> dict[str, Any]:
    """Fill the {server} and {closed} placeholders of an error case."""
    return {
        key: value.format(server=server, closed=closed) if isinstance(value, str) else value
        for key, value in changes.items()
    }


def _suggested(result: ConfigFlowResult) -> dict[str, Any]:
    """Return the suggested values a form pre-fills."""
    schema = result["data_schema"]
    assert schema is not None
    return {
        str(key.schema): key.description["suggested_value"]
        for key in schema.schema
        if isinstance(key, vol.Marker) and key.description and "suggested_value" in key.description
    }


def _translated(result: ConfigFlowResult, section: str = "config") -> ConfigFlowResult:
    """Assert that the result's errors and abort reason have English texts; return the result."""
    texts = EN[section]
    if result["type"] is FlowResultType.ABORT:
        assert result["reason"] in texts["abort"]
    for error in (result.get("errors") or {}).values():
        assert error in texts["error"]
    return result


async def _configure(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Submit a config flow form and let what it scheduled (a reload) run."""
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    await hass.async_block_till_done()
    return _translated(result)


async def _start_user_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the user step and check the empty form."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result


# --- user step -----------------------------------------------------------------------------------


async def test_user_flow_creates_entry(
    hass: HomeAssistant, simulator: Simulator, mock_setup_entry: AsyncMock
) -> None:
    """A working login creates an entry for the shop, keyed on the license's shopId."""
    result = await _start_user_flow(hass)
    assert _suggested(result) == {}

    result = await _configure(hass, result, _form(f" {simulator.url}/ "))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"PORTOS {SHOP_ID}"
    assert result["data"] == _form(simulator.url)
    assert result["options"] == {CONF_RESOURCES: ["tickets"], CONF_EVENT_DETAIL: "summary"}
    entry = result["result"]
    assert entry.unique_id == SHOP_ID
    assert len(mock_setup_entry.mock_calls) == 1
    # The test login was logged out again: the runtime makes its own.
    assert not simulator.state.auth.sessions


async def test_user_flow_uses_shop_id_of_server(
    hass: HomeAssistant, simulator_factory: Any, mock_setup_entry: AsyncMock
) -> None:
    """The unique id and title come from the server's license, not from a constant."""
    server = await simulator_factory(shop_id=OTHER_SHOP_ID)
    result = await _start_user_flow(hass)

    result = await _configure(hass, result, _form(server.url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"PORTOS {OTHER_SHOP_ID}"
    assert result["result"].unique_id == str(OTHER_SHOP_ID)


async def test_user_flow_defaults(hass: HomeAssistant) -> None:
    """The device name defaults to HomeAssistant and certificates are verified by default."""
    result = await _start_user_flow(hass)
    schema = result["data_schema"]
    assert schema is not None

    filled = schema({CONF_URL: "http://127.0.0.1:3000", CONF_USERNAME: "a", CONF_PASSWORD: "b"})

    assert filled[CONF_DEVICE_NAME] == "HomeAssistant"
    assert filled[CONF_VERIFY_SSL] is True


@pytest.mark.parametrize(("changes", "errors"), FORM_ERROR_CASES + URL_ERROR_CASES)
async def test_user_flow_errors_then_recovers(
    hass: HomeAssistant,
    simulator: Simulator,
    *,
    closed_url: str,
    mock_setup_entry: AsyncMock,
    caplog: pytest.LogCaptureFixture,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Each failure keeps the form with all the user typed, password too; fixing it creates."""
    caplog.set_level(logging.DEBUG)
    bad = _form(simulator.url, **_fill(changes, simulator.url, closed_url))
    result = await _start_user_flow(hass)

    result = await _configure(hass, result, bad)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    assert _suggested(result) == bad
    assert result["description_placeholders"] == URL_PLACEHOLDERS
    assert not mock_setup_entry.mock_calls

    result = await _configure(hass, result, _form(simulator.url))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == _form(simulator.url)
    assert not simulator.state.auth.sessions
    assert WRONG_PASSWORD not in caplog.text


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_unexpected_error_then_recovers(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An error nobody foresaw shows `unknown` and is logged with its traceback, no password."""
    result = await _start_user_flow(hass)
    secret = _form(simulator.url, **{CONF_PASSWORD: WRONG_PASSWORD})

    with patch.object(PortosClient, "login", side_effect=RuntimeError("unexpected")):
        result = await _configure(hass, result, secret)

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while testing the PORTOS login" in caplog.text
    assert "RuntimeError: unexpected" in caplog.text
    assert WRONG_PASSWORD not in caplog.text

    result = await _configure(hass, result, _form(simulator.url))

    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_flow_already_configured(
    hass: HomeAssistant, simulator: Simulator, closed_url: str, mock_setup_entry: AsyncMock
) -> None:
    """A second entry for the same shop aborts, even at another address, and changes nothing."""
    entry = portos_config_entry(closed_url)
    entry.add_to_hass(hass)
    result = await _start_user_flow(hass)

    result = await _configure(hass, result, _form(simulator.url))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_URL] == closed_url
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    assert not mock_setup_entry.mock_calls


# --- reauth --------------------------------------------------------------------------------------


async def test_reauth(
    hass: HomeAssistant, simulator: Simulator, mock_setup_entry: AsyncMock
) -> None:
    """New credentials are tested, stored, and the entry is reloaded."""
    entry = portos_config_entry(simulator.url, password="old-password")
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {
        CONF_URL: simulator.url,
        "name": f"PORTOS {SHOP_ID}",
    }
    assert _suggested(result) == {CONF_USERNAME: "admin", CONF_DEVICE_NAME: "HomeAssistant"}

    result = await _configure(
        hass,
        result,
        {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD, CONF_DEVICE_NAME: "HomeAssistant"},
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == _form(simulator.url)
    assert len(mock_setup_entry.mock_calls) == 1


async def test_reauth_other_shop(
    hass: HomeAssistant, simulator_factory: Any, mock_setup_entry: AsyncMock
) -> None:
    """Credentials that reach another shop's server abort and leave the entry alone."""
    server = await simulator_factory(shop_id=OTHER_SHOP_ID)
    entry = portos_config_entry(server.url, password="old-password")
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)

    result = await _configure(
        hass,
        result,
        {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD, CONF_DEVICE_NAME: "HomeAssistant"},
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert entry.data[CONF_PASSWORD] == "old-password"
    assert not mock_setup_entry.mock_calls


@pytest.mark.parametrize(("changes", "errors"), FORM_ERROR_CASES)
async def test_reauth_errors_then_recovers(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_setup_entry: AsyncMock,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """A rejected login keeps the reauth form with what was typed; the right one succeeds."""
    entry = portos_config_entry(simulator.url, password="old-password")
    entry.add_to_hass(hass)
    good = {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD, CONF_DEVICE_NAME: "HomeAssistant"}
    result = await entry.start_reauth_flow(hass)

    result = await _configure(hass, result, good | changes)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == errors
    assert _suggested(result) == good | changes
    assert entry.data[CONF_PASSWORD] == "old-password"

    result = await _configure(hass, result, good)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == _form(simulator.url)
    assert len(mock_setup_entry.mock_calls) == 1


async def test_reauth_server_down_then_back(
    hass: HomeAssistant, simulator: Simulator, mock_setup_entry: AsyncMock
) -> None:
    """While the server is down reauth says so; once it is back the same input works."""
    entry = portos_config_entry(simulator.url, password="old-password")
    entry.add_to_hass(hass)
    good = {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD, CONF_DEVICE_NAME: "HomeAssistant"}
    result = await entry.start_reauth_flow(hass)
    await simulator.stop()

    result = await _configure(hass, result, good)

    assert result["errors"] == {"base": "cannot_connect"}

    await simulator.start()
    result = await _configure(hass, result, good)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert len(mock_setup_entry.mock_calls) == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_unexpected_error_then_recovers(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An unforeseen error during reauth shows `unknown` and is logged."""
    entry = portos_config_entry(simulator.url, password="old-password")
    entry.add_to_hass(hass)
    good = {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD, CONF_DEVICE_NAME: "HomeAssistant"}
    result = await entry.start_reauth_flow(hass)

    with patch.object(PortosClient, "login", side_effect=RuntimeError("unexpected")):
        result = await _configure(hass, result, good)

    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while testing the PORTOS login" in caplog.text

    result = await _configure(hass, result, good)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"


async def test_reauth_brings_a_failed_entry_up(
    hass: HomeAssistant, portos_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """End to end: rejected stored credentials start reauth; finishing it loads the entry."""
    portos_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        portos_entry, data={**portos_entry.data, CONF_PASSWORD: WRONG_PASSWORD}
    )
    assert not await hass.config_entries.async_setup(portos_entry.entry_id)
    assert portos_entry.state is ConfigEntryState.SETUP_ERROR
    [flow] = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["step_id"] == "reauth_confirm"

    result = await _configure(
        hass,
        flow,
        {CONF_USERNAME: "admin", CONF_PASSWORD: PASSWORD, CONF_DEVICE_NAME: "HomeAssistant"},
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await wait_for(hass, lambda: portos_entry.state is ConfigEntryState.LOADED)
    await wait_hub(hass, portos_entry, connected=True)
    assert portos_entry.data == _form(simulator.url)
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert await hass.config_entries.async_unload(portos_entry.entry_id)


# --- reconfigure ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "submitted"),
    [
        pytest.param(PASSWORD, None, id="password_kept_when_omitted"),
        pytest.param(PASSWORD, "", id="password_kept_when_empty"),
        pytest.param("old-password", PASSWORD, id="password_changed"),
    ],
)
async def test_reconfigure(
    hass: HomeAssistant,
    simulator: Simulator,
    *,
    closed_url: str,
    mock_setup_entry: AsyncMock,
    stored: str,
    submitted: str | None,
) -> None:
    """The server moved: the new address is tested, stored, and the entry reloaded."""
    entry = portos_config_entry(closed_url, password=stored)
    entry.add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert _suggested(result) == {
        CONF_URL: closed_url,
        CONF_USERNAME: "admin",
        CONF_DEVICE_NAME: "HomeAssistant",
        CONF_VERIFY_SSL: True,
    }

    user_input = {k: v for k, v in _form(f"{simulator.url}/").items() if k != CONF_PASSWORD}
    if submitted is not None:
        user_input[CONF_PASSWORD] = submitted
    result = await _configure(hass, result, user_input)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == _form(simulator.url)
    assert entry.title == f"PORTOS {SHOP_ID}"
    assert len(mock_setup_entry.mock_calls) == 1


async def test_reconfigure_other_shop(
    hass: HomeAssistant, simulator: Simulator, simulator_factory: Any, mock_setup_entry: AsyncMock
) -> None:
    """An address that leads to another shop's server aborts and leaves the entry alone."""
    other = await simulator_factory(shop_id=OTHER_SHOP_ID)
    entry = portos_config_entry(simulator.url)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)

    result = await _configure(hass, result, _form(other.url))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "unique_id_mismatch"
    assert entry.data == _form(simulator.url)
    assert not mock_setup_entry.mock_calls


async def test_reconfigure_reloads_a_running_entry(
    hass: HomeAssistant, init_portos: MockConfigEntry, simulator: Simulator
) -> None:
    """End to end: reconfiguring a loaded entry restarts it once with the new settings."""
    old_client = init_portos.runtime_data.client
    opened = simulator.state.hub.stats.connections_opened
    result = await init_portos.start_reconfigure_flow(hass)

    result = await _configure(
        hass,
        result,
        {
            CONF_URL: f"{simulator.url}/",
            CONF_USERNAME: "admin",
            CONF_DEVICE_NAME: "HomeAssistant",
            CONF_VERIFY_SSL: False,
        },
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await wait_for(hass, lambda: init_portos.state is ConfigEntryState.LOADED)
    assert init_portos.runtime_data.client is not old_client
    await wait_hub(hass, init_portos, connected=True)
    await hass.async_block_till_done()
    # A second reload would have opened a second hub connection.
    assert simulator.state.hub.stats.connections_opened == opened + 1
    assert init_portos.data == _form(simulator.url, **{CONF_VERIFY_SSL: False})
    assert await hass.config_entries.async_unload(init_portos.entry_id)


@pytest.mark.parametrize(("changes", "errors"), FORM_ERROR_CASES + URL_ERROR_CASES)
async def test_reconfigure_errors_then_recovers(
    hass: HomeAssistant,
    simulator: Simulator,
    *,
    closed_url: str,
    mock_setup_entry: AsyncMock,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """A failing test keeps the reconfigure form with the input; the entry changes only after."""
    entry = portos_config_entry(simulator.url)
    entry.add_to_hass(hass)
    bad = _form(simulator.url, **_fill(changes, simulator.url, closed_url))
    result = await entry.start_reconfigure_flow(hass)

    result = await _configure(hass, result, bad)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == errors
    assert _suggested(result) == bad
    assert result["description_placeholders"] == URL_PLACEHOLDERS
    assert entry.data == _form(simulator.url)
    assert not mock_setup_entry.mock_calls

    result = await _configure(hass, result, _form(simulator.url, **{CONF_VERIFY_SSL: False}))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == _form(simulator.url, **{CONF_VERIFY_SSL: False})
    assert len(mock_setup_entry.mock_calls) == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_error_never_shows_the_stored_password(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """Left empty (keep the stored one), the password stays empty after an error."""
    entry = portos_config_entry(simulator.url)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    user_input = _form(simulator.url, **{CONF_DEVICE_NAME: "Kitchen"})
    del user_input[CONF_PASSWORD]

    result = await _configure(hass, result, user_input)

    assert result["errors"] == {"base": "invalid_auth"}
    assert _suggested(result) == user_input
    assert CONF_PASSWORD not in _suggested(result)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_unexpected_error_then_recovers(
    hass: HomeAssistant, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An unforeseen error during reconfigure shows `unknown` and is logged."""
    entry = portos_config_entry(simulator.url)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)

    with patch.object(PortosClient, "login", side_effect=RuntimeError("unexpected")):
        result = await _configure(hass, result, _form(simulator.url))

    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while testing the PORTOS login" in caplog.text

    result = await _configure(hass, result, _form(simulator.url))

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"


# --- options -------------------------------------------------------------------------------------


async def _start_options_flow(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    """Open the options form of an entry."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    return result


async def _submit_options(
    hass: HomeAssistant, result: ConfigFlowResult, user_input: dict[str, Any]
) -> ConfigFlowResult:
    """Submit the options form."""
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    await hass.async_block_till_done()
    return _translated(result, "options")


async def test_options_flow(hass: HomeAssistant) -> None:
    """The options form shows the stored choice and saves the new one in entry.options."""
    entry = portos_config_entry("http://127.0.0.1:1")
    entry.add_to_hass(hass)
    result = await _start_options_flow(hass, entry)
    assert _suggested(result) == {CONF_RESOURCES: ["tickets"], CONF_EVENT_DETAIL: "summary"}

    new = {CONF_RESOURCES: ["tickets", "devices"], CONF_EVENT_DETAIL: "full"}
    result = await _submit_options(hass, result, new)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == new


async def test_options_flow_reloads_a_running_entry(
    hass: HomeAssistant, init_portos: MockConfigEntry, simulator: Simulator
) -> None:
    """End to end: saved options restart the entry, whose hub subscribes to the new choice."""
    old_hub = init_portos.runtime_data.hub
    result = await _start_options_flow(hass, init_portos)

    result = await _submit_options(
        hass, result, {CONF_RESOURCES: ["tickets", "devices"], CONF_EVENT_DETAIL: "full"}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    await wait_for(hass, lambda: init_portos.state is ConfigEntryState.LOADED)
    new_hub = init_portos.runtime_data.hub
    assert new_hub is not old_hub
    assert not old_hub.connected
    await wait_hub(hass, init_portos, connected=True)
    assert [sub.to_wire() for sub in new_hub.subscriptions] == [
        {"e": "portos.resources.changed", "r": [{"n": "tickets"}, {"n": "devices"}]},
        {"e": "portos.licence.activated"},
    ]
    assert init_portos.runtime_data.event_detail == "full"
    # One reload, not two: only the new hub is connected to the server.
    await wait_for(
        hass, lambda: sum(c.ready for c in simulator.state.hub.connections.values()) == 1
    )
    assert await hass.config_entries.async_unload(init_portos.entry_id)


async def test_options_flow_defaults(hass: HomeAssistant) -> None:
    """An entry without options (made before they existed) is offered the defaults."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id=SHOP_ID, data=_form("http://127.0.0.1:1"))
    entry.add_to_hass(hass)

    result = await _start_options_flow(hass, entry)

    assert _suggested(result) == {CONF_RESOURCES: ["tickets"], CONF_EVENT_DETAIL: "summary"}


async def test_options_flow_needs_a_resource(hass: HomeAssistant) -> None:
    """Subscribing to nothing is refused; the form keeps the other choice."""
    entry = portos_config_entry("http://127.0.0.1:1")
    entry.add_to_hass(hass)
    result = await _start_options_flow(hass, entry)

    result = await _submit_options(hass, result, {CONF_RESOURCES: [], CONF_EVENT_DETAIL: "full"})

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_RESOURCES: "no_resources"}
    assert _suggested(result) == {CONF_RESOURCES: [], CONF_EVENT_DETAIL: "full"}

    result = await _submit_options(
        hass, result, {CONF_RESOURCES: ["orders"], CONF_EVENT_DETAIL: "full"}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_RESOURCES: ["orders"], CONF_EVENT_DETAIL: "full"}


async def test_options_flow_drops_unknown_resource(hass: HomeAssistant) -> None:
    """A stored resource name the integration no longer knows is not offered again."""
    entry = portos_config_entry("http://127.0.0.1:1")
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, options={CONF_RESOURCES: ["tickets", "gone"], CONF_EVENT_DETAIL: "full"}
    )

    result = await _start_options_flow(hass, entry)

    assert _suggested(result) == {CONF_RESOURCES: ["tickets"], CONF_EVENT_DETAIL: "full"}


@pytest.mark.parametrize(
    "user_input",
    [
        pytest.param({CONF_RESOURCES: ["nonsense"], CONF_EVENT_DETAIL: "full"}, id="resource"),
        pytest.param({CONF_RESOURCES: ["tickets"], CONF_EVENT_DETAIL: "all"}, id="detail"),
    ],
)
async def test_options_flow_rejects_unknown_values(
    hass: HomeAssistant, user_input: dict[str, Any]
) -> None:
    """Only known resource names and detail levels are accepted."""
    entry = portos_config_entry("http://127.0.0.1:1")
    entry.add_to_hass(hass)
    result = await _start_options_flow(hass, entry)

    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(result["flow_id"], user_input)

    assert entry.options == {CONF_RESOURCES: ["tickets"], CONF_EVENT_DETAIL: "summary"}


# --- translations --------------------------------------------------------------------------------


def _fields(schema: vol.Schema) -> set[str]:
    """Return the field names of a form schema."""
    return {str(key.schema) for key in schema.schema}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_field_is_described(language: str) -> None:
    """Every form field has a label and a description in each language."""
    doc = translation(language)
    steps = doc["config"]["step"]
    forms = [
        (steps["user"], USER_SCHEMA),
        (steps["reauth_confirm"], REAUTH_SCHEMA),
        (steps["reconfigure"], RECONFIGURE_SCHEMA),
        (doc["options"]["step"]["init"], OPTIONS_SCHEMA),
    ]
    for step, schema in forms:
        assert set(step["data"]) == _fields(schema)
        assert set(step["data_description"]) == _fields(schema)
        assert all(step["data_description"].values())
    assert set(doc["selector"][CONF_EVENT_DETAIL]["options"]) == {"summary", "full"}
    # Why Home Assistant needs its own device, and where to make it, is part of the contract.
    device_help = steps["user"]["data_description"][CONF_DEVICE_NAME]
    assert "Tool" in device_help
    assert "BackOffice" in device_help


@pytest.mark.parametrize("section", ["config", "options", "selector"])
def test_slovak_mirrors_english(section: str) -> None:
    """sk.json has the same keys and placeholders as en.json in the flow's sections."""
    english = flatten(EN[section])
    sk = translation("sk")
    slovak = flatten(sk[section])
    assert set(slovak) == set(english)
    for key, text in english.items():
        assert set(re.findall(r"{\w+}", slovak[key])) == set(re.findall(r"{\w+}", text)), key
        # A text that is only placeholders (the flow title) reads the same in every language.
        assert slovak[key] != text or not re.sub(r"{\w+}", "", text).strip(), key


@pytest.mark.parametrize("language", LANGUAGES)
async def test_home_assistant_loads_the_texts(hass: HomeAssistant, language: str) -> None:
    """Home Assistant serves the flow's texts of the custom integration in each language."""
    doc = translation(language)
    for category in ("config", "options", "selector"):
        loaded = await async_get_translations(hass, language, category, {DOMAIN})
        # Missing texts would silently fall back to English; compare with the file itself.
        expected = {
            f"component.{DOMAIN}.{category}.{key}": text
            for key, text in flatten(doc[category]).items()
        }
        assert {key: loaded.get(key) for key in expected} == expected
