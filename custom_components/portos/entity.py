"""The base of every PORTOS entity: one device per shop, names from translations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import PortosCoordinator

if TYPE_CHECKING:
    from homeassistant.helpers.entity import EntityDescription


class PortosEntity(CoordinatorEntity[PortosCoordinator]):
    """An entity of a PORTOS shop, described by an entity description."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: PortosCoordinator, description: EntityDescription) -> None:
        """Bind the entity to the coordinator; the unique id is the shopId and the key."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.shop_id}_{description.key}"
        self._attr_device_info = coordinator.device_info
