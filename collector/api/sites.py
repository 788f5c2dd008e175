"""Drop-off points with their bins and responsible entities (read: people; write: admins)."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from binwatch.collector.api.defs.admin import EntityIn, EntityOut, EntityPatch, SiteIn, SiteOut, SitePatch
from binwatch.collector.api.defs.common import EntityId, IdPath, errors
from binwatch.collector.api.deps import AdminDep, DatabaseDep, LookupsDep, ReadSession, UserDep
from binwatch.collector.db.tables import Entity, Site
from binwatch.collector.provisioning import (
    create_entity,
    create_site,
    delete_entity,
    delete_site,
    get_entity,
    get_site,
    update_entity,
    update_site,
)

router = APIRouter(tags=["sites"])


def _bins(bins) -> dict[str, str] | None:
    return None if bins is None else {b.bin_id: b.category for b in bins}


@router.get("/sites", response_model=list[SiteOut], responses=errors(401))
def list_sites(session: ReadSession, user: UserDep) -> list[SiteOut]:
    return [SiteOut.of(s) for s in session.scalars(select(Site).order_by(Site.id))]


@router.get("/sites/{site_id}", response_model=SiteOut, responses=errors(401, 404, 422))
def get_one_site(site_id: IdPath, session: ReadSession, user: UserDep) -> SiteOut:
    return SiteOut.of(get_site(session, site_id))


@router.post(
    "/sites", response_model=SiteOut, status_code=status.HTTP_201_CREATED, responses=errors(401, 403, 409, 422)
)
def post_site(body: SiteIn, admin: AdminDep, db: DatabaseDep) -> SiteOut:
    with db.write() as session:
        site = create_site(
            session,
            site_id=body.site_id,
            name=body.name,
            address=body.address,
            entity_id=body.entity_id,
            bins=_bins(body.bins),
        )
        return SiteOut.of(site)


@router.patch("/sites/{site_id}", response_model=SiteOut, responses=errors(401, 403, 404, 422))
def patch_site(site_id: IdPath, body: SitePatch, admin: AdminDep, db: DatabaseDep, lookups: LookupsDep) -> SiteOut:
    """Change a site; ``bins``, when given, replaces the whole list."""
    with db.write() as session:
        site = update_site(
            session, site_id, name=body.name, address=body.address, entity_id=body.entity_id, bins=_bins(body.bins)
        )
        out = SiteOut.of(site)
    lookups.forget_site(site_id)
    return out


@router.delete("/sites/{site_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404, 409, 422))
def remove_site(site_id: IdPath, admin: AdminDep, db: DatabaseDep) -> None:
    """Only a site without devices and events can be deleted."""
    with db.write() as session:
        delete_site(session, site_id)


@router.get("/entities", response_model=list[EntityOut], responses=errors(401))
def list_entities(session: ReadSession, user: UserDep) -> list[EntityOut]:
    return [EntityOut.of(e) for e in session.scalars(select(Entity).order_by(Entity.id))]


@router.get("/entities/{entity_id}", response_model=EntityOut, responses=errors(401, 404, 422))
def get_one_entity(entity_id: EntityId, session: ReadSession, user: UserDep) -> EntityOut:
    return EntityOut.of(get_entity(session, entity_id))


@router.post(
    "/entities", response_model=EntityOut, status_code=status.HTTP_201_CREATED, responses=errors(401, 403, 422)
)
def post_entity(body: EntityIn, admin: AdminDep, db: DatabaseDep) -> EntityOut:
    with db.write() as session:
        return EntityOut.of(create_entity(session, name=body.name, type=body.type, contact=body.contact))


@router.patch("/entities/{entity_id}", response_model=EntityOut, responses=errors(401, 403, 404, 422))
def patch_entity(entity_id: EntityId, body: EntityPatch, admin: AdminDep, db: DatabaseDep) -> EntityOut:
    with db.write() as session:
        entity = update_entity(session, entity_id, name=body.name, type=body.type, contact=body.contact)
        return EntityOut.of(entity)


@router.delete(
    "/entities/{entity_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(401, 403, 404, 409, 422)
)
def remove_entity(entity_id: EntityId, admin: AdminDep, db: DatabaseDep) -> None:
    """Only an entity responsible for no site can be deleted."""
    with db.write() as session:
        delete_entity(session, entity_id)
