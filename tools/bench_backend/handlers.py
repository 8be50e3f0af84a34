"""The device endpoints of the contract: create recording, upload URL, complete, heartbeat,
token refresh. Each runs with the store lock held and returns a Reply or raises ApiError."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from botocore.exceptions import BotoCoreError, ClientError

from device.clock import parse_iso, utc_iso
from device.contract import HEARTBEAT_COMMANDS_FIELD
from tools.bench_backend import validate
from tools.bench_backend.context import Backend
from tools.bench_backend.faults import ServedFault
from tools.bench_backend.presign import presign_put
from tools.bench_backend.replies import ApiError, Reply
from tools.bench_backend.store import Device, Media, Recording, new_id, now_iso


def create_recording(ctx: Backend, device: Device, body: Any) -> Reply:
    fields = validate.create_recording(body)
    rec = Recording(
        id=new_id("rec"),
        device_id=device.id,
        end_user_id=device.end_user_id,
        created_at=now_iso(),
        **fields,
    )
    ctx.store.recordings[rec.id] = rec
    return Reply(201, rec.public())


def _own_recording(ctx: Backend, device: Device, rec_id: str) -> Recording:
    rec = ctx.store.recordings.get(rec_id)
    if rec is None or rec.device_id != device.id:
        raise ApiError(404, f"recording {rec_id} not found", "not_found")
    return rec


def _require_pending(rec: Recording) -> None:
    if rec.status != "pending":
        raise ApiError(
            409,
            f"recording {rec.id} is {rec.status}, not pending",
            "recording_not_pending",
            {"status": rec.status},
        )


def upload_url(
    ctx: Backend, device: Device, rec_id: str, body: Any, fault: ServedFault | None
) -> Reply:
    rec = _own_recording(ctx, device, rec_id)
    fields = validate.upload_url(body)
    _require_pending(rec)
    media_id = new_id("med")
    key = f"{device.id}/{rec.id}/{media_id}"
    signed_at = None
    if fault and fault.rule.kind == "expired_url":
        signed_at = datetime.now(UTC) - timedelta(seconds=fault.param("age_seconds"))
    put = presign_put(
        ctx.s3_credentials,
        ctx.upload_base_url,
        key,
        fields["content_type"],
        fields["file_size_bytes"],
        ctx.url_ttl_seconds,
        signed_at,
    )
    url = put.url
    if fault and fault.rule.kind == "http_url":
        parts = urlsplit(url)
        url = urlunsplit(("http", fault.param("host"), parts.path, parts.query, ""))
    # An expired_url fault still claims the normal expiry (as after a clock skew).
    expires_at = utc_iso(time.time() + ctx.url_ttl_seconds if signed_at else put.expires_at)
    media = Media(
        id=media_id,
        recording_id=rec.id,
        type=fields["type"],
        mime_type=fields["content_type"],
        file_size_bytes=fields["file_size_bytes"],
        captured_at=fields["captured_at"],
        created_at=now_iso(),
        key=key,
        url_expires_at=utc_iso(put.expires_at),
    )
    rec.media.append(media)
    reply = {"media_id": media_id, "upload_url": url, "expires_at": expires_at}
    reply["headers"] = dict(put.headers)
    return Reply(200, reply)


def complete(ctx: Backend, device: Device, rec_id: str) -> Reply:
    rec = _own_recording(ctx, device, rec_id)
    _require_pending(rec)
    for media in rec.media:
        _check_object(ctx, media)
    wrong = [m for m in rec.media if m.problem == "size_mismatch"]
    if wrong:
        raise ApiError(
            409,
            "stored object size differs from file_size_bytes",
            "media_size_mismatch",
            {"media": [_problem(m) for m in wrong]},
        )
    if not any(m.status == "uploaded" for m in rec.media):
        raise ApiError(
            409,
            "no media object of this recording is in storage",
            "media_missing",
            {"media": [_problem(m) for m in rec.media]},
        )
    rec.status = "uploaded"
    rec.completed_at = now_iso()
    if rec.ended_at:
        span = parse_iso(rec.ended_at) - parse_iso(rec.started_at)
        rec.duration_ms = int(span.total_seconds() * 1000)
    return Reply(200, rec.public())


def _problem(media: Media) -> dict[str, Any]:
    return {
        "id": media.id,
        "problem": media.problem,
        "expected_size": media.file_size_bytes,
        "object_size": media.object_size,
    }


def _check_object(ctx: Backend, media: Media) -> None:
    """HEAD the media's object: record its size and MD5; mark uploaded or name the problem."""
    bucket = ctx.s3_credentials.bucket
    try:
        head = ctx.s3_client.head_object(Bucket=bucket, Key=media.key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            media.status, media.problem = "pending", "missing"
            media.object_size = media.object_md5 = None
            return
        raise ApiError(503, "storage is unavailable, retry", "service_unavailable") from exc
    except BotoCoreError as exc:
        raise ApiError(503, "storage is unavailable, retry", "service_unavailable") from exc
    media.object_size = int(head["ContentLength"])
    media.object_md5 = _md5(ctx, media.key, head.get("ETag", ""))
    if media.file_size_bytes is not None and media.object_size != media.file_size_bytes:
        media.status, media.problem = "pending", "size_mismatch"
        return
    media.status, media.problem = "uploaded", None


def object_now(ctx: Backend, key: str) -> dict[str, Any] | None:
    """What S3 holds under `key` right now: {"size", "md5"}, or None if nothing."""
    try:
        head = ctx.s3_client.head_object(Bucket=ctx.s3_credentials.bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise ApiError(503, "storage is unavailable, retry", "service_unavailable") from exc
    return {"size": int(head["ContentLength"]), "md5": _md5(ctx, key, head.get("ETag", ""))}


def _md5(ctx: Backend, key: str, etag: str) -> str:
    etag = etag.strip('"')
    if etag and "-" not in etag:
        return etag
    digest = hashlib.md5(usedforsecurity=False)
    body = ctx.s3_client.get_object(Bucket=ctx.s3_credentials.bucket, Key=key)["Body"]
    for chunk in iter(lambda: body.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _check_device_path(device: Device, path_id: str) -> None:
    if path_id not in ("me", device.id):
        raise ApiError(
            403, f"device {path_id} is not the device of this token", "forbidden", {"id": path_id}
        )


def heartbeat(ctx: Backend, device: Device, path_id: str, body: Any) -> Reply:
    _check_device_path(device, path_id)
    fields = validate.heartbeat(body)
    now = time.time()
    received = utc_iso(now)
    ctx.store.heartbeats.append({"device_id": device.id, "received_at": received, "body": body})
    device.last_heartbeat_at = received
    for result in fields["results"]:
        _apply_result(ctx, device, result, received)
    commands = []
    for command in ctx.store.commands.values():
        if command.device_id != device.id:
            continue
        command.refresh_expiry(now)
        if command.status in ("pending", "delivered"):
            command.status = "delivered"
            command.delivered_at = command.delivered_at or received
            command.deliveries += 1
            commands.append(command.public())
    return Reply(200, {"status": "ok", HEARTBEAT_COMMANDS_FIELD: commands})


def _apply_result(ctx: Backend, device: Device, result: dict[str, Any], at: str) -> None:
    command = ctx.store.commands.get(result["id"])
    if command is None or command.device_id != device.id:
        ctx.store.unknown_results.append({"device_id": device.id, "received_at": at, **result})
        return
    if command.status in ("executed", "failed"):
        return  # at-least-once delivery: a repeated report changes nothing
    command.status = result["status"]
    command.result = result.get("result")
    command.error = result.get("error")
    command.executed_at = at


def token_refresh(ctx: Backend, device: Device, path_id: str) -> Reply:
    _check_device_path(device, path_id)
    return Reply(200, {"device_token": ctx.store.issue_token(device)})


def get_recording(ctx: Backend, device: Device, rec_id: str) -> Reply:
    """Not in the device list of the contract, but handy after a 409: read the state."""
    return Reply(200, _own_recording(ctx, device, rec_id).public())
