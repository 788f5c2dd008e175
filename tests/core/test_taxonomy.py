import pytest

from binwatch.datasets import taxonomy


def test_every_item_maps_to_exactly_one_known_category():
    assert len(set(taxonomy.ITEM_KEYS)) == len(taxonomy.ITEMS)
    for item in taxonomy.ITEMS:
        assert item.category in taxonomy.CATEGORY_KEYS
    assert {i.category for i in taxonomy.ITEMS} == set(taxonomy.CATEGORY_KEYS)


def test_four_categories_of_art_12_with_gb_t_19095_colours():
    colours = {c.key: (c.zh, c.colour) for c in taxonomy.CATEGORIES}
    assert colours == {
        "recyclable": ("可回收物", "blue"),
        "hazardous": ("有害垃圾", "red"),
        "kitchen": ("厨余垃圾", "green"),
        "other": ("其他垃圾", "grey"),
    }


def test_kitchen_contaminants_of_art_16_are_other_waste():
    contaminants = {i.key for i in taxonomy.ITEMS if i.kitchen_contaminant}
    assert contaminants == {"disposable_tableware", "packaging", "plastic_bag"}
    assert all(taxonomy.category_of(k) == "other" for k in contaminants)
    assert not taxonomy.is_kitchen_contaminant("food_waste")


def test_unknown_labels_and_versions_fail_clearly():
    with pytest.raises(KeyError, match="unknown item 'sofa'"):
        taxonomy.category_of("sofa")
    with pytest.raises(taxonomy.TaxonomyMismatch, match="retrain or export"):
        taxonomy.check_version("zmd-1999.1")
    taxonomy.check_version(taxonomy.TAXONOMY_VERSION)


def test_2024_2_adds_masks_and_thermometers_and_keeps_every_older_item():
    assert taxonomy.TAXONOMY_VERSION == "zmd-2024.2"
    assert taxonomy.category_of("mask") == "other" and taxonomy.category_of("thermometer") == "hazardous"
    assert not taxonomy.is_kitchen_contaminant("mask")
    old = taxonomy.VERSIONS["zmd-2024.1"]
    assert len(old) == 30 and set(taxonomy.ITEM_KEYS) - set(old) == {"mask", "thermometer"}
    for version, items in taxonomy.VERSIONS.items():
        assert set(items) <= set(taxonomy.ITEM_KEYS), version  # an item never leaves: old models keep working


def test_a_model_must_carry_exactly_its_versions_items():
    old = list(taxonomy.VERSIONS["zmd-2024.1"])
    taxonomy.check_version("zmd-2024.1", "model", old)
    taxonomy.check_version("zmd-2024.2", "model", list(reversed(taxonomy.ITEM_KEYS)))  # any order
    with pytest.raises(taxonomy.TaxonomyMismatch, match="missing: mask, thermometer"):
        taxonomy.check_version("zmd-2024.2", "model", old)
    with pytest.raises(taxonomy.TaxonomyMismatch, match="unknown: mask"):
        taxonomy.check_version("zmd-2024.1", "model", [*old, "mask"])


def test_no_two_labels_are_spelled_alike():
    """A folder or manifest label may be a key, a name or an alias: each must name one label only."""
    from binwatch.datasets.taxonomy import CATEGORY_ALIASES, _spelling

    spelled: dict[str, set] = {}
    for c in taxonomy.CATEGORIES:
        for name in (c.key, c.zh, c.en, *CATEGORY_ALIASES[c.key]):
            spelled.setdefault(_spelling(name), set()).add((c.key, None))
    for i in taxonomy.ITEMS:
        for name in (i.key, i.zh, i.en):
            spelled.setdefault(_spelling(name), set()).add((i.category, i.key))
    assert {name: labels for name, labels in spelled.items() if len(labels) > 1} == {}
    assert taxonomy.label_named(" Wet-Waste ") == ("kitchen", None) and taxonomy.label_named("垃圾") is None
