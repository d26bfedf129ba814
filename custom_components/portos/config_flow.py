"""Config flow for PORTOS: set up, reauthenticate, reconfigure and choose options in the UI."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any, Final, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME, CONF_VERIFY_SSL
from homeassistant.core import callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .api import (
    PortosAuthenticationError,
    PortosClient,
    PortosConnectionError,
    PortosError,
    PortosServerError,
    PortosWrongDeviceTypeError,
)
from .api.client import normalise_url
from .api.const import DEFAULT_DEVICE_NAME, RESOURCE_NAMES
from .const import (
    CONF_DEVICE_NAME,
    CONF_EVENT_DETAIL,
    CONF_RESOURCES,
    DEFAULT_EVENT_DETAIL,
    DEFAULT_RESOURCES,
    DOMAIN,
    EVENT_DETAIL_FULL,
    EVENT_DETAIL_SUMMARY,
    LOGGER,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

_URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_USERNAME_SELECTOR = TextSelector(
    TextSelectorConfig(type=TextSelectorType.TEXT, autocomplete="username")
)
_PASSWORD_SELECTOR = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
)
_TEXT_SELECTOR = TextSelector()

USER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL): _URL_SELECTOR,
        vol.Required(CONF_USERNAME): _USERNAME_SELECTOR,
        vol.Required(CONF_PASSWORD): _PASSWORD_SELECTOR,
        vol.Required(CONF_DEVICE_NAME, default=DEFAULT_DEVICE_NAME): _TEXT_SELECTOR,
        vol.Required(CONF_VERIFY_SSL, default=True): BooleanSelector(),
    }
)

REAUTH_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_USERNAME): _USERNAME_SELECTOR,
        vol.Required(CONF_PASSWORD): _PASSWORD_SELECTOR,
        vol.Required(CONF_DEVICE_NAME): _TEXT_SELECTOR,
    }
)

# The stored password is never sent back to the browser: left empty, it stays unchanged.
RECONFIGURE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_URL): _URL_SELECTOR,
        vol.Required(CONF_USERNAME): _USERNAME_SELECTOR,
        vol.Optional(CONF_PASSWORD): _PASSWORD_SELECTOR,
        vol.Required(CONF_DEVICE_NAME): _TEXT_SELECTOR,
        vol.Required(CONF_VERIFY_SSL): BooleanSelector(),
    }
)

OPTIONS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_RESOURCES): SelectSelector(
            SelectSelectorConfig(
                options=sorted(RESOURCE_NAMES),
                multiple=True,
                mode=SelectSelectorMode.DROPDOWN,
                # The API names mean nothing to a shop owner: show PORTOS's own words, sorted in
                # the user's language.
                translation_key=CONF_RESOURCES,
                sort=True,
            )
        ),
        vol.Required(CONF_EVENT_DETAIL): SelectSelector(
            SelectSelectorConfig(
                options=[EVENT_DETAIL_SUMMARY, EVENT_DETAIL_FULL],
                mode=SelectSelectorMode.LIST,
                translation_key=CONF_EVENT_DETAIL,
            )
        ),
    }
)


# Example addresses go in as placeholders: a URL written into the text would be rendered as a
# link by the frontend's markdown, and Home Assistant's translation rules keep URLs out of texts.
URL_PLACEHOLDERS: Final = {
    "example_url": "http://192.168.1.20:3000",
    "example_tunnel": "https://….expose.ninedigit.sk",
}


def _without_password(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the stored values a form may show: everything except the password."""
    return {key: value for key, value in data.items() if key != CONF_PASSWORD}


class PortosConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a PORTOS server: one config entry per shop (the license's shopId)."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> PortosOptionsFlow:
        """Return the options flow (it finds its entry itself)."""
        return PortosOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the server and the login, test them, then create the entry."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = dict(user_input)
            if not (errors := await self._async_test_login(data)):
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=f"PORTOS {self.unique_id}",
                    data=data,
                    options={
                        CONF_RESOURCES: list(DEFAULT_RESOURCES),
                        CONF_EVENT_DETAIL: DEFAULT_EVENT_DETAIL,
                    },
                )
        # After an error the form keeps everything the user typed, the password too: it goes
        # back only to the browser that sent it.
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input or {}),
            errors=errors,
            description_placeholders=URL_PLACEHOLDERS,
        )

    async def async_step_reauth(
        self,
        entry_data: Mapping[str, Any],  # noqa: ARG002 - the confirm step reads the entry itself
    ) -> ConfigFlowResult:
        """Start reauthentication after the server rejected the stored login."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the login again (user, password, device), test it and reload the entry."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **user_input}
            if not (errors := await self._async_test_login(data)):
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                REAUTH_SCHEMA, user_input or _without_password(entry.data)
            ),
            errors=errors,
            description_placeholders={CONF_URL: entry.data[CONF_URL]},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the server address or login of an entry, for the same shop only."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **user_input}
            if not user_input.get(CONF_PASSWORD):
                data[CONF_PASSWORD] = entry.data[CONF_PASSWORD]
            if not (errors := await self._async_test_login(data)):
                self._abort_if_unique_id_mismatch()
                return self.async_update_reload_and_abort(entry, data=data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMA, user_input or _without_password(entry.data)
            ),
            errors=errors,
            description_placeholders=URL_PLACEHOLDERS,
        )

    async def _async_test_login(self, data: dict[str, Any]) -> dict[str, str]:
        """Log in and read the license; on success set the unique id and normalise the URL.

        Returns the form errors (empty on success).
        """
        url, url_problem = normalise_url(data[CONF_URL])
        if url_problem is not None:
            return {CONF_URL: "invalid_url"}
        session = async_get_clientsession(self.hass, verify_ssl=data[CONF_VERIFY_SSL])
        client = PortosClient(
            session,
            url,
            data[CONF_USERNAME],
            data[CONF_PASSWORD],
            data[CONF_DEVICE_NAME],
        )
        try:
            await client.login()
            shop_license = await client.get_license()
        except PortosWrongDeviceTypeError:
            return {CONF_DEVICE_NAME: "wrong_device_type"}
        except PortosAuthenticationError:
            return {"base": "invalid_auth"}
        except (PortosConnectionError, PortosServerError):
            return {"base": "cannot_connect"}
        except Exception:  # noqa: BLE001 - the flow must answer with a form, whatever went wrong
            # The message names no URL or login: either could carry a secret.
            LOGGER.exception("Unexpected error while testing the PORTOS login")
            return {"base": "unknown"}
        # The test session is not needed any more; a failed logout only leaves a token to expire.
        with suppress(PortosError):
            await client.logout()
        data[CONF_URL] = url
        # Only a finished test sets the unique id, and the flow ends right after: no other flow
        # can be holding the shop's id meanwhile, so there is nothing to wait for.
        await self.async_set_unique_id(str(shop_license.shop_id), raise_on_progress=False)
        return {}


class PortosOptionsFlow(OptionsFlowWithReload):
    """Choose the resources the hub subscribes to and how much detail bus events carry.

    Saving reloads the entry (the options decide the hub's subscriptions); reauth and reconfigure
    reload through their own abort helper, so the integration registers no update listener.
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options and save them; HA reloads the entry when they change."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if user_input[CONF_RESOURCES]:
                return self.async_create_entry(data=user_input)
            errors[CONF_RESOURCES] = "no_resources"
        options = self.config_entry.options
        current = user_input or {
            # A name the client no longer knows would make the selector reject the whole form.
            CONF_RESOURCES: [
                name
                for name in options.get(CONF_RESOURCES, DEFAULT_RESOURCES)
                if name in RESOURCE_NAMES
            ],
            CONF_EVENT_DETAIL: options.get(CONF_EVENT_DETAIL, DEFAULT_EVENT_DETAIL),
        }
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, current),
            errors=errors,
        )
