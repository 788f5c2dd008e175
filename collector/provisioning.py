"""Creating what the collector knows about: responsible entities, sites and bins, devices, users.

Used by the admin API, the ``binwatch collector add-*`` commands and the demo, so the rules
(valid ids, known categories, tokens shown once) hold whichever way something is made.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeGuard

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from binwatch.collector.credentials import DEVICE_PREFIX, hash_password, new_token, token_digest
from binwatch.collector.db.tables import (
    ROW_ID_MAX,
    Bin,
    Device,
    Entity,
    Event,
    Login,
    Role,
    Site,
    User,
    Zone,
    ZoneKind,
    utcnow,
)
from binwatch.collector.entity_types import EntityType
from binwatch.collector.errors import Conflict, Invalid, NotFound
from binwatch.collector.names import Address, Identifier, Name, OptionalText, Password, Username, checked
from binwatch.datasets.taxonomy import CATEGORY_KEYS
from binwatch.events.schema import CategoryKey


def create_entity(session: Session, *, name: str, type: EntityType | str, contact: str = "") -> Entity:
    entity = Entity(
        name=checked(Name, name, "entity name"),
        type=_entity_type(type).value,
        contact=checked(OptionalText, contact, "contact"),
    )
    session.add(entity)
    session.flush()
    return entity


def update_entity(
    session: Session,
    entity_id: int,
    *,
    name: str | None = None,
    type: EntityType | str | None = None,
    contact: str | None = None,
) -> Entity:
    entity = get_entity(session, entity_id)
    if name is not None:
        entity.name = checked(Name, name, "entity name")
    if type is not None:
        entity.type = _entity_type(type).value
    if contact is not None:
        entity.contact = checked(OptionalText, contact, "contact")
    session.flush()
    return entity


def delete_entity(session: Session, entity_id: int) -> None:
    entity = get_entity(session, entity_id)
    if session.scalar(select(func.count()).select_from(Site).where(Site.entity_id == entity_id)):
        raise Conflict(f"entity {entity_id} is responsible for sites; give them another entity first")
    if session.scalar(select(func.count()).select_from(User).where(User.entity_id == entity_id)):
        raise Conflict(f"entity {entity_id} has user accounts; move or remove them first")
    session.delete(entity)
    session.flush()


def get_entity(session: Session, entity_id: int) -> Entity:
    entity = session.get(Entity, entity_id)
    if entity is None:
        raise NotFound(f"no entity {entity_id}")
    return entity


def create_site(
    session: Session,
    *,
    site_id: str,
    name: str,
    address: str,
    entity_id: int,
    bins: Mapping[str, str] | None = None,
    capacities: Mapping[str, float] | None = None,
    destinations: Mapping[str, str] | None = None,
    zones: Mapping[str, str] | None = None,
) -> Site:
    """A drop-off point with its bins (bin id → category; capacities in litres and destinations by bin id),
    its ground and collection zones (zone id → kind) and its responsible entity."""
    site_id = checked(Identifier, site_id, "site id")
    if session.get(Site, site_id) is not None:
        raise Conflict(f"site {site_id} exists")
    site = Site(
        id=site_id,
        name=checked(Name, name, "site name"),
        address=checked(Address, address, "address"),
        entity_id=_existing_entity(session, entity_id),
    )
    site.bins = _bins(bins or {}, capacities or {}, destinations or {})
    site.zones = _zones(zones or {})
    session.add(site)
    session.flush()
    return site


def update_site(
    session: Session,
    site_id: str,
    *,
    name: str | None = None,
    address: str | None = None,
    entity_id: int | None = None,
    bins: Mapping[str, str] | None = None,
    capacities: Mapping[str, float] | None = None,
    destinations: Mapping[str, str] | None = None,
    zones: Mapping[str, str] | None = None,
) -> Site:
    """``bins`` (with their ``capacities`` and ``destinations``) and ``zones``, when given, replace the site's
    lists."""
    site = get_site(session, site_id)
    if name is not None:
        site.name = checked(Name, name, "site name")
    if address is not None:
        site.address = checked(Address, address, "address")
    if entity_id is not None:
        site.entity_id = _existing_entity(session, entity_id)
    if bins is not None:
        wanted = _bins(bins, capacities or {}, destinations or {})
        session.execute(delete(Bin).where(Bin.site_id == site.id))
        session.flush()
        session.expire(site, ["bins"])
        site.bins = wanted
    if zones is not None:
        wanted_zones = _zones(zones)
        session.execute(delete(Zone).where(Zone.site_id == site.id))
        session.flush()
        session.expire(site, ["zones"])
        site.zones = wanted_zones
    session.flush()
    return site


def delete_site(session: Session, site_id: str) -> None:
    site = get_site(session, site_id)
    for table, what in ((Device, "devices"), (Event, "events")):
        if session.scalar(select(func.count()).select_from(table).where(table.site_id == site_id)):
            raise Conflict(f"site {site_id} has {what}; it can no longer be deleted")
    session.delete(site)
    session.flush()


def get_site(session: Session, site_id: str) -> Site:
    site = session.get(Site, site_id)
    if site is None:
        raise NotFound(f"no site {site_id}")
    return site


def create_device(session: Session, *, device_id: str, site_id: str, description: str = "") -> tuple[Device, str]:
    """Register an edge box; the token is returned here once and stored only as a digest."""
    device_id = checked(Identifier, device_id, "device id")
    if session.get(Device, device_id) is not None:
        raise Conflict(f"device {device_id} exists")
    if session.get(Site, site_id) is None:
        raise Invalid(f"no site {site_id}")
    token = new_token(DEVICE_PREFIX)
    device = Device(
        id=device_id,
        site_id=site_id,
        description=checked(OptionalText, description, "description"),
        token_hash=token_digest(token),
    )
    session.add(device)
    session.flush()
    return device, token


def rotate_device_token(session: Session, device_id: str) -> str:
    """A new token for a device (the old one stops working); also lifts a revocation."""
    device = get_device(session, device_id)
    token = new_token(DEVICE_PREFIX)
    device.token_hash = token_digest(token)
    device.revoked_at = None
    session.flush()
    return token


def revoke_device(session: Session, device_id: str) -> Device:
    device = get_device(session, device_id)
    device.revoked_at = device.revoked_at or utcnow()
    session.flush()
    return device


def get_device(session: Session, device_id: str) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    return device


def create_user(
    session: Session, *, username: str, password: str, role: Role | str, entity_id: int | None = None
) -> User:
    """An account; a user of the ``entity`` role belongs to one responsible entity and sees only its sites."""
    username = checked(Username, username, "user name")
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())) is not None:
        raise Conflict(f"user {username} exists")
    role = _role(role)
    user = User(
        username=username,
        password_hash=hash_password(checked(Password, password, "password")),
        role=role.value,
        entity_id=_user_entity(session, role, entity_id),
    )
    session.add(user)
    session.flush()
    return user


def update_user(
    session: Session,
    user_id: int,
    *,
    role: Role | str | None = None,
    active: bool | None = None,
    password: str | None = None,
    entity_id: int | None = None,
) -> User:
    """Change a user; a new password, a new role or entity, or a deactivation ends the user's logins."""
    user = get_user(session, user_id)
    moved = entity_id is not None and entity_id != user.entity_id
    if role is not None or entity_id is not None:
        new_role = _role(role) if role is not None else Role(user.role)
        kept = user.entity_id if new_role is Role.ENTITY else None
        user.entity_id = _user_entity(session, new_role, entity_id if entity_id is not None else kept)
        user.role = new_role.value
    if active is not None:
        user.active = active
    if password is not None:
        user.password_hash = hash_password(checked(Password, password, "password"))
    session.flush()
    admins = select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.active.is_(True))
    if session.scalar(admins) == 0:
        raise Conflict("this would leave no active admin")
    if role is not None or moved or active is False or password is not None:
        session.execute(delete(Login).where(Login.user_id == user.id))
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _existing_entity(session: Session, entity_id: int) -> int:
    if not 1 <= entity_id <= ROW_ID_MAX or session.get(Entity, entity_id) is None:
        raise Invalid(f"no entity {entity_id}")
    return entity_id


def parse_plan(bins: Iterable[str], zones: Iterable[str]) -> dict:
    """``BIN_ID:CATEGORY[:LITRES[:DESTINATION]]`` and ``ZONE_ID:KIND`` specs (command line, admin page) as
    ``create_site`` takes them; ``ValueError`` names a malformed one. The destination is the rest of the
    spec, so it may hold a colon."""
    plan: dict[str, dict] = {"bins": {}, "capacities": {}, "destinations": {}, "zones": {}}
    for spec in (s.strip() for s in bins if s.strip()):
        parts = [part.strip() for part in spec.split(":", 3)]
        if len(parts) < 2 or not all(parts[:2]):
            raise ValueError(f"bin {spec!r}: write BIN_ID:CATEGORY[:LITRES[:DESTINATION]]")
        bin_id, category = parts[:2]
        if bin_id in plan["bins"]:
            raise ValueError(f"bin {bin_id} is given twice")
        plan["bins"][bin_id] = category
        if len(parts) >= 3 and parts[2]:
            try:
                plan["capacities"][bin_id] = float(parts[2])
            except ValueError:
                raise ValueError(f"bin {spec!r}: the capacity must be a number of litres") from None
        if len(parts) == 4 and parts[3]:
            plan["destinations"][bin_id] = parts[3]
    for spec in (s.strip() for s in zones if s.strip()):
        zone_id, sep, kind = spec.partition(":")
        if not sep or not zone_id.strip():
            raise ValueError(f"zone {spec!r}: write ZONE_ID:KIND (ground or collection)")
        if zone_id.strip() in plan["zones"]:
            raise ValueError(f"zone {zone_id.strip()} is given twice")
        plan["zones"][zone_id.strip()] = kind.strip()
    return plan


def _bins(bins: Mapping[str, str], capacities: Mapping[str, float], destinations: Mapping[str, str]) -> list[Bin]:
    result = []
    for bin_id, category in bins.items():
        checked(Identifier, bin_id, "bin id")
        if not _is_category(category):
            raise Invalid(f"bin {bin_id}: unknown category {category!r}; expected one of {', '.join(CATEGORY_KEYS)}")
        capacity = capacities.get(bin_id)
        if capacity is not None and not 0 < capacity <= 100_000:
            raise Invalid(f"bin {bin_id}: capacity {capacity} L is not between 0 and 100000 litres")
        destination = destinations.get(bin_id)
        if destination is not None:
            destination = checked(Name, destination, f"bin {bin_id}: destination")
        result.append(Bin(id=bin_id, category=category, capacity_l=capacity, destination=destination))
    for what, given in (("capacities", capacities), ("destinations", destinations)):
        unknown = sorted(set(given) - set(bins))
        if unknown:
            raise Invalid(f"{what} given for bins the site does not list: {', '.join(unknown)}")
    return result


def _zones(zones: Mapping[str, str]) -> list[Zone]:
    result = []
    for zone_id, kind in zones.items():
        checked(Identifier, zone_id, "zone id")
        if kind not in {k.value for k in ZoneKind}:
            raise Invalid(f"zone {zone_id}: unknown kind {kind!r}; expected one of {', '.join(ZoneKind)}")
        result.append(Zone(id=zone_id, kind=kind))
    return result


def _is_category(value: str) -> TypeGuard[CategoryKey]:
    return value in CATEGORY_KEYS


def _user_entity(session: Session, role: Role, entity_id: int | None) -> int | None:
    """The entity of an ``entity`` user, which must have one; reviewers and admins belong to none."""
    if role is not Role.ENTITY:
        if entity_id is not None:
            raise Invalid(f"only a user of the entity role belongs to an entity, not a {role.value}")
        return None
    if entity_id is None:
        raise Invalid("a user of the entity role needs the id of its responsible entity")
    return _existing_entity(session, entity_id)


def _entity_type(value: EntityType | str) -> EntityType:
    try:
        return EntityType(value)
    except ValueError:
        raise Invalid(
            f"unknown entity type {value!r}; expected one of {', '.join(t.value for t in EntityType)}"
        ) from None


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise Invalid(f"unknown role {value!r}; expected one of {', '.join(Role)}") from None
