"""site.toml: every mistake names its key; what ``dump`` writes, ``load`` reads back; the README's key table is
the one the models describe."""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path

import pytest

from binwatch.edge.config import ConfigError, check_polygons, dump, load, parse, reference_table
from tests.edge import scene

README = Path(__file__).resolve().parents[2] / "edge" / "README.md"
REQUIRED = (
    'device_id = "b"\nsite_id = "s"\ncollector.url = "http://c"\ncollector.token = "t"\ncamera.source = "x.mp4"\n'
)
BINS = '[[bins]]\nid = "k"\ncategory = "kitchen"\npolygon = [[0, 0], [10, 0], [10, 10]]\n'


def base(tmp_path) -> dict:
    return scene.site(tmp_path, "video.mp4").model_dump(mode="json", exclude_none=True)


def error_of(data: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(data, "site.toml")
    return str(caught.value)


def test_dump_then_load_gives_the_same_configuration_with_paths_relative_to_the_file(tmp_path):
    config = parse({**base(tmp_path), "storage": {"dir": "data"}, "camera": {"source": "cam.mp4"}})
    dump(config, tmp_path / "site.toml")
    loaded = load(tmp_path / "site.toml")
    assert loaded.storage.dir == tmp_path / "data"
    assert loaded.camera.source == str(tmp_path / "cam.mp4")
    assert loaded.bins == config.bins and loaded.thresholds == config.thresholds and loaded.clips == config.clips


def test_a_stream_url_and_a_device_index_are_left_alone(tmp_path):
    (tmp_path / "a.toml").write_text(
        'device_id = "b"\nsite_id = "s"\n[collector]\nurl = "http://c"\ntoken = "t"\n'
        '[camera]\nsource = "rtsp://cam/stream"\n[[bins]]\nid = "k"\ncategory = "kitchen"\n'
        "polygon = [[0, 0], [10, 0], [10, 10]]\n"
    )
    assert load(tmp_path / "a.toml").camera.source == "rtsp://cam/stream"
    data = base(tmp_path)
    data["camera"]["source"] = 0
    assert parse(data).camera.source == 0


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["bins"][1].update(polygon=[[0, 0], [5, 5]]), "bins.1.polygon: Value error, at least 3 points"),
        (lambda d: d["bins"][0].update(category="plastic"), "bins.0.category"),
        (lambda d: d["thresholds"].update(motion_fraction=1.5), "thresholds.motion_fraction"),
        (lambda d: d["thresholds"].update(motoin_fraction=0.1), "thresholds.motoin_fraction: unknown key"),
        (lambda d: d["schedule"].update(allowed_hours=["7:00-9:00"]), "schedule.allowed_hours"),
        (lambda d: d["schedule"].update(allowed_hours=["09:00-09:00"]), "is empty"),
        (lambda d: d["schedule"].update(timezone="Mars/Olympus"), "schedule.timezone: Value error, unknown time zone"),
        (lambda d: d["clips"].update(codec="h265"), "clips.codec"),
        (lambda d: d["collector"].update(url="ftp://x"), "collector.url"),
        (lambda d: d.pop("device_id"), "device_id: Field required"),
        (lambda d: d["bins"].append(dict(d["bins"][0])), "bin ids repeat"),
        (lambda d: d.update(zones=[{"id": "g", "kind": "ground", "polygon": [[0, 0], [9, 9]]}]), "zones.0.polygon"),
        (lambda d: d.update(zones=[{"id": "g", "kind": "lawn", "polygon": [[0, 0], [9, 0], [9, 9]]}]), "zones.0.kind"),
        (
            lambda d: d.update(zones=[{"id": "g", "kind": "ground", "polygon": [[0, -1], [9, 0], [9, 9]]}]),
            "non-negative",
        ),
        (
            lambda d: d.update(zones=[{"id": "g", "kind": "ground", "polygon": [[0, 0], [9, 0], [9, 9]]}] * 2),
            "zone ids",
        ),
        (lambda d: d.update(litter={"stay_s": 0.2}), "litter.stay_s"),
        (lambda d: d.update(litter={"stay": 5}), "litter.stay: unknown key"),
        # a bow tie: the corners of a square listed across instead of around it
        (lambda d: d["bins"][0].update(polygon=[[0, 0], [100, 100], [100, 0], [0, 100]]), "Self-intersection[50 50]"),
        (
            lambda d: d["bins"][2].update(polygon=[[0, 0], [50, 0], [100, 0]]),
            "bins.2.polygon: Value error, the outline",
        ),
        (lambda d: d["bins"][1].update(polygon=[[0, 0], [60, 0], [60, 60], [60, 0], [0, 60]]), "crosses itself"),
        (lambda d: d["camera"].update(source=-1), "camera.source"),  # OpenCV would crash on it
        (lambda d: d["thresholds"].update(item_min_fraction=0.6), "must be below item_max_fraction"),
    ],
)
def test_a_bad_key_is_named(tmp_path, change, expected):
    data = base(tmp_path)
    change(data)
    assert expected in error_of(data)


def test_unreadable_or_malformed_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("device_id = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(tmp_path / "bad.toml")
    (tmp_path / "latin.toml").write_bytes('site_id = "Bâtiment"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match="latin.toml: not UTF-8 text"):
        load(tmp_path / "latin.toml")


def test_a_file_saved_with_a_byte_order_mark_loads(tmp_path):
    dump(parse(base(tmp_path)), tmp_path / "site.toml")
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "site.toml").read_bytes())
    assert load(tmp_path / "bom.toml") == load(tmp_path / "site.toml")


def test_the_readme_key_table_is_the_one_the_field_descriptions_give():
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("| key | default | meaning |")
    table = "\n".join(itertools.takewhile(lambda line: line.startswith("|"), lines[start:]))
    assert table == reference_table(), "edge/README.md: replace the key table by edge.config.reference_table()"
    assert "| None |" not in table, "a key without a description"


def test_each_default_in_the_table_is_toml_that_gives_that_default():
    rows = [line.split(" | ") for line in reference_table().splitlines()[2:]]
    written = "".join(f"{key.strip('| `')} = {default.strip('`')}\n" for key, default, _ in rows if "`" in default)
    assert "thresholds.motion_fraction = 0.02\n" in written and 'schedule.timezone = "Asia/Shanghai"\n' in written
    assert parse(tomllib.loads(REQUIRED + written + BINS)) == parse(tomllib.loads(REQUIRED + BINS))


def test_ground_zones_are_checked_against_the_frame_like_the_bins(tmp_path):
    data = base(tmp_path)
    data["zones"] = [{"id": "ground-1", "kind": "ground", "polygon": [[0, 300], [200, 300], [700, 359]]}]
    config = parse(data)
    check_polygons(config.bins, (1280, 720), config.zones)
    with pytest.raises(ConfigError, match=r"zones.0.polygon: point \(700, 359\) lies outside the camera frame"):
        check_polygons(config.bins, (640, 360), config.zones)


def test_a_ground_zone_lying_wholly_over_the_openings_is_refused_as_watching_nothing(tmp_path):
    data = base(tmp_path)
    data["bins"] = data["bins"][:2]
    data["bins"][0]["polygon"] = [[0, 0], [100, 0], [100, 100], [0, 100]]
    data["bins"][1]["polygon"] = [[100, 0], [200, 0], [200, 100], [100, 100]]
    over_both = [[10, 10], [190, 10], [190, 90], [10, 90]]
    data["zones"] = [{"id": "g", "kind": "ground", "polygon": over_both}]
    assert "zones.0 ('g') lies wholly over the bins' openings" in error_of(data)
    # reaching beyond them it watches the rest; a collection zone is drawn round a container, openings and all
    data["zones"] = [
        {"id": "g", "kind": "ground", "polygon": [[10, 10], [190, 10], [190, 150], [10, 150]]},
        {"id": "c", "kind": "collection", "polygon": over_both},
    ]
    parse(data)
