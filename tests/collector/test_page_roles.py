"""Every page against every role: who is let in and who is sent away.

The pages are not in the OpenAPI document (``test_roles.py`` holds the API's table), so this table names every
route of the app outside it with the role it needs, read from the guard its handler depends on: a new page
cannot be added without saying who may use it. ``member``: anyone logged in, a responsible entity's user
included (the work-order pages, which show her only her entity's orders: ``test_workorder_pages.py``);
``supervisor``: a reviewer or an admin (an entity's user is sent to her work orders); ``admin``; ``login``: any
login (logging out); ``public``. The review forms once took any login, and an entity's user could judge events.
"""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from tests.collector.support import World
from tests.collector.test_web import browser

PAGE_ACCESS = {
    ("GET", "/"): "public",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "login",
    ("GET", "/review"): "supervisor",
    ("POST", "/review/batch"): "supervisor",
    ("GET", "/events/{event_id}"): "supervisor",
    ("GET", "/events/{event_id}/evidence/{kind}"): "supervisor",
    ("POST", "/events/{event_id}/review"): "supervisor",
    ("GET", "/stats"): "supervisor",
    ("GET", "/stats/ledger.csv"): "supervisor",
    ("GET", "/devices"): "supervisor",
    ("GET", "/work-orders"): "member",
    ("POST", "/work-orders"): "member",
    ("GET", "/work-orders/{order_id}"): "member",
    ("POST", "/work-orders/{order_id}/{action}"): "member",
    ("GET", "/work-orders/{order_id}/evidence/{kind}"): "member",
    ("GET", "/work-orders/{order_id}/photo"): "member",
    ("GET", "/admin/entities"): "admin",
    ("POST", "/admin/entities"): "admin",
    ("POST", "/admin/entities/{entity_id}"): "admin",
    ("GET", "/admin/sites"): "admin",
    ("POST", "/admin/sites"): "admin",
    ("POST", "/admin/sites/{site_id}"): "admin",
    ("GET", "/admin/devices"): "admin",
    ("POST", "/admin/devices"): "admin",
    ("POST", "/admin/devices/{device_id}/token"): "admin",
    ("POST", "/admin/devices/{device_id}/revoke"): "admin",
    ("GET", "/admin/users"): "admin",
    ("POST", "/admin/users"): "admin",
    ("POST", "/admin/users/{user_id}"): "admin",
    ("GET", "/admin/models"): "admin",
    ("POST", "/admin/models"): "admin",
    ("POST", "/admin/models/{version}/current"): "admin",
    ("POST", "/admin/models/rollback"): "admin",
    ("GET", "/admin/platform"): "admin",
    ("POST", "/admin/platform/deliveries/{delivery_id}/retry"): "admin",
}
GUARDS = {  # the session's dependencies, strictest first
    "page_admin": "admin",
    "page_user": "supervisor",
    "page_user_login": "supervisor",
    "page_member": "member",
    "page_login": "login",
}
PARAMS = {
    "event_id": "3f3f3f3f-0000-4000-8000-000000000001",
    "kind": "crop",
    "order_id": "1",
    "action": "acknowledge",
    "entity_id": "1",
    "site_id": "site-a",
    "device_id": "dev-a",
    "user_id": "1",
    "version": "v1",
    "delivery_id": "1",
}


def _routes(routes):
    for route in routes:
        if hasattr(route, "original_router"):  # an included router, mounted lazily
            yield from _routes(route.original_router.routes)
        elif isinstance(route, APIRoute):
            yield route


def _guards(dependant) -> set[str]:
    names = set()
    for dependency in dependant.dependencies:
        names.add(getattr(dependency.call, "__name__", ""))
        names |= _guards(dependency)
    return names


def page_access(app) -> dict[tuple[str, str], str]:
    """Each page route (outside the OpenAPI document) and the role its strictest guard asks for."""
    access = {}
    for route in _routes(app.router.routes):
        if route.include_in_schema:
            continue
        guards = _guards(route.dependant)
        role = next((role for name, role in GUARDS.items() if name in guards), "public")
        access.update({(method, route.path): role for method in route.methods})
    return access


def _url(path: str) -> str:
    return path.format(**PARAMS)


def _routes_for(*roles: str) -> list[tuple[str, str]]:
    return [key for key, role in PAGE_ACCESS.items() if role in roles]


def test_the_table_names_every_page_with_the_role_its_guard_asks_for(world: World):
    assert page_access(world.app) == PAGE_ACCESS


@pytest.mark.parametrize(("method", "path"), _routes_for("supervisor", "admin"))
def test_an_entity_user_is_sent_to_her_work_orders(world: World, method, path):
    r = browser(world, "erin").request(method, _url(path))
    assert r.status_code == 303 and r.headers["location"] == "/work-orders"


@pytest.mark.parametrize(("method", "path"), _routes_for("admin"))
def test_a_reviewer_is_refused_the_admin_pages(world: World, method, path):
    assert browser(world, "rita").request(method, _url(path)).status_code == 403


@pytest.mark.parametrize(("method", "path"), _routes_for("supervisor", "admin", "member", "login"))
def test_every_page_but_the_public_ones_needs_a_login(world: World, method, path):
    r = browser(world, None).request(method, _url(path))
    assert r.status_code == 303 and r.headers["location"].startswith("/login"), r.text
