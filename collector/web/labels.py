"""The one translation table of the pages: every label, flag, kind, status, action and message in 中文 and English.

Categories, items and entity types are named where they are defined (``datasets.taxonomy``,
``entity_types``) and join the table as ``category.*``, ``item.*`` and ``entity_type.*``;
everything else the pages say is written here once. Templates call ``t("key")`` (Chinese,
then English marked ``lang="en"``) or ``text("key")`` (plain, for attributes and options). A
key missing from the table is an error when the page renders, never an English word left
on a Chinese page; ``tests/collector/test_web.py`` checks that every flag, kind, review
status and action has its entry.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from binwatch.collector.entity_types import ENTITY_TYPE_LABELS
from binwatch.datasets.taxonomy import CATEGORIES, ITEMS

_WRITTEN: dict[str, tuple[str, str]] = {
    # The frame of every page.
    "brand": ("垃圾分类监督", "waste-sorting supervision"),
    "nav.menu": ("菜单", "Menu"),
    "nav.review": ("审核队列", "Review queue"),
    "nav.stats": ("统计", "Statistics"),
    "nav.devices": ("设备", "Devices"),
    "nav.admin": ("管理", "Admin"),
    "nav.sites": ("投放点", "Sites"),
    "nav.entities": ("责任人", "Entities"),
    "nav.admin_devices": ("设备登记", "Devices"),
    "nav.users": ("用户", "Users"),
    "nav.models": ("模型", "Models"),
    "nav.logout": ("退出", "Log out"),
    "role.reviewer": ("审核员", "reviewer"),
    "role.admin": ("管理员", "admin"),
    "times_in": ("时间为 {zone} 当地时间", "times are local to {zone}"),
    "keys": ("快捷键", "Keys"),
    "error": ("出错", "Error"),
    "error.back": ("返回审核队列", "Back to the review queue"),
    "error.404": ("未找到", "Not found"),
    "error.403": ("无权访问", "Not allowed"),
    "error.409": ("与已有记录冲突", "Conflicts with what is stored"),
    "error.422": ("输入无效", "Invalid input"),
    "none": ("无", "none"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "all": ("全部", "all"),
    "any": ("任意", "any"),
    "filter": ("筛选", "Filter"),
    "show": ("显示", "Show"),
    "save": ("保存", "Save"),
    "add": ("添加", "Add"),
    "date_hint": ("日期格式 yyyy-mm-dd", "dates as yyyy-mm-dd"),
    "bad_date": ("日期格式应为 yyyy-mm-dd", "dates are yyyy-mm-dd"),
    # Log in.
    "login.title": ("登录", "Log in"),
    "login.username": ("用户名", "User name"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.expired": ("登录已过期，请重新登录。", "Your session has expired; please log in again."),
    "login.failed": ("用户名或密码错误。", "Wrong user name or password."),
    "login.throttled": ("尝试次数过多，请稍后再试。", "Too many attempts; try again later."),
    # What an event is flagged for (events.schema.Flag) and how serious that is.
    "flag.mixed_disposal": ("混合投放", "Mixed disposal"),
    "flag.kitchen_contamination": ("厨余混杂", "Kitchen contamination"),
    "flag.off_hours": ("非投放时段", "Off hours"),
    "flag.uncertain": ("识别不确定", "Uncertain"),
    "flag.item_unseen": ("未见物品", "Item unseen"),
    "severity.violation": ("违规", "Violations"),
    "severity.review": ("待确认", "To check"),
    "severity.all": ("全部", "All"),
    "severity.violation_hint": (
        "混合投放、厨余混杂、非投放时段（第十六条）",
        "mixed disposal, kitchen contamination, off hours (Art. 16)",
    ),
    "severity.review_hint": (
        "识别不确定或未见物品：请审核员判断，不作为违规",
        "uncertain or item unseen: a supervisor decides; not violations by themselves",
    ),
    # What was observed (events.schema.EventKind).
    "kind.disposal": ("投放", "Disposal"),
    "kind.littering": ("乱扔垃圾", "Littering"),
    "kind.litter_cleared": ("已清理", "Litter cleared"),
    "kind.overflow": ("满溢", "Overflow"),
    "kind.emptying": ("清运", "Emptying"),
    "kind.mixed_collection": ("混装混运", "Mixed collection"),
    # Reviews (collector.db.tables.ReviewStatus, ReviewAction) and the audit log.
    "status.unreviewed": ("待审核", "unreviewed"),
    "status.confirmed": ("已确认", "confirmed"),
    "status.rejected": ("误报", "false positive"),
    "status.corrected": ("已更正", "corrected"),
    "action.confirm": ("确认", "Confirm"),
    "action.reject": ("误报", "False positive"),
    "action.correct": ("更正", "Correct"),
    "action.undo": ("撤销", "Undo"),
    "done.confirm": ("已确认 {n} 个事件", "{n} event(s) confirmed"),
    "done.reject": ("已将 {n} 个事件标为误报", "{n} event(s) marked as false positives"),
    "done.correct": ("已更正 {n} 个事件", "{n} event(s) corrected"),
    "done.undo": ("已撤销 {n} 个审核", "{n} review(s) undone"),
    "done.queue_empty": ("队列中已无待审核事件。", "Nothing left to review in this queue."),
    "audit.title": ("审核记录", "Audit log"),
    "audit.when": ("时间", "When"),
    "audit.who": ("审核人", "Who"),
    "audit.action": ("操作", "Action"),
    "audit.before": ("之前", "Before"),
    "audit.after": ("之后", "After"),
    "audit.note": ("备注", "Note"),
    "audit.empty": ("尚未审核", "not reviewed yet"),
    "audit.undone": ("已撤销", "undone"),
    # The queue.
    "queue.title": ("审核队列", "Review queue"),
    "queue.unreviewed": ("待审核", "unreviewed"),
    "queue.site": ("投放点", "Site"),
    "queue.status": ("状态", "Status"),
    "queue.flag": ("标记", "Flag"),
    "queue.bin": ("垃圾桶", "Bin"),
    "queue.day": ("日期", "Day"),
    "queue.days": ("有待审核事件的日期", "Days with unreviewed events"),
    "queue.calendar": ("日历", "Calendar"),
    "queue.more_filters": ("更多筛选", "More filters"),
    "weekday.0": ("一", "Mo"),
    "weekday.1": ("二", "Tu"),
    "weekday.2": ("三", "We"),
    "weekday.3": ("四", "Th"),
    "weekday.4": ("五", "Fr"),
    "weekday.5": ("六", "Sa"),
    "weekday.6": ("日", "Su"),
    "queue.month_prev": ("上月", "Previous month"),
    "queue.month_next": ("下月", "Next month"),
    "queue.clear_day": ("所有日期", "All days"),
    "queue.empty": ("暂无待审核事件。", "Nothing to review here."),
    "queue.older": ("更早", "Older"),
    "queue.newest": ("最新", "Newest"),
    "queue.predicted": ("识别为", "predicted"),
    "queue.no_snapshot": ("无快照", "no snapshot"),
    "queue.preview": ("预览视频", "Preview the clip"),
    "queue.select": ("选择", "Select"),
    "queue.select_all": ("全选", "Select all"),
    "queue.selected": ("已选", "selected"),
    "queue.confirm_selected": ("确认所选", "Confirm selected"),
    "queue.reject_selected": ("所选为误报", "False positive: selected"),
    "queue.confirm_many": ("确认所选的 {n} 个事件？", "Confirm the {n} selected events?"),
    "queue.reject_many": ("将所选的 {n} 个事件标为误报？", "Mark the {n} selected events as false positives?"),
    "queue.keys": (
        "j/k 上下移动 · Enter 打开 · x 选择 · a 全选 · c 确认所选",
        "j/k move · Enter open · x select · a select all · c confirm selected",
    ),
    "queue.nothing_selected": ("未选择事件", "no event selected"),
    # The event page.
    "event.back": ("审核队列", "Review queue"),
    "event.prev": ("上一个", "Previous"),
    "event.next": ("下一个", "Next"),
    "event.clip": ("视频", "Clip"),
    "event.no_clip": ("未上传视频", "no clip uploaded"),
    "event.expired": (
        "证据已过期，于 {at} 按保存期限删除",
        "Evidence expired, deleted {at} at the end of the retention period",
    ),
    "event.snapshot": ("快照", "Snapshot"),
    "event.crop": ("物品", "Item"),
    "event.zoom": ("查看原图", "Full size"),
    "event.zoom_hint": ("点击图片切换适应窗口 / 原始大小；Esc 关闭", "click the image: fit / actual size; Esc closes"),
    "event.close": ("关闭", "Close"),
    "event.download_clip": ("下载视频", "Download the clip"),
    "event.download": ("下载", "Download"),
    "event.site": ("投放点", "Site"),
    "event.time": ("时间", "Time"),
    "event.bin": ("垃圾桶", "Bin"),
    "event.predicted_item": ("识别物品", "Predicted item"),
    "event.predicted_category": ("识别类别", "Predicted category"),
    "event.flags": ("标记", "Flags"),
    "event.standing": ("成立的违规", "Standing violations"),
    "event.review": ("审核", "Review"),
    "event.compliant": ("合规", "Compliant"),
    "event.device_model": ("设备 · 模型", "Device · model"),
    "event.note": ("备注", "Note"),
    "event.correct_to": ("更正为", "Correct to"),
    "event.choose_item": ("— 选择物品 —", "— choose an item —"),
    "event.discard_note": ("放弃已输入的备注？", "Discard the note you typed?"),
    "event.keys": (
        "c 确认 · r 误报 · x 选择物品 · e 更正 · m 备注 · Esc 离开输入框 · u 撤销 · j/n 下一个 · k/p 上一个 · z 原图 · "
        "d 下载视频 · q 队列",
        "c confirm · r false positive · x choose item · e correct · m note · Esc leaves a field · u undo · j/n next · "
        "k/p previous · z full size · d download the clip · q queue",
    ),
    "event.swipe": ("左右滑动切换事件", "swipe left or right for the next or previous event"),
    # Statistics.
    "stats.title": ("统计", "Statistics"),
    "stats.from": ("起", "From"),
    "stats.to": ("止", "To"),
    "stats.ledger": ("台账 CSV", "Ledger CSV"),
    "stats.disposals": ("投放", "Disposals"),
    "stats.flagged": ("标记", "Flagged"),
    "stats.compliant": ("合规", "Compliant"),
    "stats.rate": ("合规率", "Compliance"),
    "stats.reviewed": ("已审核", "Reviewed"),
    "stats.backlog": ("待审核", "Backlog"),
    "stats.standing": ("成立：{flag}", "standing: {flag}"),
    "stats.definition": (
        "合规率 = 无成立违规的投放 ÷ 投放；被判为误报的标记不成立。违规列统计审核后仍成立的标记。",
        "Compliance rate = disposals with no standing violation ÷ disposals; a flag rejected as a false positive "
        "does not stand. The violation columns count flags that stand after review.",
    ),
    "stats.per_site": ("按投放点", "Per site"),
    "stats.per_day": ("按日", "Per day"),
    "stats.per_entity": ("按责任人", "Per responsible entity"),
    "stats.site": ("投放点", "Site"),
    "stats.day": ("日期", "Day"),
    "stats.entity": ("责任人", "Entity"),
    "stats.empty": ("该时段内无投放", "no disposals in this range"),
    "stats.chart_sites": ("各投放点合规率", "compliance rate per site"),
    "stats.chart_days": ("每日投放", "disposals per day"),
    "stats.legend_ok": ("合规", "compliant"),
    "stats.legend_bad": ("不合规", "not compliant"),
    "stats.of": ("{rate}（共 {n} 次投放）", "{rate} of {n} disposals"),
    # Devices.
    "devices.title": ("设备", "Devices"),
    "devices.offline_after": ("超过 {s} 秒未收到心跳即为离线。", "A device unheard for {s} s is offline."),
    "devices.device": ("设备", "Device"),
    "devices.site": ("投放点", "Site"),
    "devices.state": ("状态", "State"),
    "devices.heartbeat": ("最近心跳", "Last heartbeat"),
    "devices.model": ("模型", "Model"),
    "devices.outbox": ("待发送", "Outbox"),
    "devices.camera": ("摄像头", "Camera"),
    "devices.fps": ("帧率", "FPS"),
    "devices.last_event": ("最近事件", "Last event"),
    "devices.empty": ("尚无登记设备", "no devices registered"),
    "device.online": ("在线", "online"),
    "device.offline": ("离线", "offline"),
    "device.revoked": ("已吊销", "revoked"),
    "camera.streaming": ("正常", "streaming"),
    "camera.reconnecting": ("重连中", "reconnecting"),
    "camera.stopped": ("已停止", "stopped"),
    # Admin: devices.
    "admin.devices.title": ("设备登记", "Devices (admin)"),
    "admin.devices.description": ("说明", "Description"),
    "admin.devices.registered": ("登记时间", "Registered"),
    "admin.devices.token": ("令牌", "Token"),
    "admin.devices.new_token": ("新令牌", "New token"),
    "admin.devices.new_token_confirm": (
        "替换 {id} 的令牌？旧令牌将失效。",
        "Replace the token of {id}? The old one stops working.",
    ),
    "admin.devices.revoke": ("吊销", "Revoke"),
    "admin.devices.revoke_confirm": ("吊销设备 {id}？", "Revoke {id}?"),
    "admin.devices.register": ("登记设备", "Register a device"),
    "admin.devices.id": ("设备编号", "Device id"),
    "admin.devices.submit": ("登记", "Register"),
    "admin.token.title": ("{id} 的令牌", "Token of {id}"),
    "admin.token.once": (
        "请立即将其填入设备配置：令牌只显示这一次（系统只保存其哈希值）。",
        "Copy it into the device's configuration now: it is shown only once (the collector keeps only its hash).",
    ),
    "admin.token.back": ("返回设备登记", "Back to devices"),
    # Admin: entities, sites, users.
    "admin.entities.title": ("管理责任人（第十四条）", "Responsible entities (Art. 14)"),
    "admin.entities.add": ("添加责任人", "Add an entity"),
    "admin.entities.columns": ("名称 · 类型 · 联系方式", "Name · type · contact"),
    "admin.entities.sites": ("投放点", "Sites"),
    "admin.name": ("名称", "Name"),
    "admin.type": ("类型", "Type"),
    "admin.contact": ("联系方式", "Contact"),
    "admin.sites.title": ("投放点", "Sites"),
    "admin.sites.columns": (
        "名称 · 地址 · 责任人 · 垃圾桶（编号:类别, …）",
        "Name · address · entity · bins (BIN_ID:category, …)",
    ),
    "admin.sites.add": ("添加投放点", "Add a site"),
    "admin.sites.id": ("投放点编号", "Site id"),
    "admin.sites.address": ("地址", "Address"),
    "admin.sites.entity": ("责任人", "Responsible entity"),
    "admin.sites.bins": ("垃圾桶", "Bins"),
    "admin.sites.need_entity": ("请先添加责任人。", "Add a responsible entity first."),
    "admin.users.title": ("用户", "Users"),
    "admin.users.columns": ("角色 · 启用 · 新密码", "Role · active · new password"),
    "admin.users.since": ("创建时间", "Since"),
    "admin.users.active": ("启用", "active"),
    "admin.users.new_password": ("新密码", "new password"),
    "admin.users.add": ("添加用户", "Add a user"),
    "admin.users.password": ("密码（至少 8 个字符）", "Password (8+ characters)"),
    "admin.users.role": ("角色", "Role"),
    # Admin: models.
    "admin.models.title": ("模型版本", "Model versions"),
    "admin.models.version": ("版本", "Version"),
    "admin.models.size": ("大小", "Size"),
    "admin.models.metrics": ("指标", "Metrics"),
    "admin.models.uploaded": ("上传时间", "Uploaded"),
    "admin.models.current": ("当前", "current"),
    "admin.models.make_current": ("设为当前", "Make current"),
    "admin.models.empty": ("尚无模型版本", "no model versions yet"),
    "admin.models.rollback": ("回滚", "Roll back"),
    "admin.models.rollback_confirm": ("回滚到上一个当前版本？", "Roll back to the previous current version?"),
    "admin.models.upload": ("上传新版本", "Upload a version"),
    "admin.models.file": ("ONNX 文件", "ONNX file"),
    "admin.models.sha256": ("SHA-256（可不填：自动计算）", "SHA-256 (optional: computed for you)"),
    "admin.models.hashing": ("正在计算 SHA-256…", "computing the SHA-256…"),
    "admin.models.hashed": ("已在浏览器中计算，服务器将核对", "computed in the browser; the server checks it"),
    "admin.models.submit": ("上传", "Upload"),
    # Messages after a form (carried by the redirect as ``ok``).
    "saved.entity_added": ("已添加责任人 {name}", "entity {name} added"),
    "saved.entity": ("已保存责任人 {name}", "entity {name} saved"),
    "saved.site_added": ("已添加投放点 {id}", "site {id} added"),
    "saved.site": ("已保存投放点 {id}", "site {id} saved"),
    "saved.device_revoked": ("已吊销设备 {id}", "device {id} revoked"),
    "saved.user_added": ("已添加用户 {name}", "user {name} added"),
    "saved.user": ("已保存用户", "user saved"),
    "saved.model": ("已登记模型 {version}", "model {version} registered"),
    "saved.model_current": ("模型 {version} 已设为当前", "model {version} is current"),
    "saved.rolled_back": ("已回滚到上一个版本", "rolled back to the previous version"),
}


def _joined() -> dict[str, tuple[str, str]]:
    table = dict(_WRITTEN)
    table.update({f"category.{c.key}": (c.zh, c.en) for c in CATEGORIES})
    table.update({f"item.{i.key}": (i.zh, i.en) for i in ITEMS})
    table.update({f"entity_type.{k.value}": v for k, v in ENTITY_TYPE_LABELS.items()})
    return table


LABELS: dict[str, tuple[str, str]] = _joined()


def pair(key: str, **params: object) -> tuple[str, str]:
    """The Chinese and English of ``key``, with ``params`` filled in; a missing key raises ``KeyError``."""
    zh, en = LABELS[key]
    return (zh.format(**params), en.format(**params)) if params else (zh, en)


def text(key: str, **params: object) -> str:
    """``中文 English`` as plain text: for attributes, options, titles and messages in a redirect."""
    zh, en = pair(key, **params)
    return f"{zh} {en}"


def t(key: str, **params: object) -> Markup:
    """``中文 English`` for the page, the English marked as such (fonts, screen readers, hyphenation)."""
    zh, en = (escape(template).format(**params) for template in LABELS[key])
    return Markup('{} <span lang="en">{}</span>').format(zh, en)
