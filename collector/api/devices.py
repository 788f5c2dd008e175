"""Devices: their state from heartbeats (people), registration and tokens (admins)."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy import select

from binwatch.collector.api.defs.admin import DeviceIn, DeviceOut, DeviceToken
from binwatch.collector.api.defs.common import IdPath, errors
from binwatch.collector.api.deps import AdminDep, DatabaseDep, LookupsDep, ReadSession, ScopeDep, SettingsDep
from binwatch.collector.db.tables import Device, Site, utcnow
from binwatch.collector.provisioning import create_device, get_device, revoke_device, rotate_device_token

router = APIRouter(prefix="/devices", tags=["devices"])


@router.get("", response_model=list[DeviceOut], responses=errors(401))
def list_devices(session: ReadSession, scope: ScopeDep, settings: SettingsDep) -> list[DeviceOut]:
    """Every device with its last heartbeat; ``online`` is false once it is unheard for the configured time."""
    now = utcnow()
    query = select(Device).order_by(Device.site_id, Device.id)
    if scope.entity_id is not None:
        query = query.join(Site, Site.id == Device.site_id).where(Site.entity_id == scope.entity_id)
    devices = session.scalars(query)
    return [DeviceOut.of(d, settings.device_offline_after_s, now) for d in devices]


@router.get("/{device_id}", response_model=DeviceOut, responses=errors(401, 404, 422))
def get_one(device_id: IdPath, session: ReadSession, scope: ScopeDep, settings: SettingsDep) -> DeviceOut:
    device = get_device(session, device_id)
    scope.check_site(session, device.site_id, f"no device {device_id}")
    return DeviceOut.of(device, settings.device_offline_after_s, utcnow())


@router.post("", response_model=DeviceToken, status_code=status.HTTP_201_CREATED, responses=errors(401, 403, 409, 422))
def register(body: DeviceIn, admin: AdminDep, db: DatabaseDep) -> DeviceToken:
    """Register a device at a site; the token is in this answer only."""
    with db.write() as session:
        device, token = create_device(
            session, device_id=body.device_id, site_id=body.site_id, description=body.description
        )
    return DeviceToken(device_id=device.id, token=token)


@router.post("/{device_id}/token", response_model=DeviceToken, responses=errors(401, 403, 404, 422))
def new_token(device_id: IdPath, admin: AdminDep, db: DatabaseDep, lookups: LookupsDep) -> DeviceToken:
    """Replace the device's token (the old one stops working) and lift a revocation."""
    with db.write() as session:
        token = rotate_device_token(session, device_id)
    lookups.forget_device(device_id)
    return DeviceToken(device_id=device_id, token=token)


@router.post("/{device_id}/revoke", response_model=DeviceOut, responses=errors(401, 403, 404, 422))
def revoke(
    device_id: IdPath, admin: AdminDep, db: DatabaseDep, lookups: LookupsDep, settings: SettingsDep
) -> DeviceOut:
    """Refuse the device's token from now on; its events stay."""
    with db.write() as session:
        device = revoke_device(session, device_id)
    lookups.forget_device(device_id)
    return DeviceOut.of(device, settings.device_offline_after_s, utcnow())
