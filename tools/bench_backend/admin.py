"""Admin endpoints under /_admin (no auth; loopback only): devices, commands, faults, state."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from device.clock import utc_iso
from device.contract import COMMAND_DEFAULT_TTL_SECONDS
from tools.bench_backend import handlers, validate
from tools.bench_backend.context import Backend
from tools.bench_backend.errors import FaultPlanError
from tools.bench_backend.faults import S3_PUT, parse_plan
from tools.bench_backend.replies import ApiError, Reply, invalid
from tools.bench_backend.store import Command, Device, new_id, now_iso

PROJECT_MAX = 64


def register_device(ctx: Backend, body: Any) -> Reply:
    body = validate.require_object(body)
    project = body.get("project", "default")
    if not isinstance(project, str) or not 1 <= len(project) <= PROJECT_MAX:
        raise invalid("project", f"must be a string of 1..{PROJECT_MAX} characters")
    device = ctx.store.add_device(project)
    return Reply(
        201,
        {
            "id": device.id,
            "device_token": device.token,
            "project": project,
            "end_user_id": device.end_user_id,
        },
    )


def _device(ctx: Backend, device_id: str) -> Device:
    device = ctx.store.devices.get(device_id)
    if device is None:
        raise ApiError(404, f"device {device_id} not found", "not_found")
    return device


def unbind(ctx: Backend, device_id: str) -> Reply:
    """Unbinding revokes the token for good (bind again for a new one)."""
    device = _device(ctx, device_id)
    ctx.store.revoke_token(device)
    device.bound = False
    return Reply(200, device.public())


def revoke(ctx: Backend, device_id: str) -> Reply:
    device = _device(ctx, device_id)
    ctx.store.revoke_token(device)
    return Reply(200, device.public())


def bind(ctx: Backend, device_id: str) -> Reply:
    """Bind the device again: a new token, any current one revoked (as unbind + bind)."""
    device = _device(ctx, device_id)
    device.bound = True
    token = ctx.store.issue_token(device)
    return Reply(200, {"id": device.id, "device_token": token, "project": device.project})


def add_command(ctx: Backend, device_id: str, body: Any) -> Reply:
    device = _device(ctx, device_id)
    fields = validate.command(body)
    ttl = fields["ttl_seconds"] or COMMAND_DEFAULT_TTL_SECONDS
    now = time.time()
    command_id = new_id("cmd")
    command = Command(
        id=command_id,
        device_id=device.id,
        type=fields["type"],
        params=fields["params"],
        grant_token=_grant_token(ctx, device.id, command_id, fields["type"], now + ttl),
        expires_at=utc_iso(now + ttl),
        expires_ts=now + ttl,
        created_at=now_iso(),
    )
    ctx.store.commands[command.id] = command
    return Reply(201, command.public())


def _grant_token(ctx: Backend, device_id: str, command_id: str, kind: str, exp: float) -> str:
    """A signed JWT (HS256) standing in for the service's grant token."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": device_id, "cmd": command_id, "type": kind, "exp": int(exp)}
    payload = b64(json.dumps(claims).encode())
    mac = hmac.new(ctx.grant_secret, f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{b64(mac.digest())}"


def cancel_command(ctx: Backend, command_id: str) -> Reply:
    """Cancel a command not yet executed (it is no longer delivered)."""
    command = ctx.store.commands.get(command_id)
    if command is None:
        raise ApiError(404, f"command {command_id} not found", "not_found")
    command.refresh_expiry(time.time())
    if command.status not in ("pending", "delivered"):
        raise ApiError(409, f"command {command_id} is {command.status}", "command_not_pending")
    command.status = "cancelled"
    return Reply(200, command.public())


def set_faults(ctx: Backend, body: Any) -> Reply:
    try:
        rules = parse_plan(body)
    except FaultPlanError as exc:
        raise ApiError(400, str(exc), "invalid_request", {"where": exc.where}) from exc
    if ctx.s3_direct and any(r.endpoint == S3_PUT for r in rules):
        raise ApiError(400, "s3_put faults need the fault proxy (started with --s3-direct)")
    ctx.faults.replace(rules)
    return Reply(200, {"faults": ctx.faults.rules()})


def clear_faults(ctx: Backend) -> Reply:
    ctx.faults.replace([])
    return Reply(200, {"faults": []})


def get_faults(ctx: Backend) -> Reply:
    return Reply(200, {"faults": ctx.faults.rules(), "served": ctx.faults.served_for(None)})


def set_rate_limits(ctx: Backend, body: Any) -> Reply:
    """{"project"?: name (default: all projects), "window_seconds"?, "calls"?, "upload_urls"?}"""
    body = validate.require_object(body)
    project = body.get("project")
    if project is not None and not isinstance(project, str):
        raise invalid("project", "must be a string")
    changes: dict[str, float] = {}
    for name in ("window_seconds", "calls", "upload_urls"):
        value = body.get(name)
        if value is None:
            continue
        if not validate.is_number(value) or value <= 0:
            raise invalid(name, "must be a number > 0")
        changes[name] = value if name == "window_seconds" else int(value)
    policy = ctx.limiter.configure(project, **changes)
    return Reply(200, {"project": project, **policy.__dict__})


def state(ctx: Backend, device_id: str | None, objects: bool = False) -> Reply:
    """Everything (or one device's part); with `objects`, each media also gets `object_now`:
    what S3 holds for it at this moment ({"size", "md5"} or null), without changing its status."""
    view = ctx.store.snapshot(device_id)
    if objects:
        for rec in view["recordings"].values():
            for media in rec["media"]:
                media["object_now"] = handlers.object_now(ctx, media["key"])
    view["faults_served"] = ctx.faults.served_for(device_id)
    view["faults"] = ctx.faults.rules()
    view["rate_limits"] = ctx.limiter.snapshot()
    view["settings"] = {
        "upload_base_url": ctx.upload_base_url,
        "url_ttl_seconds": ctx.url_ttl_seconds,
        "s3_direct": ctx.s3_direct,
        "bucket": ctx.s3_credentials.bucket,
    }
    view["idempotency_keys"] = len(ctx.idempotency)
    return Reply(200, view)
