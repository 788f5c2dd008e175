"""Drop-off points with their bins and responsible entities (read: people; write: admins)."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from binwatch.collector.api.defs.admin import EntityIn, EntityOut, EntityPatch, SiteIn, SiteOut, SitePatch
from binwatch.collector.api.defs.common import EntityId, IdPath, errors
from binwatch.collector.api.deps import AdminDep, DatabaseDep, LookupsDep, ReadSession, ScopeDep
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


def _plan(bins, zones) -> dict:
    """The bins, their capacities and destinations and the zones of a site body, as ``create_site``/``update_site``
    take them."""
    plan: dict = {}
    if bins is not None:
        plan["bins"] = {b.bin_id: b.category for b in bins}
        plan["capacities"] = {b.bin_id: b.capacity_l for b in bins if b.capacity_l is not None}
        plan["destinations"] = {b.bin_id: b.destination for b in bins if b.destination is not None}
    if zones is not None:
        plan["zones"] = {z.zone_id: z.kind.value for z in zones}
    return plan


@router.get("/sites", response_model=list[SiteOut], responses=errors(401))
def list_sites(session: ReadSession, scope: ScopeDep) -> list[SiteOut]:
    query = select(Site).order_by(Site.id)
    if scope.entity_id is not None:
        query = query.where(Site.entity_id == scope.entity_id)
    return [SiteOut.of(s) for s in session.scalars(query)]


@router.get("/sites/{site_id}", response_model=SiteOut, responses=errors(401, 404, 422))
def get_one_site(site_id: IdPath, session: ReadSession, scope: ScopeDep) -> SiteOut:
    site = get_site(session, site_id)
    scope.check_site(session, site.id)
    return SiteOut.of(site)


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
            **_plan(body.bins, body.zones),
        )
        return SiteOut.of(site)


@router.patch("/sites/{site_id}", response_model=SiteOut, responses=errors(401, 403, 404, 422))
def patch_site(site_id: IdPath, body: SitePatch, admin: AdminDep, db: DatabaseDep, lookups: LookupsDep) -> SiteOut:
    """Change a site; ``bins`` or ``zones``, when given, replaces the whole list."""
    with db.write() as session:
        site = update_site(
            session,
            site_id,
            name=body.name,
            address=body.address,
            entity_id=body.entity_id,
            **_plan(body.bins, body.zones),
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
def list_entities(session: ReadSession, scope: ScopeDep) -> list[EntityOut]:
    query = select(Entity).order_by(Entity.id)
    if scope.entity_id is not None:
        query = query.where(Entity.id == scope.entity_id)
    return [EntityOut.of(e) for e in session.scalars(query)]


@router.get("/entities/{entity_id}", response_model=EntityOut, responses=errors(401, 404, 422))
def get_one_entity(entity_id: EntityId, session: ReadSession, scope: ScopeDep) -> EntityOut:
    scope.check_entity(entity_id)
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
