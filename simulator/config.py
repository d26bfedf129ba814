"""Simulator settings: one dataclass, and the command line that fills it."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

API_PREFIXES = ("/api/v1", "/api")


@dataclass(slots=True)
class SimulatorConfig:
    """Every setting of the simulator; the command-line flags map one to one onto these fields."""

    host: str = "127.0.0.1"
    port: int = 3000
    user: str = "admin"
    password: str = "portos"
    shop_id: int = 12345
    token_lifetime: float = 3600.0
    keepalive: float = 15.0
    client_timeout: float = 30.0
    api_prefix: str = "/api/v1"
    license_days: int = 365
    demo: bool = False
    demo_interval: float = 3.0
    # Kestrel sends a hub message that spans several 4 KiB buffer segments as several frames.
    ws_fragment_size: int = 4096
    # Keep tickets, versions, receipt numbers and the license in this file across restarts.
    state_file: str | None = None


def _positive(text: str) -> float:
    """Parse a strictly positive number of seconds."""
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text}")
    return value


def _non_negative_int(text: str) -> int:
    """Parse a whole number that is 0 or more."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser; every flag shows its default in --help."""
    defaults = SimulatorConfig()
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Run a PORTOS server simulator (REST, JWT auth and the SignalR hub).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default=defaults.host, help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="TCP port to listen on (0 picks a free one)"
    )
    parser.add_argument("--user", default=defaults.user, help="user name that can log in")
    parser.add_argument("--password", default=defaults.password, help="that user's password")
    parser.add_argument(
        "--shop-id", type=int, default=defaults.shop_id, help="shopId reported by the license"
    )
    parser.add_argument(
        "--token-lifetime",
        type=_positive,
        default=defaults.token_lifetime,
        metavar="SECONDS",
        help="lifetime of an access token (the JWT's exp claim)",
    )
    parser.add_argument(
        "--keepalive",
        type=_positive,
        default=defaults.keepalive,
        metavar="SECONDS",
        help="interval of the hub's ping messages",
    )
    parser.add_argument(
        "--client-timeout",
        type=_positive,
        default=defaults.client_timeout,
        metavar="SECONDS",
        help="close a hub connection that sent nothing for this long",
    )
    parser.add_argument(
        "--api-prefix",
        choices=API_PREFIXES,
        default=defaults.api_prefix,
        help="path prefix of the resource routes (tickets, license)",
    )
    parser.add_argument(
        "--license-days",
        type=int,
        default=defaults.license_days,
        metavar="N",
        help="remaining days of the license; 0 or less means expired",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        default=defaults.demo,
        help="play a restaurant day: tables open, items are added, tickets close or are deleted",
    )
    parser.add_argument(
        "--demo-interval",
        type=_positive,
        default=defaults.demo_interval,
        metavar="SECONDS",
        help="mean pause between two demo actions",
    )
    parser.add_argument(
        "--ws-fragment-size",
        type=_non_negative_int,
        default=defaults.ws_fragment_size,
        metavar="BYTES",
        help="send a hub WebSocket message longer than this as a text frame and continuation "
        "frames of this size, as ASP.NET Core does with large messages; 0 never fragments",
    )
    parser.add_argument(
        "--state-file",
        default=defaults.state_file,
        metavar="PATH",
        help="keep tickets, their versions, receipt numbers and the license in this file across "
        "restarts, even a kill -9 (sessions and tokens are never kept); without it every start "
        "is a new, empty shop",
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> SimulatorConfig:
    """Parse command-line arguments into a SimulatorConfig."""
    namespace = build_parser().parse_args(argv)
    return SimulatorConfig(**vars(namespace))
