"""The base of every PORTOS entity: one device per shop, names from translations."""

from __future__ import annotations

from typing import TYPE_CHECKING, override

from homeassistant.core import callback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import PortosCoordinator

if TYPE_CHECKING:
    from homeassistant.helpers.entity import EntityDescription


class PortosEntity(CoordinatorEntity[PortosCoordinator]):
    """An entity of a PORTOS shop, described by an entity description.

    The coordinator publishes on every accepted push (thousands a second at a busy moment); an
    entity writes its state only when what it shows has changed.
    """

    _attr_has_entity_name = True
    _last_shown: tuple[object, ...] | None = None

    def __init__(self, coordinator: PortosCoordinator, description: EntityDescription) -> None:
        """Bind the entity to the coordinator; the unique id is the shopId and the key."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.shop_id}_{description.key}"
        self._attr_device_info = coordinator.device_info

    def _shown(self) -> tuple[object, ...]:
        """Return what the entity shows of the coordinator's data (its availability here)."""
        return (self.available,)

    @override
    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state when what the entity shows has changed since it last wrote it."""
        shown = self._shown()
        if shown != self._last_shown:
            self._last_shown = shown
            self.async_write_ha_state()
