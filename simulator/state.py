"""Everything the simulator knows, and the changes that notify hub subscribers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .auth import AuthService
from .hub import ACTION_CREATED, ACTION_DELETED, ACTION_UPDATED, Hub
from .journal import (
    Journal,
    Record,
    deleted_record,
    license_record,
    receipt_record,
    ticket_record,
)
from .license import LicenseState
from .store import Actor, TicketStore

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .config import SimulatorConfig

_LOGGER = logging.getLogger(__name__)

TICKETS = "tickets"


class SimulatorState:
    """Sessions, tickets, license, health and the hub; it outlives server restarts.

    With a state file (`config.state_file`) the tickets, their versions, the receipt numbers and
    the license are also kept on disk: every change is journaled before it is answered or
    notified, and a new SimulatorState on the same file starts where the last one ended.
    Sessions and tokens never are: each SimulatorState signs with a new key.
    """

    def __init__(self, config: SimulatorConfig) -> None:
        """Build the shop from the configuration, or from its state file when it has one."""
        self.config = config
        self.auth = AuthService(config)
        self.store = TicketStore()
        self.shop_license = LicenseState(config.shop_id, config.license_days)
        self.hub = Hub(config, self.auth)
        self.health_override: str | None = None
        self.journal: Journal | None = None
        if config.state_file is not None:
            self._restore(Journal(Path(config.state_file)))

    def _restore(self, journal: Journal) -> None:
        """Load the state file, take what it holds over the configuration, and compact it."""
        stored = journal.load(self._records)
        self.store.tickets.update(stored.tickets)
        self.store.last_receipt = stored.last_receipt
        if stored.license is not None:
            try:
                self.shop_license = LicenseState.from_record(stored.license)
            except (KeyError, TypeError, ValueError) as err:
                _LOGGER.warning("The state file's license is unreadable (%r); using a new one", err)
            if self.shop_license.shop_id != self.config.shop_id:
                _LOGGER.warning(
                    "The state file's shop %s wins over --shop-id %s",
                    self.shop_license.shop_id,
                    self.config.shop_id,
                )
        journal.compact()
        self.journal = journal
        _LOGGER.info(
            "State file %s: %d tickets, last receipt %d",
            journal.path,
            len(self.store.tickets),
            self.store.last_receipt,
        )

    def close(self) -> None:
        """Close the state file, if there is one (a later change opens it again)."""
        if self.journal is not None:
            self.journal.close()

    def _records(self) -> Iterator[Record]:
        """Return the records of the whole state, for a compacted state file."""
        yield license_record(self.shop_license.to_record())
        yield receipt_record(self.store.last_receipt)
        for ticket in self.store.tickets.values():
            yield ticket_record(ticket)

    def _journal(self, *records: Record) -> None:
        """Keep a change on disk (with a state file) before anyone hears of it."""
        if self.journal is not None:
            self.journal.append(*records)
            self.journal.maybe_compact(len(self.store.tickets) + 2)

    @property
    def tickets(self) -> dict[str, dict[str, Any]]:
        """Return the tickets by id (live; for assertions)."""
        return self.store.tickets

    def create_ticket(
        self, body: object, actor: Actor, ticket_id: str | None = None
    ) -> dict[str, Any]:
        """Create a ticket and notify (action 1)."""
        ticket = self.store.create(body, actor, ticket_id)
        self._journal(ticket_record(ticket))
        self.hub.publish_resource_changed(TICKETS, ACTION_CREATED, ticket, actor)
        return ticket

    def update_ticket(self, ticket_id: str, body: object, actor: Actor) -> dict[str, Any]:
        """Update an open ticket and notify (action 2)."""
        ticket = self.store.update(ticket_id, body)
        self._journal(ticket_record(ticket))
        self.hub.publish_resource_changed(TICKETS, ACTION_UPDATED, ticket, actor)
        return ticket

    def close_ticket(self, ticket_id: str, actor: Actor, payments: object = None) -> dict[str, Any]:
        """Close (pay) a ticket and notify; a close is an update (action 2)."""
        ticket = self.store.close(ticket_id, actor, payments)
        self._journal(receipt_record(self.store.last_receipt), ticket_record(ticket))
        self.hub.publish_resource_changed(TICKETS, ACTION_UPDATED, ticket, actor)
        return ticket

    def delete_ticket(self, ticket_id: str, actor: Actor) -> dict[str, Any]:
        """Delete an open ticket and notify (action 3)."""
        ticket = self.store.delete(ticket_id)
        self._journal(deleted_record(ticket_id))
        self.hub.publish_resource_changed(TICKETS, ACTION_DELETED, ticket, actor)
        return ticket

    def activate_license(self) -> dict[str, Any]:
        """Renew the license and notify `portos.licence.activated`."""
        self.shop_license.activate()
        self._journal(license_record(self.shop_license.to_record()))
        shop_license = self.shop_license.to_dict()
        self.hub.publish_license_activated(shop_license)
        return shop_license

    def set_license_days(self, days: int) -> dict[str, Any]:
        """Set the license's remaining days without a notification."""
        self.shop_license.set_days(days)
        self._journal(license_record(self.shop_license.to_record()))
        return self.shop_license.to_dict()
