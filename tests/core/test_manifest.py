import csv
import shutil

import pytest

from binwatch.datasets import manifest, split
from binwatch.datasets.images import ImageDecodeError
from binwatch.datasets.pack import pack


def test_shipped_samples_cover_every_category(samples_dir):
    data = manifest.load(samples_dir / "manifest.csv")
    assert {s.category for s in data.samples} == {"recyclable", "hazardous", "kitchen", "other"}
    assert not data.skipped


def test_bad_rows_are_skipped_and_counted(tmp_path, samples_dir):
    rows = list(csv.DictReader((samples_dir / "manifest.csv").open()))
    shutil.copytree(samples_dir / "images", tmp_path / "images")
    bad = [
        {**rows[0], "path": "images/missing.jpg"},
        {**rows[1], "item": "sofa"},
        {**rows[2], "category": "compost"},
        {**rows[3], "item": "battery", "category": "kitchen"},
    ]
    with (tmp_path / "manifest.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=rows[0].keys())
        writer.writeheader()
        writer.writerows(rows[4:] + bad)
    data = manifest.load(tmp_path)
    assert len(data) == len(rows) - 4
    assert data.skipped == {"missing file": 1, "unknown item": 1, "unknown category": 1, "item/category mismatch": 1}


def test_folder_of_items_and_categories(tmp_path, samples_dir):
    photo = next((samples_dir / "images").rglob("*.jpg"))
    for folder in ("battery", "kitchen", "sofas"):
        (tmp_path / folder).mkdir()
        shutil.copy(photo, tmp_path / folder / "a.jpg")
    data = manifest.load(tmp_path)
    by_path = {s.path: s for s in data.samples}
    assert by_path["battery/a.jpg"].item == "battery" and by_path["battery/a.jpg"].category == "hazardous"
    assert by_path["kitchen/a.jpg"].item is None and by_path["kitchen/a.jpg"].category == "kitchen"
    assert data.skipped == {"unknown label folder": 1}


def test_folders_named_as_other_data_sets_name_them(tmp_path, samples_dir):
    """Chinese data sets name their folders 可回收物 or 塑料瓶; English ones "Kitchen waste" or "plastic-bottle"."""
    photo = next((samples_dir / "images").rglob("*.jpg"))
    for folder in ("可回收物", "塑料瓶", "Kitchen waste", "plastic-bottle", "HAZARDOUS", "干垃圾", "垃圾"):
        (tmp_path / folder).mkdir()
        shutil.copy(photo, tmp_path / folder / "a.jpg")
    labels = {s.path.split("/")[0]: (s.category, s.item) for s in manifest.load(tmp_path).samples}
    assert labels == {
        "可回收物": ("recyclable", None),
        "塑料瓶": ("recyclable", "plastic_bottle"),
        "Kitchen waste": ("kitchen", None),
        "plastic-bottle": ("recyclable", "plastic_bottle"),
        "HAZARDOUS": ("hazardous", None),
        "干垃圾": ("other", None),  # Shanghai's "dry waste"
    }


def test_a_manifest_may_name_its_labels_in_chinese_or_english(tmp_path, samples_dir):
    photo = next((samples_dir / "images").rglob("*.jpg"))
    shutil.copy(photo, tmp_path / "a.jpg")
    rows = ["path,category,item", "a.jpg,可回收物,塑料瓶", "a.jpg,Other waste,", "a.jpg,kitchen,Plastic bottle"]
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    data = manifest.load(tmp_path)
    assert [(s.category, s.item) for s in data.samples] == [("recyclable", "plastic_bottle"), ("other", None)]
    assert data.skipped == {"item/category mismatch": 1}


def test_empty_folder_and_missing_path_are_clear_errors(tmp_path):
    with pytest.raises(manifest.DatasetError, match="no images found"):
        manifest.load(tmp_path)
    with pytest.raises(manifest.DatasetError, match="no such file"):
        manifest.load(tmp_path / "nothing")


def test_pack_round_trip(tmp_path, samples_dir):
    data = manifest.load(samples_dir)
    tally = pack(data, tmp_path / "packed.zip", max_side=64, quality=70)
    assert tally["written"] == len(data)
    packed = manifest.load(tmp_path / "packed.zip")
    assert [(s.item, s.group) for s in packed.samples] == [(s.item, s.group) for s in data.samples]
    assert max(packed.store.read_rgb(packed.samples[0].path).shape[:2]) <= 64


def test_split_is_deterministic_stratified_and_keeps_groups_whole():
    samples = [
        manifest.Sample(f"{item}/{i}.jpg", "other", item, group=f"{item}-{i // 3}")
        for item in ("broom", "mirror", "shells")
        for i in range(60)
    ]
    train, val = split.split_by_group(samples, 0.2, seed=7)
    assert split.split_by_group(samples, 0.2, seed=7) == (train, val)
    assert split.split_by_group(samples, 0.2, seed=8) != (train, val)
    assert not {s.group for s in train} & {s.group for s in val}
    for item in ("broom", "mirror", "shells"):
        share = sum(s.item == item for s in val) / 60
        assert 0.15 <= share <= 0.3


def test_pack_names_never_leave_the_zip(tmp_path, samples_dir):
    """waste-v2 rows point into the sibling waste-v1 folder (``../waste-v1/images/…``)."""
    from binwatch.datasets.pack import packed_name

    assert packed_name("../waste-v1/images/trashnet/a/1.jpg") == "images/waste-v1/images/trashnet/a/1.jpg"
    assert packed_name("images/drink-phone/can/2.jpg") == "images/drink-phone/can/2.jpg"
    (tmp_path / "v1" / "images").mkdir(parents=True)
    (tmp_path / "v2").mkdir()
    rows = (samples_dir / "manifest.csv").read_text().splitlines()
    header, first = rows[0], rows[1]
    src = samples_dir / first.split(",")[0]
    (tmp_path / "v1" / "images" / "a.jpg").write_bytes(src.read_bytes())
    (tmp_path / "v2" / "manifest.csv").write_text(header + "\n../v1/images/a.jpg," + first.split(",", 1)[1] + "\n")
    pack(manifest.load(tmp_path / "v2"), tmp_path / "v2.zip", max_side=64)
    packed = manifest.load(tmp_path / "v2.zip")
    assert [s.path for s in packed.samples] == ["images/v1/images/a.jpg"]
    assert packed.store.read_rgb(packed.samples[0].path).shape[2] == 3


def test_a_spreadsheets_manifest_is_read_and_a_foreign_one_named(tmp_path, samples_dir):
    """Excel's "CSV UTF-8" starts with a byte-order mark; a row cut short is skipped and counted."""
    text = (samples_dir / "manifest.csv").read_text(encoding="utf-8")
    shutil.copytree(samples_dir / "images", tmp_path / "images")
    (tmp_path / "manifest.csv").write_bytes(b"\xef\xbb\xbf" + text.encode() + b"images/a.jpg\n")
    data = manifest.load(tmp_path)
    assert len(data) == len(text.splitlines()) - 1 and data.skipped == {"short row": 1}
    (tmp_path / "manifest.csv").write_bytes(text.encode() + "images/é.jpg,kitchen,\n".encode("latin-1"))
    with pytest.raises(manifest.DatasetError, match="manifest.csv: not UTF-8 text"):
        manifest.load(tmp_path)


def test_a_zip_that_is_none_or_damaged_is_named(tmp_path, samples_dir):
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(manifest.DatasetError, match="text.zip: not a readable zip"):
        manifest.load(tmp_path / "text.zip")
    data = manifest.load(samples_dir)
    pack(data, tmp_path / "packed.zip", max_side=64)
    raw = bytearray((tmp_path / "packed.zip").read_bytes())
    first = manifest.load(tmp_path / "packed.zip").samples[0].path
    at = raw.index(first.encode()) + len(first) + 100  # inside the first image's stored bytes
    raw[at] ^= 0xFF
    (tmp_path / "damaged.zip").write_bytes(bytes(raw))
    damaged = manifest.load(tmp_path / "damaged.zip")
    with pytest.raises(ImageDecodeError, match="damaged in the zip"):
        damaged.store.read_rgb(first)


def test_pack_never_writes_over_its_data_set_nor_an_empty_zip(tmp_path, samples_dir):
    shutil.copytree(samples_dir, tmp_path / "set")
    data = manifest.load(tmp_path / "set" / "manifest.csv")
    before = (tmp_path / "set" / "manifest.csv").read_bytes()
    with pytest.raises(ValueError, match="must be a .zip"):
        pack(data, tmp_path / "set" / "manifest.csv")
    assert (tmp_path / "set" / "manifest.csv").read_bytes() == before
    pack(data, tmp_path / "set.zip", max_side=64)
    with pytest.raises(ValueError, match="is the data set being packed"):
        pack(manifest.load(tmp_path / "set.zip"), tmp_path / "set.zip")
    with pytest.raises(ValueError, match="--max-side must be at least"):
        pack(data, tmp_path / "tiny.zip", max_side=1)
    for image in (tmp_path / "set" / "images").rglob("*.jpg"):
        image.write_bytes(b"not a picture")
    with pytest.raises(ValueError, match="nothing written"):
        pack(data, tmp_path / "none.zip")
    assert not list(tmp_path.glob("none.zip*"))
