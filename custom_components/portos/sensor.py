"""Sensors of a PORTOS shop: ticket counts, the license and the server's health."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory

from .api import HealthStatus
from .entity import PortosEntity
from .license import LICENSE_EXPIRED, LICENSE_EXPIRING, LICENSE_VALID, license_status

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from decimal import Decimal

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
    from homeassistant.helpers.typing import StateType

    from .coordinator import PortosConfigEntry, PortosData

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PortosSensorEntityDescription(SensorEntityDescription):
    """Describes a PORTOS sensor and how it reads the coordinator's data.

    A monetary sensor's unit is the shop's currency, known only from its data.
    """

    value_fn: Callable[[PortosData], StateType | Decimal | datetime]
    last_reset_fn: Callable[[PortosData], datetime | None] = lambda _: None
    attributes_fn: Callable[[PortosData], dict[str, Any] | None] = lambda _: None


def _by_payment_type(data: PortosData) -> dict[str, Any]:
    """Return today's takings by payment type (cash, card, ...) as attributes."""
    return {key: float(amount) for key, amount in sorted(data.sales_by_payment_type.items())}


SENSORS: Final[tuple[PortosSensorEntityDescription, ...]] = (
    PortosSensorEntityDescription(
        key="open_tickets",
        translation_key="open_tickets",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: data.open_tickets,
    ),
    PortosSensorEntityDescription(
        key="tickets_closed_today",
        translation_key="tickets_closed_today",
        # A total that restarts at local midnight; a REST resync may also correct it downwards.
        state_class=SensorStateClass.TOTAL,
        value_fn=lambda data: data.tickets_closed_today,
        last_reset_fn=lambda data: data.closed_since,
    ),
    PortosSensorEntityDescription(
        key="sales_today",
        translation_key="sales_today",
        device_class=SensorDeviceClass.MONETARY,
        # What closed tickets took since local midnight: a daily total, like the count.
        state_class=SensorStateClass.TOTAL,
        suggested_display_precision=2,
        value_fn=lambda data: data.sales_today,
        last_reset_fn=lambda data: data.closed_since,
        attributes_fn=_by_payment_type,
    ),
    PortosSensorEntityDescription(
        key="open_tickets_value",
        translation_key="open_tickets_value",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda data: data.open_tickets_value,
    ),
    PortosSensorEntityDescription(
        key="average_ticket_today",
        translation_key="average_ticket_today",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda data: data.average_ticket_today,
    ),
    PortosSensorEntityDescription(
        key="license_status",
        translation_key="license_status",
        device_class=SensorDeviceClass.ENUM,
        options=[LICENSE_VALID, LICENSE_EXPIRING, LICENSE_EXPIRED],
        value_fn=lambda data: license_status(data.shop_license),
    ),
    PortosSensorEntityDescription(
        key="license_expiration",
        translation_key="license_expiration",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda data: data.shop_license.expiration_time,
    ),
    PortosSensorEntityDescription(
        key="health_status",
        translation_key="health_status",
        device_class=SensorDeviceClass.ENUM,
        entity_category=EntityCategory.DIAGNOSTIC,
        options=[status.value for status in HealthStatus],
        value_fn=lambda data: data.health.status.value,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: PortosConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the PORTOS sensors."""
    coordinator = entry.runtime_data
    async_add_entities(PortosSensorEntity(coordinator, description) for description in SENSORS)


class PortosSensorEntity(PortosEntity, SensorEntity):
    """A PORTOS sensor whose value comes from the coordinator's data."""

    entity_description: PortosSensorEntityDescription

    @override
    def _shown(self) -> tuple[object, ...]:
        """Return the availability, value, unit, last reset and attributes."""
        return (
            self.available,
            self.native_value,
            self.native_unit_of_measurement,
            self.last_reset,
            self.extra_state_attributes,
        )

    @property
    def native_value(self) -> StateType | Decimal | datetime:
        """Return the sensor's value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Return the shop's currency for money, else the description's unit."""
        if self.entity_description.device_class is SensorDeviceClass.MONETARY:
            return self.coordinator.data.currency
        return super().native_unit_of_measurement

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the description's attributes (today's takings by payment type)."""
        return self.entity_description.attributes_fn(self.coordinator.data)

    @property
    def last_reset(self) -> datetime | None:
        """Return when a daily total last started from zero."""
        return self.entity_description.last_reset_fn(self.coordinator.data)
