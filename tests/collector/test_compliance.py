"""The collector judges a corrected label by the very rule the edge box applies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from binwatch.collector.compliance import standing_flags
from binwatch.collector.db.tables import ReviewStatus
from binwatch.datasets import taxonomy
from binwatch.edge.config import ScheduleConfig
from binwatch.edge.flags import rule_flags

NOON = datetime(2026, 1, 5, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize("bin_category", taxonomy.CATEGORY_KEYS)
def test_a_correction_stands_exactly_where_the_edge_would_flag_the_item(bin_category):
    for item in taxonomy.ITEM_KEYS:
        edge = {f.value for f in rule_flags(bin_category, item, NOON, ScheduleConfig())}
        collector = standing_flags(
            ["off_hours"], ReviewStatus.CORRECTED, bin_category, item, taxonomy.category_of(item)
        )
        assert collector == edge | {"off_hours"}, item


def test_a_contaminant_in_the_kitchen_bin_breaks_both_rules():
    assert standing_flags([], ReviewStatus.CORRECTED, "kitchen", "plastic_bag", "other") == {
        "mixed_disposal",
        "kitchen_contamination",
    }
    assert standing_flags([], ReviewStatus.CORRECTED, "other", "plastic_bag", "other") == set()


def test_review_flags_never_stand_and_confirming_an_uncertain_event_judges_its_prediction():
    reported = ["uncertain"]
    assert standing_flags(reported, ReviewStatus.UNREVIEWED, "kitchen", None, None) == set()
    assert standing_flags(reported, ReviewStatus.CONFIRMED, "kitchen", "battery", "hazardous") == {"mixed_disposal"}
    assert standing_flags(reported, ReviewStatus.CONFIRMED, "kitchen", "food_waste", "kitchen") == set()
    assert standing_flags(reported, ReviewStatus.REJECTED, "kitchen", None, None) == set()
    # A confident flag is confirmed as reported, whatever the top item.
    assert standing_flags(["kitchen_contamination"], ReviewStatus.CONFIRMED, "kitchen", "food_waste", "kitchen") == {
        "kitchen_contamination"
    }
    assert standing_flags(["item_unseen", "off_hours"], ReviewStatus.CONFIRMED, "other", None, None) == {"off_hours"}
