"""Entry point of `nautilus-bt`: each command module registers its own subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys

COMMAND_MODULES = [
    "cli.backtest",
    "cli.optimize",
    "cli.service",
    "cli.data",
    "cli.remote",
    "cli.keys",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nautilus-bt", description="Nautilus Backtest")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
