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
