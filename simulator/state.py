"""Everything the simulator knows, and the changes that notify hub subscribers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .auth import AuthService
from .hub import ACTION_CREATED, ACTION_DELETED, ACTION_UPDATED, Hub
from .license import LicenseState
from .store import Actor, TicketStore

if TYPE_CHECKING:
    from .config import SimulatorConfig

TICKETS = "tickets"


class SimulatorState:
    """Sessions, tickets, license, health and the hub; it outlives server restarts."""

    def __init__(self, config: SimulatorConfig) -> None:
        """Build a fresh shop from the configuration."""
        self.config = config
        self.auth = AuthService(config)
        self.store = TicketStore()
        self.shop_license = LicenseState(config.shop_id, config.license_days)
        self.hub = Hub(config, self.auth)
        self.health_override: str | None = None

    @property
    def tickets(self) -> dict[str, dict[str, Any]]:
        """Return the tickets by id (live; for assertions)."""
        return self.store.tickets

    def create_ticket(
        self, body: object, actor: Actor, ticket_id: str | None = None
    ) -> dict[str, Any]:
        """Create a ticket and notify (action 1)."""
        ticket = self.store.create(body, actor, ticket_id)
        self.hub.publish_resource_changed(TICKETS, ACTION_CREATED, ticket, actor)
        return ticket

    def update_ticket(self, ticket_id: str, body: object, actor: Actor) -> dict[str, Any]:
        """Update an open ticket and notify (action 2)."""
        ticket = self.store.update(ticket_id, body)
        self.hub.publish_resource_changed(TICKETS, ACTION_UPDATED, ticket, actor)
        return ticket

    def close_ticket(self, ticket_id: str, actor: Actor, payments: object = None) -> dict[str, Any]:
        """Close (pay) a ticket and notify; a close is an update (action 2)."""
        ticket = self.store.close(ticket_id, actor, payments)
        self.hub.publish_resource_changed(TICKETS, ACTION_UPDATED, ticket, actor)
        return ticket

    def delete_ticket(self, ticket_id: str, actor: Actor) -> dict[str, Any]:
        """Delete an open ticket and notify (action 3)."""
        ticket = self.store.delete(ticket_id)
        self.hub.publish_resource_changed(TICKETS, ACTION_DELETED, ticket, actor)
        return ticket

    def activate_license(self) -> dict[str, Any]:
        """Renew the license and notify `portos.licence.activated`."""
        self.shop_license.activate()
        shop_license = self.shop_license.to_dict()
        self.hub.publish_license_activated(shop_license)
        return shop_license
