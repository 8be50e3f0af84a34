"""`recorder modem status [--json] [--port URL]` and `recorder modem watch`: the modem on the bench.

With `--port` (a device, a by-id path, a pty or any pyserial URL) no config file is needed: a
hardware engineer can read a module's state with nothing but the port. `status` exits 0 when the
modem answered (whatever its state), 1 when the port cannot be opened or the modem is silent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

from device import config as config_mod
from device.cli.common import load_config, print_json
from hal.modem import Modem, ModemError, ModemEvent, ModemSettings, ModemStatus

FIELDS = (
    "sim",
    "registration",
    "operator",
    "access_technology",
    "signal_dbm",
    "rssi",
    "ber",
    "imei",
    "iccid",
    "data_session",
)


def register(verbs: argparse._SubParsersAction) -> None:
    p = verbs.add_parser("modem", help="cellular modem: status, watch")
    sub = p.add_subparsers(dest="modem_verb", required=True)
    status = sub.add_parser("status", help="query the modem once and print its state")
    _common(status)
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument(
        "--connect",
        action="store_true",
        help="wait for registration, then activate the data session (APN from config)",
    )
    status.set_defaults(handler=_status)
    watch = sub.add_parser("watch", help="print modem events as JSON lines until the duration ends")
    _common(watch)
    watch.add_argument("--duration", type=float, default=0.0, help="seconds; 0: until Ctrl-C")
    watch.set_defaults(handler=_watch)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--port",
        default="",
        help="AT port (device, by-id path or pyserial URL); "
        "overrides modem.port and makes the config file optional",
    )
    p.add_argument("--baudrate", type=int, default=0, help="override modem.baudrate")


def settings_from(args: argparse.Namespace) -> ModemSettings:
    """ModemSettings from the config's [modem] (optional with --port) and the flags."""
    if args.port and not os.path.exists(args.config):
        cfg = config_mod.load(None, require_api=False).config
    else:
        cfg = load_config(args, require_api=False)
    overrides: dict[str, object] = {}
    if args.port:
        overrides["port"] = args.port
    if args.baudrate:
        overrides["baudrate"] = args.baudrate
    try:
        settings = ModemSettings.from_object(cfg.modem, **overrides)
    except ValueError as exc:
        raise config_mod.ConfigError("modem", cfg.source, str(exc)) from exc
    if not settings.port:
        raise config_mod.ConfigError(
            "modem.port",
            cfg.source,
            "is empty: no modem configured",
            "a device path or pyserial URL, or pass --port",
        )
    return settings


def _status(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    try:
        with Modem(settings) as modem:
            status = _connect(modem) if args.connect else modem.status()
    except (ModemError, OSError) as exc:
        print(f"recorder: modem: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print_json(status.to_json())
    else:
        _print_human(status)
    return 0


def _connect(modem: Modem) -> ModemStatus:
    """Wait for registration (up to timeout_cops_set_s), then bring the data session up."""
    deadline = time.monotonic() + modem.settings.timeout_cops_set_s
    status = modem.poll(keep_data=False)
    while not status.registered and time.monotonic() < deadline:
        time.sleep(0.2)
        status = modem.status()
    return modem.poll(keep_data=True)


def _print_human(status: ModemStatus) -> None:
    data = status.to_json()
    for key in FIELDS + (
        "mcc_mnc",
        "band",
        "rsrp_dbm",
        "sinr_db",
        "network_time",
        "model",
        "revision",
        "data_address",
        "port",
    ):
        value = data[key]
        print(f"{key:18} {'-' if value is None else value}")
    for error in status.errors:
        print(f"{'query failed':18} {error}")


def _watch(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    stop = threading.Event()

    def show(event: ModemEvent) -> None:
        line = {
            "t": round(time.time(), 3),
            "event": event.kind,
            "detail": event.detail,
            **{k: event.status.to_json()[k] for k in FIELDS},
        }
        print(json.dumps(line), flush=True)

    try:
        with Modem(settings) as modem:
            modem.subscribe(show)
            worker = threading.Thread(target=modem.watch, args=(stop,), daemon=True)
            worker.start()
            stop.wait(args.duration or None)
            stop.set()
            modem.wake()
            worker.join(timeout=settings.timeout_reset_s)
    except (ModemError, OSError) as exc:
        print(f"recorder: modem: {exc}", file=sys.stderr)
        return 1
    return 0
