"""``binwatch collector …``: run the service and manage what it knows, from the command line.

``register(subparsers)`` adds the commands; FastAPI and SQLAlchemy are imported inside the
handlers, so ``binwatch --help`` works on an edge box without the collector's packages.
What goes wrong in a command is reported in one place (``_reported``): one line on stderr,
its cause with it, and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import getpass
import sys
from pathlib import Path

from binwatch.collector.entity_types import EntityType
from binwatch.collector.errors import CollectorError


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "collector",
        help="the collector service: serve, migrate, add users, devices …",
        description="Run the collector service and manage what it knows.",
    )
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, help="TOML settings file (else BINWATCH_COLLECTOR_CONFIG)")
    common.add_argument("--data-dir", type=Path, help="data folder (BINWATCH_COLLECTOR_DATA_DIR)")
    common.add_argument("--database-url", help="SQLAlchemy URL (BINWATCH_COLLECTOR_DATABASE_URL)")

    def command(name: str, func, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, parents=[common], help=help, description=help)
        sub.set_defaults(func=_reported(func))
        return sub

    serve = command("serve", _serve, "run the HTTP service (uvicorn)")
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (default 1; keep 1 with SQLite)")

    command("migrate", _migrate, "bring the database to the newest schema")

    entity = command("add-entity", _add_entity, "add a responsible entity (Art. 14) and print its id")
    entity.add_argument("--name", required=True)
    entity.add_argument("--type", required=True, help=f"kind of responsible entity: {', '.join(EntityType)}")
    entity.add_argument("--contact", default="")

    site = command("add-site", _add_site, "add a drop-off point with its bins")
    site.add_argument("--id", required=True, dest="site_id")
    site.add_argument("--name", required=True)
    site.add_argument("--address", required=True)
    site.add_argument("--entity", required=True, type=int, help="id of the responsible entity")
    site.add_argument(
        "--bin",
        action="append",
        default=[],
        metavar="BIN_ID:CATEGORY[:LITRES[:DESTINATION]]",
        help="a bin, its category, capacity in litres and destination (repeat); "
        "e.g. --bin k1:kitchen:240:城东餐厨处理厂 --bin o1:other",
    )
    site.add_argument(
        "--zone",
        action="append",
        default=[],
        metavar="ZONE_ID:KIND",
        help="a ground zone (littering) or collection zone (repeat); e.g. --zone g1:ground --zone lane:collection",
    )

    device = command("add-device", _add_device, "register a device at a site and print its token (once)")
    device.add_argument("--id", required=True, dest="device_id")
    device.add_argument("--site", required=True, dest="site_id")
    device.add_argument("--description", default="")

    token = command("device-token", _device_token, "replace a device's token and print the new one")
    token.add_argument("--id", required=True, dest="device_id")

    user = command("add-user", _add_user, "add a reviewer or admin account")
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True, choices=("reviewer", "admin", "entity"))
    user.add_argument("--entity", type=int, dest="entity_id", help="the responsible entity of an entity user")
    user.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    model = command("add-model", _add_model, "register an ONNX model version in the registry")
    model.add_argument("--version", required=True)
    model.add_argument("--file", required=True, type=Path)
    model.add_argument("--metrics", type=Path, help="JSON file with the model's metrics")
    model.add_argument("--sha256", help="expected SHA-256 of the file (checked)")
    model.add_argument("--current", action="store_true", help="also make it the current version")

    export = command("export-reviewed", _export, "write reviewed crops as a data set folder (manifest.csv)")
    export.add_argument("--out", required=True, type=Path)
    _range_args(export)

    ledger = command("ledger", _ledger, "write the Art. 15(5) ledger as CSV")
    ledger.add_argument("--out", type=Path, help="file to write (default: standard output)")
    _range_args(ledger)

    expire = command(
        "expire-evidence", _expire_evidence, "delete the evidence files whose retention has ended (the events stay)"
    )
    expire.add_argument("--dry-run", action="store_true", help="only count what would be deleted")

    blobs = command(
        "migrate-blobs",
        _migrate_blobs,
        "copy the local evidence and model files into the bucket of BLOB_STORE (idempotent, resumable)",
    )
    blobs.add_argument("--from", dest="source", type=Path, help="the local store (default: DATA_DIR/blobs)")
    blobs.add_argument("--to", dest="target", help="s3://bucket/prefix (default: BLOB_STORE)")
    blobs.add_argument("--jobs", type=int, default=8, help="files copied at a time (default 8)")
    blobs.add_argument(
        "--remove-local", action="store_true", help="delete each local file once its copy in the bucket is verified"
    )
    return parser


def day(value: str) -> dt.date:
    """A day the ledger and the export may be asked for (``ValueError``, which argparse reports, outside them)."""
    from binwatch.collector.api.defs.common import parse_day

    return parse_day(value)


def _range_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", type=day, help="first local day, YYYY-MM-DD")
    parser.add_argument("--until", type=day, help="last local day, YYYY-MM-DD")
    parser.add_argument("--site", dest="site_id")


def _settings(args, **extra):
    from binwatch.collector.settings import load_settings

    overrides = {"data_dir": args.data_dir, "database_url": args.database_url, **extra}
    return load_settings(args.config, **{k: v for k, v in overrides.items() if v is not None})


def _reported(func):
    """``func(args)``, with the errors a user can act on as one line on stderr and exit status 1:
    the collector's own, bad settings (``ValueError``), files and ports (``OSError``). Each is
    raised with a message that says its cause (``with_database``, ``listen``, ``load_settings``)."""

    @functools.wraps(func)
    def run(args) -> int:
        try:
            return func(args)
        except (CollectorError, ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

    return run


def _run(args, work, **extra) -> int:
    """Open the (migrated) database and run ``work(settings, db)``."""
    from binwatch.collector.server import migrate, with_database

    settings = _settings(args, **extra)
    migrate(settings)
    return with_database(settings, lambda db: work(settings, db))


def _serve(args) -> int:
    from binwatch.collector.server import serve

    serve(_settings(args, host=args.host, port=args.port, workers=args.workers))
    return 0


def _migrate(args) -> int:
    from binwatch.collector.server import migrate

    settings = _settings(args)
    print(f"database at revision {migrate(settings)}: {settings.db_url.split('@')[-1]}")
    return 0


def _add_entity(args) -> int:
    from binwatch.collector.provisioning import create_entity

    def work(settings, db):
        with db.write() as session:
            entity = create_entity(session, name=args.name, type=args.type, contact=args.contact)
            print(entity.id)
        return 0

    return _run(args, work)


def _add_site(args) -> int:
    from binwatch.collector.provisioning import create_site, parse_plan

    try:
        plan = parse_plan(args.bin, args.zone)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def work(settings, db):
        with db.write() as session:
            site = create_site(
                session, site_id=args.site_id, name=args.name, address=args.address, entity_id=args.entity, **plan
            )
            print(site.id)
        return 0

    return _run(args, work)


def _add_device(args) -> int:
    from binwatch.collector.provisioning import create_device

    def work(settings, db):
        with db.write() as session:
            _device, token = create_device(
                session, device_id=args.device_id, site_id=args.site_id, description=args.description
            )
        print(token)
        print("keep this token: it is shown only now (the collector stores its hash)", file=sys.stderr)
        return 0

    return _run(args, work)


def _device_token(args) -> int:
    from binwatch.collector.provisioning import rotate_device_token

    def work(settings, db):
        with db.write() as session:
            token = rotate_device_token(session, args.device_id)
        print(token)
        return 0

    return _run(args, work)


def _add_user(args) -> int:
    from binwatch.collector.provisioning import create_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            password = getpass.getpass("password: ")
            again = getpass.getpass("again: ")
        except EOFError:  # no terminal, and nothing on standard input
            print("error: no password given; type it at a terminal, or pass it with --password-stdin", file=sys.stderr)
            return 1
        if again != password:
            print("error: the passwords differ", file=sys.stderr)
            return 1

    def work(settings, db):
        with db.write() as session:
            user = create_user(
                session, username=args.username, password=password, role=args.role, entity_id=args.entity_id
            )
            print(f"user {user.username} ({user.role}) id {user.id}")
        return 0

    return _run(args, work)


def _add_model(args) -> int:
    from binwatch.collector.blobs import open_store
    from binwatch.collector.registry import parse_metrics, register_file

    def work(settings, db):
        metrics = parse_metrics(args.metrics.read_text(encoding="utf-8")) if args.metrics else {}
        row, created = register_file(
            db,
            open_store(settings),
            args.file,
            version=args.version,
            metrics=metrics,
            sha256=args.sha256,
            make_current_now=args.current,
            max_bytes=settings.max_model_bytes,
        )
        state = "registered" if created else "already registered"
        print(f"model {row.version} sha256 {row.sha256} {state}{', current' if args.current else ''}")
        return 0

    return _run(args, work)


def _export(args) -> int:
    from binwatch.collector.blobs import open_store
    from binwatch.collector.export import export_folder, reviewed_samples

    def work(settings, db):
        with db.read() as session:
            samples = reviewed_samples(
                session, open_store(settings), since=args.since, until=args.until, site_id=args.site_id
            )
            summary = export_folder(samples, args.out)
        print(f"{summary.exported} reviewed crops written to {args.out} ({summary.skipped} unreadable skipped)")
        return 0

    return _run(args, work)


def _ledger(args) -> int:
    from binwatch.collector.ledger import ledger_csv, ledger_rows

    def work(settings, db):
        with db.read() as session:
            rows = ledger_rows(session, since=args.since, until=args.until, site_id=args.site_id, zone=settings.zone)
        text = "".join(ledger_csv(rows))
        if args.out:
            args.out.write_text(text, encoding="utf-8")
            print(f"{len(rows)} rows written to {args.out}", file=sys.stderr)
        else:
            sys.stdout.write(text.lstrip("\ufeff"))
        return 0

    return _run(args, work)


def _expire_evidence(args) -> int:
    from binwatch.collector.blobs import open_store
    from binwatch.collector.retention import count_due, sweep

    def work(settings, db):
        if args.dry_run:
            due = count_due(db, settings)
            print(f"{due.files} evidence files ({due.bytes / 2**20:.1f} MiB) are past their retention")
        else:
            swept = sweep(db, open_store(settings), settings)
            print(f"{swept.files} evidence files ({swept.bytes / 2**20:.1f} MiB) deleted; their events stay")
        return 0

    return _run(args, work)


def _migrate_blobs(args) -> int:
    from binwatch.collector.blob_migration import check_references, migrate_blobs
    from binwatch.collector.blobs import LocalBlobStore
    from binwatch.collector.s3 import S3BlobStore

    if args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2

    def work(settings, db):
        if not settings.blob_store:
            print("error: name the bucket: --to s3://bucket/prefix or BINWATCH_COLLECTOR_BLOB_STORE", file=sys.stderr)
            return 2
        source_dir = args.source or settings.blob_dir
        if not source_dir.is_dir():
            print(f"error: {source_dir}: no such folder", file=sys.stderr)
            return 1
        source, target = LocalBlobStore(source_dir), S3BlobStore.from_settings(settings)
        print(f"copying {source.root} to {settings.blob_store}", file=sys.stderr)
        report = migrate_blobs(
            source,
            target,
            jobs=args.jobs,
            remove_local=args.remove_local,
            progress=lambda r: print(r.line(), file=sys.stderr, flush=True),
        )
        if not report.gave_up:
            check_references(db, target, report)
        print(report.line())
        for key, why in sorted(report.failed.items()):
            print(f"failed: {key}: {why}", file=sys.stderr)
        for key in report.missing:
            print(f"missing: {key} is referenced by the database and in neither store", file=sys.stderr)
        if report.missing:
            print(f"{len(report.missing)} referenced files are missing", file=sys.stderr)
        return 1 if report.failed or report.missing else 0

    return _run(args, work, blob_store=args.target)
