"""Bodies of the admin resources: responsible entities, sites with their bins, devices, users."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field

from binwatch.collector.api.defs.common import Request
from binwatch.collector.db.tables import ROW_ID_MAX, Device, Entity, RoleName, Site, User, ZoneKind
from binwatch.collector.entity_types import ENTITY_TYPE_LABELS, EntityType
from binwatch.collector.names import Address, Identifier, Name, OptionalText, Password, Username
from binwatch.events.schema import CategoryKey


class EntityIn(Request):
    name: Name
    type: EntityType
    contact: OptionalText = ""


class EntityPatch(Request):
    name: Name | None = None
    type: EntityType | None = None
    contact: OptionalText | None = None


class EntityOut(BaseModel):
    id: int
    name: str
    type: EntityType
    type_zh: str
    type_en: str
    contact: str
    site_ids: list[str]

    @classmethod
    def of(cls, entity: Entity) -> EntityOut:
        entity_type = EntityType(entity.type)
        zh, en = ENTITY_TYPE_LABELS[entity_type]
        return cls(
            id=entity.id,
            name=entity.name,
            type=entity_type,
            type_zh=zh,
            type_en=en,
            contact=entity.contact,
            site_ids=sorted(s.id for s in entity.sites),
        )


class BinDef(Request):
    bin_id: Identifier
    category: CategoryKey
    capacity_l: float | None = Field(
        None, gt=0, le=100_000, description="litres; the ledger estimates what an emptying took from it"
    )
    destination: Name | None = Field(
        None, description="who takes its contents away (Art. 15(5)): the ledger's destination of its emptyings"
    )


class ZoneDef(Request):
    zone_id: Identifier
    kind: ZoneKind = Field(description="`ground`: beside the bins (littering); `collection`: where bins are emptied")


class SiteIn(Request):
    site_id: Identifier
    name: Name
    address: Address
    entity_id: int = Field(ge=1, le=ROW_ID_MAX)
    bins: list[BinDef] = Field(default_factory=list, max_length=64)
    zones: list[ZoneDef] = Field(default_factory=list, max_length=64)


class SitePatch(Request):
    name: Name | None = None
    address: Address | None = None
    entity_id: int | None = Field(None, ge=1, le=ROW_ID_MAX)
    bins: list[BinDef] | None = Field(None, max_length=64)
    zones: list[ZoneDef] | None = Field(None, max_length=64)


class SiteOut(BaseModel):
    site_id: str
    name: str
    address: str
    entity_id: int
    entity_name: str
    entity_type: EntityType
    bins: list[BinDef]
    zones: list[ZoneDef]

    @classmethod
    def of(cls, site: Site) -> SiteOut:
        return cls(
            site_id=site.id,
            name=site.name,
            address=site.address,
            entity_id=site.entity_id,
            entity_name=site.entity.name,
            entity_type=EntityType(site.entity.type),
            bins=[
                BinDef(bin_id=b.id, category=b.category, capacity_l=b.capacity_l, destination=b.destination)
                for b in site.bins
            ],
            zones=[ZoneDef(zone_id=z.id, kind=ZoneKind(z.kind)) for z in site.zones],
        )


class DeviceIn(Request):
    device_id: Identifier
    site_id: Identifier
    description: OptionalText = ""


class DeviceToken(BaseModel):
    device_id: str
    token: str = Field(description="shown once; the collector keeps only its SHA-256")


class DeviceOut(BaseModel):
    device_id: str
    site_id: str
    description: str
    created_at: dt.datetime
    revoked: bool
    online: bool = Field(description="heard from within the configured offline time")
    last_seen_at: dt.datetime | None
    model_version: str | None
    outbox_depth: int | None
    camera_state: str | None
    fps: float | None
    last_heartbeat: dict[str, Any] | None

    @classmethod
    def of(cls, device: Device, offline_after_s: float, now: dt.datetime) -> DeviceOut:
        beat = device.last_heartbeat or {}
        seen = device.last_seen_at
        return cls(
            device_id=device.id,
            site_id=device.site_id,
            description=device.description,
            created_at=device.created_at,
            revoked=device.revoked_at is not None,
            online=seen is not None and (now - seen).total_seconds() <= offline_after_s and device.revoked_at is None,
            last_seen_at=seen,
            model_version=beat.get("model_version"),
            outbox_depth=beat.get("outbox_depth"),
            camera_state=beat.get("camera_state"),
            fps=beat.get("fps"),
            last_heartbeat=device.last_heartbeat,
        )


EntityRef = Annotated[int, Field(ge=1, le=ROW_ID_MAX, description="the responsible entity of an `entity` user")]


class UserIn(Request):
    username: Username
    password: Password
    role: RoleName
    entity_id: EntityRef | None = None


class UserPatch(Request):
    role: RoleName | None = None
    active: bool | None = None
    password: Password | None = None
    entity_id: EntityRef | None = None


class UserOut(BaseModel):
    id: int
    username: str
    role: RoleName
    entity_id: int | None = Field(description="an `entity` user's responsible entity; null for the others")
    active: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            role=user.role,
            entity_id=user.entity_id,
            active=user.active,
            created_at=user.created_at,
        )
