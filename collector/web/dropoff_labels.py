"""Chinese and English names of what the drop-off-point pages show: event kinds, zones, work-order states,
steps and reasons, delivery states. One table, kept apart so that it merges into the pages' own."""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    "kind.disposal": ("投放", "Disposal"),
    "kind.littering": ("落地垃圾", "Littering"),
    "kind.litter_cleared": ("落地垃圾已清理", "Litter cleared"),
    "kind.overflow": ("满溢", "Overflow"),
    "kind.emptying": ("清运", "Emptying"),
    "kind.mixed_collection": ("混装混运", "Mixed collection"),
    "zone.ground": ("地面区域", "Ground zone"),
    "zone.collection": ("清运区域", "Collection zone"),
    "reason.mixed_disposal": ("混投", "Mixed disposal"),
    "reason.kitchen_contamination": ("厨余垃圾混杂", "Kitchen contamination"),
    "reason.off_hours": ("非投放时间投放", "Off hours"),
    "reason.littering": ("落地垃圾", "Littering"),
    "reason.overflow": ("满溢", "Overflow"),
    "reason.mixed_collection": ("混装混运", "Mixed collection"),
    "order.open": ("待处理", "Open"),
    "order.acknowledged": ("处理中", "Acknowledged"),
    "order.closed": ("已销项", "Closed"),
    "order.cancelled": ("已撤销", "Cancelled"),
    "order.overdue": ("已逾期", "Overdue"),
    "step.create": ("下发工单", "Raised"),
    "step.acknowledge": ("签收", "Acknowledged"),
    "step.close": ("销项", "Closed"),
    "step.reopen": ("退回重办", "Reopened"),
    "step.cancel": ("撤销", "Cancelled"),
    "delivery.pending": ("待发送", "Pending"),
    "delivery.delivered": ("已送达", "Delivered"),
    "delivery.refused": ("被拒收", "Refused"),
    "delivery.cancelled": ("已取消", "Cancelled"),
    "nav.work_orders": ("工单", "Work orders"),
    "nav.platform": ("平台对接", "Platform"),
}


def label(key: str) -> str:
    """``中文 English`` for ``key``; the key itself when the table lacks it."""
    zh, en = LABELS.get(key, ("", key))
    return f"{zh} {en}".strip()
