"""The kinds of responsible entity (Art. 14) and their Chinese and English names.

Kept apart from the tables so that the command line can list them without importing SQLAlchemy.
"""

from __future__ import annotations

from enum import StrEnum


class EntityType(StrEnum):
    """Who Art. 14 makes responsible for a drop-off point."""

    PROPERTY_COMPANY = "property_company"
    OWNERS_COMMITTEE = "owners_committee"
    RESIDENTS_COMMITTEE = "residents_committee"
    INSTITUTION = "institution"
    SHOP_OPERATOR = "shop_operator"
    PUBLIC_PLACE_MANAGER = "public_place_manager"
    OTHER = "other"


ENTITY_TYPE_LABELS = {
    EntityType.PROPERTY_COMPANY: ("物业服务企业", "Property service company"),
    EntityType.OWNERS_COMMITTEE: ("业主委员会", "Owners' committee"),
    EntityType.RESIDENTS_COMMITTEE: ("居（村）民委员会", "Residents' (villagers') committee"),
    EntityType.INSTITUTION: ("机关、企事业单位", "Public body or enterprise (own premises)"),
    EntityType.SHOP_OPERATOR: ("经营者", "Shop or market operator"),
    EntityType.PUBLIC_PLACE_MANAGER: ("公共场所管理单位", "Manager of a public place"),
    EntityType.OTHER: ("其他", "Other"),
}
