"""The PORTOS coordinator: REST snapshot and health poll, live hub notifications, PORTOS events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final, override

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_VERIFY_SSL, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.event import async_track_time_change
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .api import (
    EVENT_LICENSE_ACTIVATED,
    EVENT_RESOURCES_CHANGED,
    TICKETS,
    Health,
    License,
    Notification,
    PortosAuthenticationError,
    PortosClient,
    PortosError,
    PortosHub,
    PortosLicenseExpiredError,
    PortosParseError,
    ResourceAction,
    ResourceChangedPayload,
    Subscription,
    SubscriptionResource,
    Ticket,
)
from .const import (
    ACTION_ACTIVATED,
    ATTR_ACTION,
    ATTR_CREATED_AT,
    ATTR_DEVICE,
    ATTR_DEVICE_ID,
    ATTR_EVENT,
    ATTR_RESOURCE,
    ATTR_RESOURCE_ID,
    ATTR_RESOURCES,
    ATTR_USER,
    ATTR_VERSION,
    CONF_EVENT_DETAIL,
    CONF_RESOURCES,
    DEFAULT_EVENT_DETAIL,
    DEFAULT_RESOURCES,
    DOMAIN,
    EVENT_DETAIL_FULL,
    EVENT_PORTOS,
    HEALTH_SCAN_INTERVAL,
    LICENSE_EXPIRING_DAYS,
    LICENSE_REPAIR_DAYS,
    LICENSE_RESOURCE,
    LOGGER,
)
from .tickets import TicketTracker, VersionLog

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from homeassistant.helpers.device_registry import DeviceInfo

LICENSE_VALID: Final = "valid"
LICENSE_EXPIRING: Final = "expiring"
LICENSE_EXPIRED: Final = "expired"


def license_status(shop_license: License) -> str:
    """Return `valid`, `expiring` (fewer than LICENSE_EXPIRING_DAYS left) or `expired`."""
    if shop_license.is_expired or shop_license.remaining_days < 0:
        return LICENSE_EXPIRED
    if shop_license.remaining_days < LICENSE_EXPIRING_DAYS:
        return LICENSE_EXPIRING
    return LICENSE_VALID


def aware(value: datetime) -> datetime:
    """Return a timestamp with a zone; PORTOS writes UTC, so a naive one is taken as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PortosEvent:
    """One accepted PORTOS notification, classified, as the bus event and listeners get it."""

    event: str
    resource: str
    action: str
    resource_id: str | None
    version: int | None
    user: str | None
    device: str | None
    created_at: datetime
    resources: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class PortosData:
    """What the entities show; counts are None until a REST snapshot has succeeded."""

    open_tickets: int | None
    tickets_closed_today: int | None
    closed_since: datetime
    shop_license: License
    health: Health
    hub_connected: bool


@dataclass(slots=True)
class PortosCounters:
    """Notification bookkeeping shown in diagnostics."""

    accepted: int = 0
    stale: int = 0
    unsubscribed: int = 0
    unknown_events: int = 0
    malformed: int = 0
    hub_errors: int = 0
    resyncs: int = 0
    by_event: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class PortosRuntimeData:
    """What a loaded config entry holds."""

    client: PortosClient
    hub: PortosHub
    coordinator: PortosCoordinator


type PortosConfigEntry = ConfigEntry[PortosRuntimeData]


async def async_logout_quietly(client: PortosClient) -> None:
    """End a server session, ignoring a server that cannot be reached (the token then expires)."""
    try:
        await client.logout()
    except PortosError as err:
        LOGGER.debug("Logging out of PORTOS failed: %s", err)


def _summary(resource: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """Return the compact form of a changed object that bus events carry by default."""
    summary = {"id": obj.get("id"), "name": obj.get("name"), "version": obj.get("_v")}
    if resource == TICKETS:
        summary["open_date"] = obj.get("openDate")
        summary["close_date"] = obj.get("closeDate")
    return summary


def _id_text(value: object) -> str | None:
    """Return an object's id as the notification's `i` carries it (text), None if it has none."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else None


def _license_summary(shop_license: License) -> dict[str, Any]:
    """Return the compact form of a license that bus events carry by default."""
    expiration = shop_license.expiration_time
    return {
        "shopId": shop_license.shop_id,
        "expirationTime": None if expiration is None else expiration.isoformat(),
        "remainingDays": shop_license.remaining_days,
        "isExpired": shop_license.is_expired,
    }


class PortosCoordinator(DataUpdateCoordinator[PortosData]):
    """Holds the shop's state: pushed by the hub, resynced from REST, health polled."""

    config_entry: PortosConfigEntry

    def __init__(self, hass: HomeAssistant, entry: PortosConfigEntry, client: PortosClient) -> None:
        """Create the coordinator and its (not yet started) hub for one config entry."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=DOMAIN,
            update_interval=HEALTH_SCAN_INTERVAL,
        )
        self.client = client
        self.shop_id = entry.unique_id or entry.entry_id
        self.resources: tuple[str, ...] = tuple(
            entry.options.get(CONF_RESOURCES, DEFAULT_RESOURCES)
        )
        self.event_detail: str = entry.options.get(CONF_EVENT_DETAIL, DEFAULT_EVENT_DETAIL)
        self.hub = PortosHub(
            async_get_clientsession(hass, entry.data.get(CONF_VERIFY_SSL, True)),
            client.hub_url,
            client.get_token,
            on_notification=self._async_handle_notification,
            on_connection_change=self._async_handle_connection_change,
            on_error=self._async_handle_hub_error,
        )
        self.tracker = TicketTracker(lambda: dt_util.now().date())
        self.counters = PortosCounters()
        self._versions = VersionLog()
        self._event_listeners: list[Callable[[PortosEvent], None]] = []
        self._license: License | None = None
        self._health: Health | None = None
        self._hub_connected = False
        # A REST resync is due at start and after the hub was down (changes were missed).
        self._resync_needed = True
        # Ticket notifications received while a resync is in flight, replayed on the snapshot.
        self._journal: list[tuple[ResourceAction, str, int | None, bool, date | None]] | None = None
        self._logged: set[str] = set()
        self._device_id: str | None = None
        self._unsub_hass_stop: CALLBACK_TYPE | None = None
        self._stopped = False

    # --- public ----------------------------------------------------------------------------------

    @property
    def device_id(self) -> str | None:
        """Return the device registry id of the shop's device, once it is registered."""
        return self._device_id

    @callback
    def async_register_device(self, device_info: DeviceInfo) -> None:
        """Register the shop's device now, so bus events carry its id from the first one."""
        device = dr.async_get(self.hass).async_get_or_create(
            config_entry_id=self.config_entry.entry_id, **device_info
        )
        self._device_id = device.id

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

    @callback
    def async_add_event_listener(self, listener: Callable[[PortosEvent], None]) -> CALLBACK_TYPE:
        """Call `listener` with every accepted PORTOS event until the returned callable runs."""
        self._event_listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in self._event_listeners:
                self._event_listeners.remove(listener)

        return remove

    async def async_start(self) -> None:
        """Subscribe and start the hub, and arm the midnight reset, for the entry's lifetime."""
        entry = self.config_entry
        for subscription in self.subscriptions:
            await self.hub.subscribe(subscription)
        entry.async_on_unload(
            async_track_time_change(self.hass, self._async_midnight, hour=0, minute=0, second=0)
        )
        self._unsub_hass_stop = self.hass.bus.async_listen_once(
            EVENT_HOMEASSISTANT_STOP, self._async_hass_stop
        )
        entry.async_on_unload(self.async_stop)
        await self.hub.start()

    async def async_stop(self) -> None:
        """Stop the hub and end the server session; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        if self._unsub_hass_stop is not None:
            self._unsub_hass_stop()
            self._unsub_hass_stop = None
        self._event_listeners.clear()
        await self.hub.stop()
        ir.async_delete_issue(self.hass, DOMAIN, self.license_issue_id)
        await async_logout_quietly(self.client)

    @property
    def license_issue_id(self) -> str:
        """Return the repair issue id of this shop's license."""
        return f"license_{self.shop_id}"

    # --- polling and resync ----------------------------------------------------------------------

    @override
    async def _async_update_data(self) -> PortosData:
        """Poll health and license; resync tickets when pushes were or are being missed."""
        try:
            self._health = await self.client.get_health()
            self._license = await self.client.get_license()
            # While the hub is down nothing is pushed: every poll catches the counts up instead.
            if self._resync_needed or not self._hub_connected:
                await self._async_resync()
        except PortosAuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="invalid_auth"
            ) from err
        except PortosError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        self._async_update_license_issue(self._license)
        return self._build()

    async def _async_resync(self) -> None:
        """Replace the ticket state with the server's, replaying pushes that raced the fetch."""
        self._journal = []
        try:
            # Closed tickets are kept by id, so a close in both replies, or in one reply and the
            # journal, counts once; one in neither is in the journal (replayed below).
            day = dt_util.now().date()
            closed = await self.client.get_tickets_closed_since(dt_util.start_of_local_day(day))
            tickets = await self.client.get_open_tickets()
        except PortosLicenseExpiredError as err:
            # An expired license blocks ticket queries but not the license or health: keep the
            # entry up to show that, and try the tickets again at the next poll.
            self._log_once("license_expired", "PORTOS refuses ticket queries: %s", err)
            return
        else:
            current = self.tracker.resync(
                day,
                {t.id: t.version for t in tickets if not t.closed},
                {t.id: t.version for t in closed},
            )
            for action, ticket_id, version, was_closed, closed_on in self._journal:
                self.tracker.replay(
                    action, ticket_id, version, closed=was_closed, closed_on=closed_on
                )
            # Local midnight passed during the requests: the closed list was yesterday's, so the
            # next poll asks for today's (pushes keep counting today's closes meanwhile).
            self._resync_needed = not current
            self.counters.resyncs += 1
        finally:
            self._journal = None

    @override
    @callback
    def async_set_updated_data(self, data: PortosData) -> None:
        """Publish pushed data without touching the health-poll timer or the availability.

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
        synced = self.tracker.synced
        return PortosData(
            open_tickets=self.tracker.open_count if synced else None,
            tickets_closed_today=self.tracker.closed_today if synced else None,
            closed_since=dt_util.start_of_local_day(),
            shop_license=self._license,
            health=self._health,
            hub_connected=self._hub_connected,
        )

    @callback
    def _async_publish(self) -> None:
        """Push the current state to the entities (only called once the first refresh is done)."""
        self.async_set_updated_data(self._build())

    @callback
    def _async_refresh_soon(self) -> None:
        """Refresh from REST now, in a task the entry cancels on unload."""
        self.config_entry.async_create_background_task(
            self.hass, self.async_refresh(), f"{DOMAIN} resync {self.shop_id}"
        )

    @callback
    def _async_midnight(self, _now: datetime) -> None:
        """Start a new day's closed count (and its last_reset) at local midnight."""
        self.tracker.roll_day()
        self._async_publish()

    async def _async_hass_stop(self, _event: Event) -> None:
        """Stop the hub's threads when Home Assistant stops (entries are not unloaded then)."""
        # The bus already dropped this one-time listener; removing it again would log an error.
        self._unsub_hass_stop = None
        await self.async_stop()

    # --- the license -----------------------------------------------------------------------------

    @callback
    def _async_update_license_issue(self, shop_license: License) -> None:
        """Raise the license repair issue near or past expiry; withdraw it once renewed."""
        status = license_status(shop_license)
        if status != LICENSE_EXPIRED and shop_license.remaining_days > LICENSE_REPAIR_DAYS:
            ir.async_delete_issue(self.hass, DOMAIN, self.license_issue_id)
            return
        expired = status == LICENSE_EXPIRED
        expiration = shop_license.expiration_time
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            self.license_issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR if expired else ir.IssueSeverity.WARNING,
            translation_key="license_expired" if expired else "license_expiring",
            translation_placeholders={
                "shop_id": str(shop_license.shop_id),
                "days": str(max(shop_license.remaining_days, 0)),
                "expiration": "?"
                if expiration is None
                else dt_util.as_local(aware(expiration)).date().isoformat(),
            },
        )

    # --- the hub ---------------------------------------------------------------------------------

    @callback
    def _async_handle_connection_change(self, connected: bool) -> None:
        """Track the hub; after every (re)connect, and on a loss, check the server over REST."""
        self._hub_connected = connected
        # Whatever happened while the hub was away (or before its first connect) is only in REST.
        self._resync_needed = True
        self._async_publish()
        self._async_refresh_soon()

    @callback
    def _async_handle_hub_error(self, err: PortosError) -> None:
        """Count hub errors; a token the server refuses even after a fresh login needs reauth."""
        self.counters.hub_errors += 1
        if isinstance(err, PortosAuthenticationError):
            LOGGER.warning("The PORTOS hub rejected the credentials; starting reauthentication")
            self.config_entry.async_start_reauth(self.hass)
            return
        # The hub has logged it already (once); only the count is the coordinator's business.
        LOGGER.debug("PORTOS hub problem: %s", err)

    @callback
    def _async_handle_notification(self, notification: Notification) -> None:
        """Accept one hub notification: update the state, fire the bus event, call listeners."""
        if notification.event == EVENT_RESOURCES_CHANGED and isinstance(
            notification.payload, ResourceChangedPayload
        ):
            event = self._async_resources_changed(notification, notification.payload)
        elif notification.event == EVENT_LICENSE_ACTIVATED and isinstance(
            notification.payload, License
        ):
            event = self._async_license_activated(notification, notification.payload)
        else:
            # The hub warns once per unknown event name; counting is enough here.
            self.counters.unknown_events += 1
            LOGGER.debug("Ignoring PORTOS notification %r", notification.event[:80])
            return
        if event is None:
            return
        self.counters.accepted += 1
        self.counters.by_event[event.event] = self.counters.by_event.get(event.event, 0) + 1
        self._async_fire(event)

    @callback
    def _async_resources_changed(
        self, notification: Notification, payload: ResourceChangedPayload
    ) -> PortosEvent | None:
        """Classify a resource change; tickets also move the counts. None when not accepted."""
        resource = payload.resource
        resource_id = payload.info.id
        version = payload.info.version
        if resource == TICKETS:
            try:
                ticket = self._ticket_of(payload)
            except PortosParseError as err:
                self.counters.malformed += 1
                self._log_once("malformed_ticket", "Ignoring a malformed PORTOS ticket: %s", err)
                return None
            closed = ticket is not None and ticket.closed
            closed_on = (
                None
                if ticket is None or ticket.close_date is None
                else dt_util.as_local(aware(ticket.close_date)).date()
            )
            if version is None and ticket is not None:
                version = ticket.version
            if self._journal is not None:
                self._journal.append((payload.action, resource_id, version, closed, closed_on))
            change = self.tracker.apply(
                payload.action, resource_id, version, closed=closed, closed_on=closed_on
            )
            if change is None:
                self.counters.stale += 1
                return None
            action = str(change)
            self._async_publish()
        elif resource not in self.resources:
            self.counters.unsubscribed += 1
            return None
        elif not self._versions.accept(f"{resource}/{resource_id}", version):
            self.counters.stale += 1
            return None
        else:
            action = payload.action.wire_name
        if resource not in self.resources:
            # Tickets are always subscribed for the counts, but only chosen resources fire events.
            self.counters.unsubscribed += 1
            return None
        user = payload.user
        return PortosEvent(
            event=notification.event,
            resource=resource,
            action=action,
            resource_id=resource_id,
            version=version,
            user=None if user is None else user.user,
            device=None if user is None else user.device,
            created_at=aware(notification.created_at),
            resources=[self._detail(resource, obj) for obj in payload.resources],
        )

    @staticmethod
    def _ticket_of(payload: ResourceChangedPayload) -> Ticket | None:
        """Return the changed ticket: the payload's object with the id, else its first one.

        Only that object is parsed: a malformed neighbour must not drop the change itself.
        """
        objects: Sequence[Mapping[str, Any]] = payload.resources
        if not objects:
            return None
        wanted = payload.info.id
        obj = next((o for o in objects if _id_text(o.get("id")) == wanted), objects[0])
        return Ticket.from_dict(obj)

    def _detail(self, resource: str, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Return an object as the entry's `event_detail` option asks."""
        if self.event_detail == EVENT_DETAIL_FULL:
            return dict(obj)
        return _summary(resource, obj)

    @callback
    def _async_license_activated(
        self, notification: Notification, shop_license: License
    ) -> PortosEvent:
        """Take the new license from the event, update entities and the repair issue."""
        self._license = shop_license
        self._async_update_license_issue(shop_license)
        self._async_publish()
        return PortosEvent(
            event=notification.event,
            resource=LICENSE_RESOURCE,
            action=ACTION_ACTIVATED,
            resource_id=str(shop_license.shop_id),
            version=None,
            user=None,
            device=None,
            created_at=aware(notification.created_at),
            resources=[
                # The parser accepted `p` as this license, so it is the server's object as sent.
                dict(notification.raw_payload)
                if self.event_detail == EVENT_DETAIL_FULL
                else _license_summary(shop_license)
            ],
        )

    @callback
    def _async_fire(self, event: PortosEvent) -> None:
        """Fire `portos_event` on the bus, then call the event listeners."""
        self.hass.bus.async_fire(
            EVENT_PORTOS,
            {
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
            },
        )
        for listener in list(self._event_listeners):
            listener(event)

    def _log_once(self, key: str, message: str, *args: object) -> None:
        """Log a problem as a warning the first time, then at debug level."""
        if key in self._logged:
            LOGGER.debug(message, *args)
            return
        self._logged.add(key)
        LOGGER.warning(message, *args)
