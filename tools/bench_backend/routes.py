"""URL routing: (method, path) -> endpoint name and path parameters."""

from __future__ import annotations

import re

_ID = r"(?P<id>[A-Za-z0-9_\-]+)"
API_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/v1/recordings"), "create_recording"),
    ("POST", re.compile(rf"/v1/recordings/{_ID}/upload-url"), "upload_url"),
    ("POST", re.compile(rf"/v1/recordings/{_ID}/upload-complete"), "complete"),
    ("GET", re.compile(rf"/v1/recordings/{_ID}"), "get_recording"),
    ("POST", re.compile(rf"/v1/devices/{_ID}/heartbeat"), "heartbeat"),
    ("POST", re.compile(rf"/v1/devices/{_ID}/token/refresh"), "token_refresh"),
]
ADMIN_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"/_admin/devices"), "register_device"),
    ("POST", re.compile(rf"/_admin/devices/{_ID}/unbind"), "unbind"),
    ("POST", re.compile(rf"/_admin/devices/{_ID}/revoke"), "revoke"),
    ("POST", re.compile(rf"/_admin/devices/{_ID}/bind"), "bind"),
    ("POST", re.compile(rf"/_admin/devices/{_ID}/commands"), "add_command"),
    ("POST", re.compile(rf"/_admin/commands/{_ID}/cancel"), "cancel_command"),
    ("GET", re.compile(r"/_admin/state"), "state"),
    ("GET", re.compile(r"/_admin/faults"), "get_faults"),
    ("POST", re.compile(r"/_admin/faults"), "set_faults"),
    ("DELETE", re.compile(r"/_admin/faults"), "clear_faults"),
    ("POST", re.compile(r"/_admin/faults/reset"), "clear_faults"),
    ("POST", re.compile(r"/_admin/rate-limits"), "set_rate_limits"),
    ("GET", re.compile(r"/_admin/health"), "health"),
]
IDEMPOTENT_ENDPOINTS = ("create_recording", "upload_url", "complete")


def match(
    routes: list[tuple[str, re.Pattern[str], str]], method: str, path: str
) -> tuple[str | None, str | None, bool]:
    """(endpoint, id) for a match; (None, None, path_known) otherwise (405 vs 404)."""
    known = False
    for route_method, pattern, name in routes:
        found = pattern.fullmatch(path)
        if found:
            known = True
            if route_method == method:
                return name, found.groupdict().get("id"), True
    return None, None, known
