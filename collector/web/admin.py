"""Admin pages: responsible entities, sites and bins, devices and their tokens, users, model versions.

Every form posts back here and ends in a redirect that carries an ``ok`` or ``error`` message;
the rules themselves live in ``provisioning`` and ``registry``, shared with the API and the CLI.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from binwatch.collector.api.defs.common import RowId
from binwatch.collector.db.tables import ROW_ID_MAX, Device, Entity, Site, User
from binwatch.collector.errors import CollectorError
from binwatch.collector.provisioning import (
    create_device,
    create_entity,
    create_site,
    create_user,
    parse_plan,
    revoke_device,
    rotate_device_token,
    update_entity,
    update_site,
    update_user,
)
from binwatch.collector.registry import add_version, list_versions, make_current, parse_metrics, roll_back
from binwatch.collector.spool import measure_file
from binwatch.collector.web.labels import text
from binwatch.collector.web.render import page
from binwatch.collector.web.session import Csrf, PageAdmin, check_csrf, redirect

router = APIRouter(prefix="/admin", include_in_schema=False)
Text = Annotated[str, Form(max_length=2000)]
EntityRef = Annotated[int, Form(ge=1, le=ROW_ID_MAX)]


FULL_WIDTH = str.maketrans({"，": ",", "：": ":"})  # as a Chinese input method types them


def parse_site_plan(bins: str, zones: str) -> dict:
    """``bin_id:category[:litres[:destination]]`` and ``zone_id:kind`` per line or comma
    (``k1:kitchen:240:城东餐厨处理厂, o1:other``); full-width commas and colons count as theirs."""
    bins, zones = bins.translate(FULL_WIDTH), zones.translate(FULL_WIDTH)
    try:
        return parse_plan(bins.replace(",", "\n").splitlines(), zones.replace(",", "\n").splitlines())
    except ValueError as exc:
        raise CollectorError(str(exc)) from None


def _act(request: Request, url: str, work, ok: str):
    """Run ``work(session)`` in one transaction; redirect with ``ok`` or with the rule that was broken."""
    try:
        with request.app.state.db.write() as session:
            work(session)
    except CollectorError as exc:
        return redirect(url, error=str(exc))
    return redirect(url, ok=ok)


@router.get("/entities")
def entities_page(request: Request, admin: PageAdmin):
    with request.app.state.db.read() as session:
        entities = list(session.scalars(select(Entity).order_by(Entity.id)))
        return page(request, "admin_entities.html", {"entities": entities})


@router.post("/entities")
def entities_create(request: Request, admin: PageAdmin, csrf: Csrf, name: Text, type: Text, contact: Text = ""):
    check_csrf(request.state.login, csrf)
    return _act(
        request,
        "/admin/entities",
        lambda s: create_entity(s, name=name, type=type, contact=contact),
        text("saved.entity_added", name=name),
    )


@router.post("/entities/{entity_id}")
def entities_update(
    entity_id: RowId, request: Request, admin: PageAdmin, csrf: Csrf, name: Text, type: Text, contact: Text = ""
):
    check_csrf(request.state.login, csrf)
    return _act(
        request,
        "/admin/entities",
        lambda s: update_entity(s, entity_id, name=name, type=type, contact=contact),
        text("saved.entity", name=name),
    )


@router.get("/sites")
def sites_page(request: Request, admin: PageAdmin):
    with request.app.state.db.read() as session:
        sites = list(session.scalars(select(Site).order_by(Site.id)))
        entities = list(session.scalars(select(Entity).order_by(Entity.id)))
        return page(request, "admin_sites.html", {"sites": sites, "entities": entities})


@router.post("/sites")
def sites_create(
    request: Request,
    admin: PageAdmin,
    csrf: Csrf,
    site_id: Text,
    name: Text,
    address: Text,
    entity_id: EntityRef,
    bins: Text = "",
    zones: Text = "",
):
    check_csrf(request.state.login, csrf)

    def work(session):
        plan = parse_site_plan(bins, zones)
        create_site(session, site_id=site_id, name=name, address=address, entity_id=entity_id, **plan)

    return _act(request, "/admin/sites", work, text("saved.site_added", id=site_id))


@router.post("/sites/{site_id}")
def sites_update(
    site_id: str,
    request: Request,
    admin: PageAdmin,
    csrf: Csrf,
    name: Text,
    address: Text,
    entity_id: EntityRef,
    bins: Text = "",
    zones: Text = "",
):
    check_csrf(request.state.login, csrf)

    def work(session):
        plan = parse_site_plan(bins, zones)
        update_site(session, site_id, name=name, address=address, entity_id=entity_id, **plan)

    response = _act(request, "/admin/sites", work, text("saved.site", id=site_id))
    request.app.state.lookups.forget_site(site_id)
    return response


@router.get("/devices")
def devices_page(request: Request, admin: PageAdmin):
    with request.app.state.db.read() as session:
        devices = list(session.scalars(select(Device).order_by(Device.site_id, Device.id)))
        sites = list(session.scalars(select(Site).order_by(Site.id)))
        return page(request, "admin_devices.html", {"devices": devices, "sites": sites})


@router.post("/devices")
def devices_create(
    request: Request, admin: PageAdmin, csrf: Csrf, device_id: Text, site_id: Text, description: Text = ""
):
    check_csrf(request.state.login, csrf)
    try:
        with request.app.state.db.write() as session:
            _device, token = create_device(session, device_id=device_id, site_id=site_id, description=description)
    except CollectorError as exc:
        return redirect("/admin/devices", error=str(exc))
    return page(request, "device_token.html", {"device_id": device_id, "token": token})


@router.post("/devices/{device_id}/token")
def devices_token(device_id: str, request: Request, admin: PageAdmin, csrf: Csrf):
    check_csrf(request.state.login, csrf)
    try:
        with request.app.state.db.write() as session:
            token = rotate_device_token(session, device_id)
    except CollectorError as exc:
        return redirect("/admin/devices", error=str(exc))
    request.app.state.lookups.forget_device(device_id)
    return page(request, "device_token.html", {"device_id": device_id, "token": token})


@router.post("/devices/{device_id}/revoke")
def devices_revoke(device_id: str, request: Request, admin: PageAdmin, csrf: Csrf):
    check_csrf(request.state.login, csrf)
    done = text("saved.device_revoked", id=device_id)
    response = _act(request, "/admin/devices", lambda s: revoke_device(s, device_id), done)
    request.app.state.lookups.forget_device(device_id)
    return response


@router.get("/users")
def users_page(request: Request, admin: PageAdmin):
    with request.app.state.db.read() as session:
        users = list(session.scalars(select(User).order_by(User.id)))
        entities = list(session.scalars(select(Entity).order_by(Entity.id)))
        return page(request, "admin_users.html", {"users": users, "entities": entities})


@router.post("/users")
def users_create(
    request: Request, admin: PageAdmin, csrf: Csrf, username: Text, password: Text, role: Text, entity_id: Text = ""
):
    check_csrf(request.state.login, csrf)
    entity = _entity_ref(entity_id)
    return _act(
        request,
        "/admin/users",
        lambda s: create_user(s, username=username, password=password, role=role, entity_id=entity),
        text("saved.user_added", name=username),
    )


@router.post("/users/{user_id}")
def users_update(
    user_id: RowId,
    request: Request,
    admin: PageAdmin,
    csrf: Csrf,
    role: Text,
    active: Annotated[bool, Form()] = False,
    password: Text = "",
    entity_id: Text = "",
):
    check_csrf(request.state.login, csrf)
    entity = _entity_ref(entity_id) if role == "entity" else None
    return _act(
        request,
        "/admin/users",
        lambda s: update_user(s, user_id, role=role, active=active, password=password or None, entity_id=entity),
        text("saved.user"),
    )


def _entity_ref(value: str) -> int | None:
    """The entity field of the user forms: a number (an out-of-range one names no entity), else none. ``isdigit``
    alone takes "²" for a digit."""
    return int(value) if value.isascii() and value.isdigit() else None


@router.get("/models")
def models_page(request: Request, admin: PageAdmin):
    with request.app.state.db.read() as session:
        return page(request, "admin_models.html", {"versions": list_versions(session)})


@router.post("/models")
async def models_upload(
    request: Request,
    admin: PageAdmin,
    csrf: Csrf,
    version: Text,
    file: Annotated[UploadFile, File()],
    sha256: Text = "",
    metrics: Text = "{}",
):
    """Register an uploaded model. The SHA-256 is optional: the page's script computes it in the
    browser, so that the server's own hash checks the transfer; without one the server's is kept."""
    check_csrf(request.state.login, csrf)
    settings = request.app.state.settings

    def work():
        upload = measure_file(file.file, settings.max_model_bytes)
        return add_version(
            request.app.state.db,
            request.app.state.store,
            version=version,
            upload=upload,
            sha256=sha256.strip() or upload.sha256,
            metrics=parse_metrics(metrics),
            user=admin,
        )

    try:
        await run_in_threadpool(work)
    except CollectorError as exc:
        return redirect("/admin/models", error=str(exc))
    return redirect("/admin/models", ok=text("saved.model", version=version))


@router.post("/models/{version}/current")
def models_current(version: str, request: Request, admin: PageAdmin, csrf: Csrf):
    check_csrf(request.state.login, csrf)
    done = text("saved.model_current", version=version)
    return _act(request, "/admin/models", lambda s: make_current(s, version, admin), done)


@router.post("/models/rollback")
def models_rollback(request: Request, admin: PageAdmin, csrf: Csrf):
    check_csrf(request.state.login, csrf)
    return _act(request, "/admin/models", roll_back, text("saved.rolled_back"))
