"""The collector's tables (SQLAlchemy 2 declarative); Alembic migrations must follow this file.

Times are stored as UTC: SQLite keeps no time zone, so ``UTCDateTime`` normalises on the way
in and marks UTC on the way out, which also keeps SQLite's text comparison in time order.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from binwatch.collector.errors import Invalid
from binwatch.events.schema import CategoryKey

ROW_ID_MAX = 2**31 - 1  # the integer ids (32-bit in PostgreSQL): a larger number names no row


class UTCDateTime(TypeDecorator):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_utc(value: dt.datetime, what: str) -> dt.datetime:
    """An aware time in UTC (a naive one is taken as UTC), or ``Invalid`` for years the database cannot hold."""
    try:
        value = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    except (OverflowError, ValueError):
        raise Invalid(f"{what} is out of range") from None
    if not 2 <= value.year <= 9998:
        raise Invalid(f"{what} is out of range")
    return value


class Role(StrEnum):
    REVIEWER = "reviewer"
    ADMIN = "admin"
    ENTITY = "entity"  # a user of a responsible entity (Art. 14): its own sites and work orders only


RoleName = Literal["reviewer", "admin", "entity"]  # the values of Role, as the users table holds them


class ReviewStatus(StrEnum):
    UNREVIEWED = "unreviewed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CORRECTED = "corrected"


class ReviewAction(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"
    CORRECT = "correct"
    UNDO = "undo"


ReviewActionName = Literal["confirm", "reject", "correct", "undo"]  # the values of ReviewAction, as in reviews


class Base(DeclarativeBase):
    pass


class Entity(Base):
    __tablename__ = "entities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="entity")


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(400))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    entity: Mapped[Entity] = relationship(back_populates="sites")
    bins: Mapped[list[Bin]] = relationship(
        back_populates="site", cascade="all, delete-orphan", order_by="Bin.id", lazy="selectin"
    )
    zones: Mapped[list[Zone]] = relationship(
        back_populates="site", cascade="all, delete-orphan", order_by="Zone.id", lazy="selectin"
    )


class Bin(Base):
    __tablename__ = "bins"

    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[CategoryKey] = mapped_column(String(16))

    capacity_l: Mapped[float | None] = mapped_column(Float)  # litres; what the ledger's quantities are estimated from
    destination: Mapped[str | None] = mapped_column(String(200))  # who takes its contents away (Art. 15(5) 去向)

    site: Mapped[Site] = relationship(back_populates="bins")


class ZoneKind(StrEnum):
    GROUND = "ground"  # the ground beside the bins, where littering is seen (Art. 16)
    COLLECTION = "collection"  # where the bins are emptied into a vehicle (Art. 18)


class Zone(Base):
    """A zone of the site's camera that is not a bin opening; events name it by ``zone_id``."""

    __tablename__ = "zones"

    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))

    site: Mapped[Site] = relationship(back_populates="zones")


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"), index=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_heartbeat: Mapped[dict | None] = mapped_column(JSON)

    site: Mapped[Site] = relationship()


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[RoleName] = mapped_column(String(16))
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Login(Base):
    """A signed-in user: the SHA-256 of the token that a cookie or a bearer header carries."""

    __tablename__ = "logins"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """A login attempt under one rate-limit key, kept unless it succeeded: the throttle every worker shares."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_key", "key", "at"), Index("ix_login_attempts_at", "at"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Event(Base):
    """One observation as the edge box reported it (a disposal, littering, …), plus the current state of its review."""

    __tablename__ = "events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24), default="disposal", server_default="disposal")
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="RESTRICT"))
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    bin_id: Mapped[str | None] = mapped_column(String(64))
    bin_category: Mapped[str | None] = mapped_column(String(16))
    zone_id: Mapped[str | None] = mapped_column(String(64))
    fill_level: Mapped[float | None] = mapped_column(Float)
    quantity_l: Mapped[float | None] = mapped_column(Float)  # emptying: fill level × the bin's capacity, when known
    destination: Mapped[str | None] = mapped_column(String(200))  # emptying: the bin's destination when it arrived
    resolves: Mapped[str | None] = mapped_column(String(36), index=True)  # litter_cleared: the littering it ends
    categories: Mapped[list[str] | None] = mapped_column(JSON)  # mixed_collection
    # littering: when the ground was seen clear again; overflow: when the bin was emptied; and by which event
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(36))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    day: Mapped[dt.date] = mapped_column(Date)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    model_version: Mapped[str] = mapped_column(String(64))
    pred_item: Mapped[str | None] = mapped_column(String(64))
    pred_item_score: Mapped[float | None] = mapped_column(Float)
    pred_category: Mapped[str | None] = mapped_column(String(16))
    pred_category_score: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean)
    compliant: Mapped[bool] = mapped_column(Boolean)
    review_status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.UNREVIEWED.value)
    label_item: Mapped[str | None] = mapped_column(String(64))
    label_category: Mapped[str | None] = mapped_column(String(16))
    review_note: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))

    flags: Mapped[list[EventFlag]] = relationship(
        cascade="all, delete-orphan", order_by="EventFlag.flag", lazy="selectin"
    )
    evidence: Mapped[list[EvidenceFile]] = relationship(
        cascade="all, delete-orphan", order_by="EvidenceFile.kind", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_events_started", "started_at", "id"),
        Index("ix_events_site_day", "site_id", "day"),
        Index("ix_events_review", "flagged", "review_status", "started_at"),
        Index("ix_events_device", "device_id", "started_at"),
        Index("ix_events_kind", "kind", "started_at"),
    )


class EventFlag(Base):
    """A flag of an event: ``reported`` by the edge box, ``standing`` after review."""

    __tablename__ = "event_flags"
    # One b-tree on the key instead of a table plus its key index: a page write less per event.
    __table_args__ = {"sqlite_with_rowid": False}

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    flag: Mapped[str] = mapped_column(String(32), primary_key=True)
    reported: Mapped[bool] = mapped_column(Boolean)
    standing: Mapped[bool] = mapped_column(Boolean)


LIVE_EVIDENCE = "uploaded_at IS NOT NULL AND expired_at IS NULL"


class EvidenceFile(Base):
    """A declared evidence file; ``uploaded_at`` once it is stored, ``expired_at`` once retention deleted it."""

    __tablename__ = "evidence"
    __table_args__ = (
        # The files the retention sweep may delete, oldest first; deleted ones leave the index.
        Index(
            "ix_evidence_live", "uploaded_at", sqlite_where=text(LIVE_EVIDENCE), postgresql_where=text(LIVE_EVIDENCE)
        ),
        {"sqlite_with_rowid": False},  # as event_flags
    )

    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def available(self) -> bool:
        """Stored and not yet deleted by retention: there is a file to show."""
        return self.uploaded_at is not None and self.expired_at is None


class Review(Base):
    """The audit log: every review and every undo, with the event's state before and after."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[ReviewActionName] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"))
    undone: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User | None] = relationship(lazy="joined")


class ModelVersion(Base):
    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    metrics: Mapped[dict] = mapped_column(JSON)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ModelActivation(Base):
    """Each time a version was made current; a rollback marks the newest one ``rolled_back``."""

    __tablename__ = "model_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(ForeignKey("model_versions.version", ondelete="RESTRICT"), index=True)
    activated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rolled_back: Mapped[bool] = mapped_column(Boolean, default=False)


class WorkOrderState(StrEnum):
    OPEN = "open"  # issued to the responsible entity (预警)
    ACKNOWLEDGED = "acknowledged"  # the entity has taken it on (处理)
    CLOSED = "closed"  # put right, with a note and a photo (销项)
    CANCELLED = "cancelled"  # withdrawn by a supervisor


OPEN_ORDER_STATES = (WorkOrderState.OPEN.value, WorkOrderState.ACKNOWLEDGED.value)  # not yet put right


class WorkOrder(Base):
    """A rectification order (整改工单) for a drop-off point, addressed to its responsible entity (Art. 14)."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("sites.id", ondelete="RESTRICT"))
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="RESTRICT"))
    event_id: Mapped[str | None] = mapped_column(ForeignKey("events.id", ondelete="RESTRICT"), index=True)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    close_note: Mapped[str] = mapped_column(Text, default="")
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    photo_size: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    site: Mapped[Site] = relationship(lazy="joined")
    creator: Mapped[User | None] = relationship(lazy="joined")

    __table_args__ = (
        Index("ix_work_orders_entity", "entity_id", "state", "due_at"),
        Index("ix_work_orders_state", "state", "due_at"),
        Index("ix_work_orders_site", "site_id", "created_at"),
    )


class WorkOrderStep(Base):
    """The audit log of a work order: every step, who took it, and the order's state before and after."""

    __tablename__ = "work_order_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User | None] = relationship(lazy="joined")


class PlatformMessage(Base):
    """A change to publish to the city platform (Art. 25), written in the transaction that made the change."""

    __tablename__ = "platform_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the order of publication
    message_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    site_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryState(StrEnum):
    PENDING = "pending"  # not yet accepted by the target; retried with backoff
    DELIVERED = "delivered"
    REFUSED = "refused"  # the target answered with a final refusal (a 4xx); kept for an admin to retry
    CANCELLED = "cancelled"  # its webhook is no longer configured


class PlatformDelivery(Base):
    """One message to one target: ``mqtt`` or a webhook by name; the durable queue of at-least-once delivery."""

    __tablename__ = "platform_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("platform_messages.id", ondelete="CASCADE"), index=True)
    target: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    message: Mapped[PlatformMessage] = relationship(lazy="joined")

    __table_args__ = (Index("ix_platform_deliveries_queue", "target", "state", "id"),)


class Lease(Base):
    """Which collector process does the background work (publication, automatic work orders): one at a time."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
