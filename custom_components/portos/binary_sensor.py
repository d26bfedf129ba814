"""The PORTOS hub's connection as a binary sensor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, override

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory

from .entity import PortosEntity

if TYPE_CHECKING:
    from collections.abc import Callable

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

    from .coordinator import PortosConfigEntry, PortosData

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class PortosBinarySensorEntityDescription(BinarySensorEntityDescription):
    """Describes a PORTOS binary sensor and how it reads the coordinator's data."""

    value_fn: Callable[[PortosData], bool]


BINARY_SENSORS: Final[tuple[PortosBinarySensorEntityDescription, ...]] = (
    PortosBinarySensorEntityDescription(
        key="hub_connected",
        translation_key="hub_connected",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: data.hub_connected,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,  # noqa: ARG001
    entry: PortosConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the PORTOS binary sensors."""
    coordinator = entry.runtime_data
    async_add_entities(
        PortosBinarySensorEntity(coordinator, description) for description in BINARY_SENSORS
    )


class PortosBinarySensorEntity(PortosEntity, BinarySensorEntity):
    """A PORTOS binary sensor whose value comes from the coordinator's data."""

    entity_description: PortosBinarySensorEntityDescription

    @property
    @override
    def available(self) -> bool:
        """Stay available while the server is unreachable: this sensor reports exactly that."""
        return True

    @override
    def _shown(self) -> tuple[object, ...]:
        """Return whether the hub is connected (the sensor is always available)."""
        return (self.is_on,)

    @property
    def is_on(self) -> bool:
        """Return whether the hub is connected."""
        return self.entity_description.value_fn(self.coordinator.data)
