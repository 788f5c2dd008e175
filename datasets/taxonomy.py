"""The waste taxonomy of the Zhumadian regulation (2024): the single source of truth.

Art. 12 sets four categories; Art. 16(3) names what must not go into the kitchen bin.
Bin colours follow GB/T 19095-2019. Every item maps to exactly one category.

Bump ``TAXONOMY_VERSION`` whenever an item is added, and record the version's items in
``VERSIONS``. A model records the version it was trained on and its own labels; a model of
a version listed there keeps working, because an item keeps its key and its category in
every later version (an item that changed category would be a new key). A model of an
unknown version is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TAXONOMY_VERSION = "zmd-2024.2"


class TaxonomyMismatch(ValueError):
    """A model or data file was made for another taxonomy version."""


@dataclass(frozen=True)
class Category:
    key: str
    zh: str
    en: str
    colour: str
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class Item:
    key: str
    category: str
    zh: str
    en: str
    kitchen_contaminant: bool = False


CATEGORIES: tuple[Category, ...] = (
    Category("recyclable", "可回收物", "Recyclable", "blue", (0, 92, 175)),
    Category("hazardous", "有害垃圾", "Hazardous waste", "red", (200, 30, 40)),
    Category("kitchen", "厨余垃圾", "Kitchen waste", "green", (20, 140, 60)),
    Category("other", "其他垃圾", "Other waste", "grey", (110, 110, 110)),
)

ITEMS: tuple[Item, ...] = (
    # Recyclable (Art. 12(1)): paper, plastics, glass, metal, textiles.
    Item("ball", "recyclable", "球类", "Ball"),
    Item("cardboard", "recyclable", "纸板", "Cardboard"),
    Item("carton", "recyclable", "利乐包装", "Carton (Tetra Pak)"),
    Item("clothing", "recyclable", "衣物", "Clothing"),
    Item("glass", "recyclable", "玻璃", "Glass"),
    Item("glass_bottle", "recyclable", "玻璃瓶", "Glass bottle"),
    Item("metal", "recyclable", "金属", "Metal"),
    Item("metal_can", "recyclable", "金属罐", "Metal can"),
    Item("paper", "recyclable", "纸张", "Paper"),
    Item("plastic", "recyclable", "塑料", "Plastic"),
    Item("plastic_bottle", "recyclable", "塑料瓶", "Plastic bottle"),
    # Hazardous (Art. 12(2)): batteries, lamps, medicines, paint and its containers.
    Item("battery", "hazardous", "电池", "Battery"),
    Item("lamp", "hazardous", "灯管", "Lamp"),
    Item("medicine", "hazardous", "药品", "Medicine"),
    Item("paint", "hazardous", "油漆及其容器", "Paint and its container"),
    Item("thermometer", "hazardous", "水银温度计", "Mercury thermometer"),  # zmd-2024.2: mercury, like lamps
    # Kitchen (Art. 12(3)).
    Item("eggshell", "kitchen", "蛋壳", "Eggshell"),
    Item("food_waste", "kitchen", "剩菜剩饭", "Food waste"),
    Item("fruit_peel", "kitchen", "果皮", "Fruit peel"),
    Item("vegetable", "kitchen", "菜叶", "Vegetable"),
    # Other (Art. 12(4)); three of them are the kitchen-bin contaminants of Art. 16(3).
    Item("broom", "other", "扫帚", "Broom"),
    Item("ceramics", "other", "陶瓷", "Ceramics"),
    Item("cigarette_butt", "other", "烟头", "Cigarette butt"),
    Item("disposable_tableware", "other", "一次性餐具", "Disposable tableware", True),
    Item("lighter", "other", "打火机", "Lighter"),
    Item("mask", "other", "口罩", "Face mask"),  # zmd-2024.2: used masks and respirators
    Item("mirror", "other", "镜子", "Mirror"),
    Item("packaging", "other", "包装袋", "Packaging (snack bags, wrappers)", True),
    Item("plastic_bag", "other", "塑料袋", "Plastic bag", True),
    Item("shells", "other", "贝壳", "Shells"),
    Item("soiled_textile", "other", "污损织物", "Soiled textile"),
    Item("toothbrush", "other", "牙刷", "Toothbrush"),
)

CATEGORY_KEYS: tuple[str, ...] = tuple(c.key for c in CATEGORIES)
ITEM_KEYS: tuple[str, ...] = tuple(i.key for i in ITEMS)

# The items of every version a model may have been trained on, in the order that version listed them.
VERSIONS: dict[str, tuple[str, ...]] = {
    "zmd-2024.1": tuple(k for k in ITEM_KEYS if k not in ("thermometer", "mask")),
    TAXONOMY_VERSION: ITEM_KEYS,
}
_CATEGORY_BY_KEY = {c.key: c for c in CATEGORIES}
_ITEM_BY_KEY = {i.key: i for i in ITEMS}


def category(key: str) -> Category:
    try:
        return _CATEGORY_BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown category {key!r}; expected one of {', '.join(CATEGORY_KEYS)}") from None


def item(key: str) -> Item:
    try:
        return _ITEM_BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown item {key!r} (taxonomy {TAXONOMY_VERSION})") from None


def category_of(item_key: str) -> str:
    return item(item_key).category


def _spelling(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


# What other cities' rules and data sets call the four categories: Shanghai's dry and wet waste
# (干垃圾, 湿垃圾), Hangzhou's perishable waste (易腐垃圾), the usual translations.
CATEGORY_ALIASES: dict[str, tuple[str, ...]] = {
    "recyclable": ("recyclables", "recyclable waste", "可回收垃圾"),
    "hazardous": ("harmful waste", "harmful", "有毒有害垃圾"),
    "kitchen": ("wet waste", "湿垃圾", "餐厨垃圾", "易腐垃圾", "perishable waste", "kitchen garbage"),
    "other": ("residual waste", "dry waste", "干垃圾", "其它垃圾", "other garbage"),
}
# A category's or an item's key, Chinese and English names and aliases, as people spell them: no two coincide.
_NAMED = {
    _spelling(name): (c.key, None) for c in CATEGORIES for name in (c.key, c.zh, c.en, *CATEGORY_ALIASES[c.key])
} | {_spelling(name): (i.category, i.key) for i in ITEMS for name in (i.key, i.zh, i.en)}


def label_named(name: str) -> tuple[str, str | None] | None:
    """(category, item or None) for a label as a data set from elsewhere writes it: the key, or the
    Chinese or English name of a category or an item (``可回收物``, ``Kitchen waste``, ``plastic-bottle``);
    None when it names neither."""
    return _NAMED.get(_spelling(name))


def is_kitchen_contaminant(item_key: str) -> bool:
    return item(item_key).kitchen_contaminant


def category_matrix(labels: list[str], categories: list[str]) -> np.ndarray:
    """items × categories 0/1 matrix (float32): a category's probability is the sum of its items'."""
    matrix = np.zeros((len(labels), len(categories)), np.float32)
    for row, label in enumerate(labels):
        matrix[row, categories.index(category_of(label))] = 1.0
    return matrix


def check_version(found: str, what: str = "model", labels: list[str] | None = None) -> None:
    """Fail loudly when ``found`` is not a taxonomy version this code knows, or when ``labels``
    (a model's own) are not exactly the items of that version."""
    if found not in VERSIONS:
        raise TaxonomyMismatch(
            f"{what} was made for taxonomy {found!r} but this binwatch knows {', '.join(map(repr, VERSIONS))}; "
            "retrain or export the model with one of these, or install the binwatch that matches it"
        )
    if labels is not None and sorted(labels) != sorted(VERSIONS[found]):
        extra = sorted(set(labels) - set(VERSIONS[found]))
        lacking = sorted(set(VERSIONS[found]) - set(labels))
        raise TaxonomyMismatch(
            f"{what}: its labels are not the items of taxonomy {found!r}"
            + (f"; unknown: {', '.join(extra)}" if extra else "")
            + (f"; missing: {', '.join(lacking)}" if lacking else "")
        )
