"""The ``binwatch`` command: one subcommand per package, mirroring the layout.

Each package registers its own subcommands and imports its heavy dependencies inside the
handlers, so that ``binwatch --help`` and ``binwatch edge …`` work on a box without PyTorch.
"""

from __future__ import annotations

import argparse
import logging
import sys

from binwatch import __version__


def build_parser() -> argparse.ArgumentParser:
    from binwatch.datasets import cli as data_cli
    from binwatch.inference import cli as inference_cli
    from binwatch.training import cli as training_cli

    parser = argparse.ArgumentParser(
        prog="binwatch", description="Camera supervision of four-category waste-sorting drop-off points."
    )
    parser.add_argument("--version", action="version", version=f"binwatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    data_cli.register(sub)
    training_cli.register(sub)
    inference_cli.register(sub)
    for module in ("binwatch.edge.simulator.cli", "binwatch.edge.cli", "binwatch.collector.cli", "binwatch.demo"):
        try:
            __import__(module, fromlist=["register"]).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for chatty in ("httpx", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (ValueError, FileNotFoundError, OSError) as exc:
        logging.getLogger("binwatch").debug("failed", exc_info=True)
        print(f"binwatch {args.command}: error: {exc}", file=sys.stderr)
        return 2
