"""What a person may see: reviewers and admins everything; a user of a responsible entity (Art. 14)
only that entity, its sites, and their events, devices, statistics, ledger and work orders.

What lies outside a user's scope is answered as if it did not exist (404), so that the ids of
other entities' sites and events cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from binwatch.collector.db.tables import Role, Site, User
from binwatch.collector.errors import Forbidden, NotFound


@dataclass(frozen=True)
class Scope:
    entity_id: int | None  # None: everything

    @classmethod
    def of(cls, user: User) -> Scope:
        if user.role != Role.ENTITY.value:
            return cls(None)
        if user.entity_id is None:
            raise Forbidden(f"user {user.username} has the entity role but no entity")
        return cls(user.entity_id)

    def entity(self, requested: int | None) -> int | None:
        """The entity a query is limited to: the requested one, which must lie in scope."""
        if self.entity_id is None:
            return requested
        if requested is not None and requested != self.entity_id:
            raise NotFound(f"no entity {requested}")
        return self.entity_id

    def check_entity(self, entity_id: int) -> None:
        self.entity(entity_id)

    def check_site(self, session: Session, site_id: str, what: str | None = None) -> None:
        """NotFound (naming ``what``, else the site) when ``site_id`` belongs to another entity."""
        if self.entity_id is None:
            return
        if session.scalar(select(Site.entity_id).where(Site.id == site_id)) != self.entity_id:
            raise NotFound(what or f"no site {site_id}")
