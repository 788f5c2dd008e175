"""The command line for the drop-off point: a site with zones, bin capacities and destinations, an entity's
user."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from binwatch.collector.db.engine import Database
from binwatch.collector.db.tables import Site, User
from binwatch.collector.settings import Settings
from tests.collector.test_cli import run


def test_a_site_with_zones_and_capacities_and_an_entity_user(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    assert run("add-entity", *data, "--name", "幸福物业", "--type", "property_company")[1].strip() == "1"
    code, out, err = run(
        "add-site", *data, "--id", "s1", "--name", "一号楼", "--address", "Road 1", "--entity", "1",
        "--bin", "k1:kitchen:240:城东餐厨垃圾处理厂: 北线", "--bin", "o1:other", "--bin", "r1:recyclable::回收站",
        "--zone", "g1:ground", "--zone", "lane:collection",
    )  # fmt: skip
    assert code == 0, err
    user = ["add-user", *data, "--role", "entity", "--password-stdin"]
    code, out, err = run(*user, "--username", "erin", "--entity", "1", stdin="entity-password-1\n")
    assert code == 0 and "erin (entity)" in out, err
    code, _, err = run(*user, "--username", "ella", stdin="entity-password-1\n")
    assert code == 1 and "needs the id of its responsible entity" in err
    db = Database(Settings(data_dir=tmp_path / "data").db_url)
    with db.read() as session:
        site = session.get(Site, "s1")
        assert site is not None
        assert [(b.id, b.category, b.capacity_l, b.destination) for b in site.bins] == [
            ("k1", "kitchen", 240.0, "城东餐厨垃圾处理厂: 北线"),  # the destination is the rest of the spec
            ("o1", "other", None, None),
            ("r1", "recyclable", None, "回收站"),
        ]
        assert [(z.id, z.kind) for z in site.zones] == [("g1", "ground"), ("lane", "collection")]
        assert [(u.username, u.role, u.entity_id) for u in session.scalars(select(User))] == [("erin", "entity", 1)]
    db.dispose()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["--bin", "k1"], "write BIN_ID:CATEGORY"),
        (["--bin", "k1:kitchen:lots"], "must be a number of litres"),
        (["--zone", "g1"], "write ZONE_ID:KIND"),
    ],
)
def test_bad_plans_are_named(tmp_path, spec, message):
    data = ["--data-dir", str(tmp_path / "data")]
    run("add-entity", *data, "--name", "e", "--type", "other")
    code, _, err = run("add-site", *data, "--id", "s1", "--name", "n", "--address", "a", "--entity", "1", *spec)
    assert code == 2 and message in err


def test_a_zone_of_an_unknown_kind_is_refused(tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    run("add-entity", *data, "--name", "e", "--type", "other")
    code, _, err = run("add-site", *data, "--id", "s1", "--name", "n", "--address", "a", "--entity", "1",
                       "--zone", "g1:sky")  # fmt: skip
    assert code == 1 and "unknown kind 'sky'" in err
