"""The PORTOS coordinator: login, REST snapshots and polls, live hub notifications fanned out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    CONF_PASSWORD,
    CONF_URL,
    CONF_USERNAME,
    CONF_VERIFY_SSL,
    EVENT_HOMEASSISTANT_STOP,
)
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    DEFAULT_DEVICE_NAME,
    EVENT_LICENSE_ACTIVATED,
    EVENT_RESOURCES_CHANGED,
    TICKETS,
    Dropped,
    EventRouter,
    Health,
    License,
    Notification,
    PortosAuthenticationError,
    PortosClient,
    PortosError,
    PortosEvent,
    PortosHub,
    PortosLicenseExpiredError,
    PortosWrongDeviceTypeError,
    Subscription,
    SubscriptionResource,
    Ticket,
    TicketTracker,
)
from .api.log_once import LogOnce
from .const import (
    ATTR_ACTION,
    ATTR_CREATED_AT,
    ATTR_CURRENCY,
    ATTR_DEVICE,
    ATTR_DEVICE_ID,
    ATTR_EVENT,
    ATTR_RESOURCE,
    ATTR_RESOURCE_ID,
    ATTR_RESOURCES,
    ATTR_TOTAL,
    ATTR_USER,
    ATTR_VERSION,
    CONF_DEVICE_NAME,
    CONF_EVENT_DETAIL,
    CONF_RESOURCES,
    DEFAULT_EVENT_DETAIL,
    DEFAULT_RESOURCES,
    DOMAIN,
    EVENT_DETAIL_FULL,
    EVENT_PORTOS,
    HUB_SETUP_WAIT,
    LOGGER,
    MANUFACTURER,
    MODEL,
    SCAN_INTERVAL,
    SCAN_INTERVAL_HUB_DOWN,
)
from .license import async_delete_license_issue, async_update_license_issue

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from datetime import datetime
    from decimal import Decimal

type PortosConfigEntry = ConfigEntry[PortosCoordinator]


@dataclass(frozen=True, slots=True)
class PortosData:
    """What the entities show; ticket figures are None until a REST snapshot has succeeded.

    Money is in `currency`: the tickets' own, else Home Assistant's configured currency.
    """

    open_tickets: int | None
    tickets_closed_today: int | None
    closed_since: datetime
    shop_license: License
    health: Health
    hub_connected: bool
    currency: str
    sales_today: Decimal | None = None
    sales_by_payment_type: Mapping[str, Decimal] = field(default_factory=dict)
    open_tickets_value: Decimal | None = None
    average_ticket_today: Decimal | None = None


@dataclass(slots=True)
class PortosCounters:
    """What became of the notifications the hub delivered, and of the REST snapshots.

    The hub counts what never reaches the coordinator (malformed input, unknown events).
    """

    accepted: int = 0
    stale: int = 0
    unsubscribed: int = 0
    resyncs: int = 0
    by_event: dict[str, int] = field(default_factory=dict)
    # Tickets whose money could not be read, and whose payments differ from our computed total.
    money_unreadable: int = 0
    money_mismatch: int = 0


class PortosCoordinator(DataUpdateCoordinator[PortosData]):
    """One shop: pushed by the hub, resynced and polled over REST."""

    config_entry: PortosConfigEntry

    def __init__(self, hass: HomeAssistant, entry: PortosConfigEntry) -> None:
        """Create the client, the (not yet started) hub and the ticket state of one entry."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=DOMAIN,
            # Until the hub is live, REST is all there is.
            update_interval=SCAN_INTERVAL_HUB_DOWN,
        )
        # One session for REST and the hub: HA's shared one, with or without TLS verification.
        session = async_get_clientsession(hass, entry.data.get(CONF_VERIFY_SSL, True))
        self.client = PortosClient(
            session,
            entry.data[CONF_URL],
            entry.data[CONF_USERNAME],
            entry.data[CONF_PASSWORD],
            entry.data.get(CONF_DEVICE_NAME, DEFAULT_DEVICE_NAME),
        )
        self.shop_id = entry.unique_id or entry.entry_id
        self.event_detail: str = entry.options.get(CONF_EVENT_DETAIL, DEFAULT_EVENT_DETAIL)
        self.hub = PortosHub(
            session,
            self.client.hub_url,
            self.client.get_token,
            on_notification=self._async_handle_notification,
            on_connection_change=self._async_handle_connection_change,
            on_error=self._async_handle_hub_error,
        )
        self.tracker = TicketTracker(lambda: dt_util.now().date())
        self.router = EventRouter(
            self.tracker,
            entry.options.get(CONF_RESOURCES, DEFAULT_RESOURCES),
            full_detail=self.event_detail == EVENT_DETAIL_FULL,
            local_date=lambda moment: dt_util.as_local(moment).date(),
        )
        self.counters = PortosCounters()
        self.device_id: str | None = None
        self._log_once = LogOnce(LOGGER)
        self._event_listeners: list[Callable[[PortosEvent], None]] = []
        self._license: License | None = None
        self._health: Health | None = None
        self._hub_connected = False
        # Connections made so far, and the one the last ticket snapshot was read on: a snapshot
        # read before a connection's subscriptions were live may miss changes.
        self._hub_connects = 0
        self._synced_connection = 0
        self._unsub_hass_stop: CALLBACK_TYPE | None = None
        # Pushes are applied at once; what they change is published, and their events fired,
        # together once the loop is free (see _async_flush).
        self._flush_scheduled = False
        self._publish_due = False
        self._pending_events: list[PortosEvent] = []
        self._stopped = False

    @property
    def resources(self) -> tuple[str, ...]:
        """Return the resources whose changes fire events (tickets are counted regardless)."""
        return self.router.resources

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """Return what the hub subscribes to: the chosen resources (tickets always) and licenses."""
        names = dict.fromkeys((TICKETS, *self.resources))
        return (
            Subscription(
                EVENT_RESOURCES_CHANGED, tuple(SubscriptionResource(name) for name in names)
            ),
            Subscription(EVENT_LICENSE_ACTIVATED),
        )

    @property
    def resync_due(self) -> bool:
        """Return whether the ticket counts need a REST snapshot (no live hub has covered them)."""
        return not self._hub_connected or self._synced_connection != self._hub_connects

    @property
    def device_info(self) -> DeviceInfo:
        """Return the shop's device, keyed on its PORTOS shopId."""
        return DeviceInfo(
            identifiers={(DOMAIN, self.shop_id)},
            manufacturer=MANUFACTURER,
            model=MODEL,
            name=self.config_entry.title,
            configuration_url=self.client.url,
        )

    @callback
    def async_add_event_listener(self, listener: Callable[[PortosEvent], None]) -> CALLBACK_TYPE:
        """Call `listener` with every accepted PORTOS event until the returned callable runs."""
        self._event_listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in self._event_listeners:
                self._event_listeners.remove(listener)

        return remove

    # --- lifecycle -------------------------------------------------------------------------------

    @override
    async def _async_setup(self) -> None:
        """Log in, register the shop's device and start the hub for the entry's lifetime.

        The hub gets a moment to connect, so that the first snapshot is read on a live
        subscription and need not be read again when it connects.
        """
        try:
            await self.client.login()
        except PortosError as err:
            raise _ha_error(err, failed_key="cannot_connect") from err
        entry = self.config_entry
        # From here on every way out (a failed setup, an unload) stops the hub and logs out.
        entry.async_on_unload(self.async_stop)
        self._unsub_hass_stop = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_hass_stop
        )
        entry.async_on_unload(
            async_track_time_change(self.hass, self._async_midnight, hour=0, minute=0, second=0)
        )
        self.device_id = (
            dr.async_get(self.hass)
            .async_get_or_create(config_entry_id=entry.entry_id, **self.device_info)
            .id
        )
        for subscription in self.subscriptions:
            await self.hub.subscribe(subscription)
        await self.hub.start()
        await self.hub.wait_connected(HUB_SETUP_WAIT)

    async def async_stop(self) -> None:
        """Stop the hub, withdraw the license issue and end the server session; runs once."""
        if self._stopped:
            return
        self._stopped = True
        if self._unsub_hass_stop is not None:
            self._unsub_hass_stop()
            self._unsub_hass_stop = None
        self._event_listeners.clear()
        await self.hub.stop()
        async_delete_license_issue(self.hass, self.shop_id)
        try:
            await self.client.logout()
        except PortosError as err:
            # The server cannot be reached: its token expires by itself.
            LOGGER.debug("Logging out of PORTOS failed: %s", err)

    async def _async_hass_stop(self, _event: Event) -> None:
        """Stop the hub when Home Assistant stops (entries are not unloaded then)."""
        # The bus already dropped this one-time listener; removing it again would log an error.
        self._unsub_hass_stop = None
        await self.async_stop()

    # --- REST ------------------------------------------------------------------------------------

    @override
    async def _async_update_data(self) -> PortosData:
        """Poll health and license; read the tickets when the hub has not covered them."""
        try:
            health = await self.client.get_health()
            shop_license = await self.client.get_license()
            if self.resync_due:
                await self._async_resync()
        except PortosError as err:
            raise _ha_error(err, failed_key="update_failed") from err
        self._health = health
        self._license = shop_license
        async_update_license_issue(self.hass, self.shop_id, shop_license)
        return self._build()

    async def _async_resync(self) -> None:
        """Replace the ticket state with the server's; pushes meanwhile are replayed on top."""
        connection = self._hub_connects if self._hub_connected else None
        day = dt_util.now().date()
        self.tracker.begin_resync()
        try:
            closed = await self.client.get_tickets_closed_since(dt_util.start_of_local_day(day))
            tickets = await self.client.get_open_tickets()
        except PortosLicenseExpiredError as err:
            self.tracker.cancel_resync()
            # An expired license blocks ticket queries but not the license or health: keep the
            # entry up to show that, and try the tickets again at the next poll.
            self._log_once("license_expired", "PORTOS refuses ticket queries: %s", err)
            return
        except BaseException:
            self.tracker.cancel_resync()
            raise
        self._check_money(tickets)
        self._check_money(closed)
        current = self.tracker.finish_resync(
            day,
            {t.id: t.version for t in tickets if not t.closed},
            {t.id: t.version for t in closed},
            {t.id: t for t in (*closed, *tickets)},
        )
        self.counters.resyncs += 1
        # Local midnight passed during the requests: the closed list was yesterday's, so the
        # next poll asks for today's (pushes keep counting today's closes meanwhile).
        if current and connection is not None:
            self._synced_connection = connection

    @override
    @callback
    def async_set_updated_data(self, data: PortosData) -> None:
        """Publish pushed data without touching the poll timer or the availability.

        The base class reschedules the poll on every push, so a busy shop would never be polled;
        and a push says nothing about REST, which decides availability.
        """
        self.data = data
        self.async_update_listeners()

    def _build(self) -> PortosData:
        """Return the entities' view of the current state."""
        if TYPE_CHECKING:
            assert self._license is not None
            assert self._health is not None
        tracker = self.tracker
        data = PortosData(
            open_tickets=None,
            tickets_closed_today=None,
            closed_since=dt_util.start_of_local_day(),
            shop_license=self._license,
            health=self._health,
            hub_connected=self._hub_connected,
            currency=tracker.currency or self.hass.config.currency,
        )
        if not tracker.synced:
            return data
        return replace(
            data,
            open_tickets=tracker.open_count,
            tickets_closed_today=tracker.closed_today,
            sales_today=tracker.sales_today,
            sales_by_payment_type=tracker.sales_by_payment_type,
            open_tickets_value=tracker.open_value,
            average_ticket_today=tracker.average_today,
        )

    def _check_money(self, tickets: Iterable[Ticket]) -> None:
        """Count and log (once per kind) tickets whose money is unreadable or does not add up."""
        for ticket in tickets:
            if (error := ticket.money_error) is not None:
                self.counters.money_unreadable += 1
                self._log_once(
                    "money_unreadable",
                    "Leaving PORTOS ticket %s out of the sales figures: %s",
                    ticket.id,
                    error,
                )
            elif (money := ticket.money) is not None and money.mismatch:
                self.counters.money_mismatch += 1
                self._log_once(
                    "money_mismatch",
                    "PORTOS ticket %s was paid %s, %s more than its items add up to by our "
                    "reading of the PORTOS ticket maths; sales count what was paid",
                    ticket.id,
                    money.paid,
                    money.mismatch,
                )

    @callback
    def _async_publish(self) -> None:
        """Push the current state to the entities with the next flush, once health is known."""
        if self._health is not None:
            self._publish_due = True
            self._async_schedule_flush()

    @callback
    def _async_schedule_flush(self) -> None:
        """Flush once the pushes at hand are applied, when the loop is free again."""
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.hass.loop.call_soon(self._async_flush)

    @callback
    def _async_flush(self) -> None:
        """Publish the state, then fire the events of the pushes applied since the last flush.

        A busy server sends many notifications at once; each is applied as it comes, but the
        entities are written once for all of them instead of once each. The state goes first, so
        an automation started by an event already sees what that event changed.
        """
        self._flush_scheduled = False
        events, self._pending_events = self._pending_events, []
        if self._stopped:
            return
        if self._publish_due:
            self._publish_due = False
            self.async_set_updated_data(self._build())
        for event in events:
            self.hass.bus.async_fire(EVENT_PORTOS, self._bus_data(event))
            for listener in list(self._event_listeners):
                listener(event)

    @callback
    def _async_midnight(self, _now: datetime) -> None:
        """Start a new day's closed count (and its last_reset) at local midnight."""
        self.tracker.roll_day()
        self._async_publish()

    # --- the hub ---------------------------------------------------------------------------------

    @callback
    def _async_handle_connection_change(self, connected: bool) -> None:
        """Follow the hub: poll REST often while it is down, and read what it missed once back."""
        self._hub_connected = connected
        self.update_interval = SCAN_INTERVAL if connected else SCAN_INTERVAL_HUB_DOWN
        if connected:
            self._hub_connects += 1
        if self._health is None:
            # No refresh has succeeded yet: the first one reads everything anyway.
            return
        self._async_publish()
        # Read now: changes made while the hub was away are only in REST, and a lost hub may
        # mean a lost server, which availability must show.
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} refresh {self.shop_id}"
        )

    @callback
    def _async_handle_hub_error(self, err: PortosError) -> None:
        """Start reauthentication when the server refuses even a fresh login's token."""
        if isinstance(err, PortosAuthenticationError):
            LOGGER.warning("The PORTOS hub rejected the credentials; starting reauthentication")
            self.config_entry.async_start_reauth(self.hass)
            return
        # The hub has counted and logged it (once); nothing else follows from it here.
        LOGGER.debug("PORTOS hub problem: %s", err)

    @callback
    def _async_handle_notification(self, notification: Notification) -> None:
        """Route one notification: update the state now; publish it and fire its event soon."""
        routed = self.router.route(notification)
        if routed.license is not None:
            self._license = routed.license
            async_update_license_issue(self.hass, self.shop_id, routed.license)
        if routed.ticket is not None:
            self._check_money((routed.ticket,))
        if routed.tickets_changed or routed.license is not None:
            self._async_publish()
        if routed.dropped is Dropped.STALE:
            self.counters.stale += 1
        elif routed.dropped is Dropped.UNSUBSCRIBED:
            self.counters.unsubscribed += 1
        if routed.event is None:
            # Unknown events are counted (and logged once) by the hub.
            return
        event = routed.event
        self.counters.accepted += 1
        self.counters.by_event[event.event] = self.counters.by_event.get(event.event, 0) + 1
        self._pending_events.append(event)
        self._async_schedule_flush()

    def _bus_data(self, event: PortosEvent) -> dict[str, Any]:
        """Return the data of the `portos_event` bus event (a contract automations rely on)."""
        return {
            ATTR_DEVICE_ID: self.device_id,
            ATTR_EVENT: event.event,
            ATTR_RESOURCE: event.resource,
            ATTR_ACTION: event.action,
            ATTR_RESOURCE_ID: event.resource_id,
            ATTR_VERSION: event.version,
            ATTR_USER: event.user,
            ATTR_DEVICE: event.device,
            ATTR_CREATED_AT: event.created_at.isoformat(),
            ATTR_RESOURCES: event.resources,
            ATTR_TOTAL: None if event.total is None else float(event.total),
            ATTR_CURRENCY: event.currency,
        }


def _ha_error(err: PortosError, *, failed_key: str) -> ConfigEntryAuthFailed | UpdateFailed:
    """Return what Home Assistant makes of a client error: a refused login asks for reauth."""
    if isinstance(err, PortosWrongDeviceTypeError):
        return ConfigEntryAuthFailed(
            translation_domain=DOMAIN,
            translation_key="wrong_device_type",
            translation_placeholders={"device_name": err.device_name, "env_name": err.env_name},
        )
    if isinstance(err, PortosAuthenticationError):
        return ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="invalid_auth")
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key=failed_key,
        translation_placeholders={"error": str(err)},
    )
