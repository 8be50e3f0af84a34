"""The store-and-forward worker: drives spool entries through the upload state machine.

One unit of work per `step()`, oldest first, one transfer at a time: create the recording (when its
first media is ready), get an upload URL, PUT the bytes, complete the recording (when it is closed
and every media is uploaded). Every create-type request carries an Idempotency-Key saved in the spool
before the first attempt and reused only to retry that same request. The retry policy decides what a
failure means; nothing here ever deletes a file. `drain()` serves `recorder flush`, `run()` the daemon.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from device import crashpoints, redact
from device.api import ApiClient
from device.api_errors import (
    Conflict,
    EtagMismatch,
    FileChanged,
    Forbidden,
    InvalidRequest,
    MalformedReply,
    NotFound,
    SignatureMismatch,
    TlsError,
    TransferAborted,
    Unauthorized,
    UrlExpired,
)
from device.clock import parse_iso, utc_iso, utc_now_iso
from device.errors import RecorderError
from device.gate import ALLOW_ALL, GateDecision, UploadGate
from device.retry import GiveUp, RetryPolicy
from device.spool import Spool, SpoolBusy
from device.spool.files import md5_of
from device.transfer import put_file
from device.upload_queue import (
    AUTH_PARK_KEY,
    AUTH_REASON_KEY,
    GATE_REASON_KEY,
    Work,
    backlog,
    next_work,
)

log = logging.getLogger(__name__)

SIGNATURE_RETRIES = 3
MALFORMED_PER_KEY = 3


@dataclass(frozen=True)
class UploaderSettings:
    """The `[upload]` knobs the worker uses (see device/config.py)."""

    chunk_size: int = 256 * 1024
    rate_limit_kbps: int = 0
    url_expiry_margin_s: float = 300.0
    unauthorized_retry_s: float = 900.0
    poll_interval_s: float = 2.0
    connect_timeout_s: float = 10.0
    put_timeout_s: float = 60.0
    ca_bundle: str | None = None

    @classmethod
    def from_config(cls, config: Any) -> UploaderSettings:
        up = config.upload
        return cls(
            chunk_size=up.chunk_kib * 1024,
            rate_limit_kbps=up.rate_limit_kbps,
            url_expiry_margin_s=up.url_expiry_margin_s,
            unauthorized_retry_s=up.unauthorized_retry_s,
            poll_interval_s=up.poll_interval_s,
            connect_timeout_s=config.api.connect_timeout_s,
            put_timeout_s=up.put_timeout_s,
            ca_bundle=config.api.ca_bundle or None,
        )


@dataclass(frozen=True)
class StepResult:
    """What one step did: `action` (create, url, put, complete, or idle) and, when idle, why and
    how long until something may be runnable (None: nothing pending at all)."""

    action: str
    ok: bool = True
    reason: str = ""
    wait_s: float | None = None
    parked: bool = False  # idle because everything is parked (unauthorized): flush stops here


@dataclass(frozen=True)
class DrainResult:
    done: bool  # nothing runnable or waiting is left (parked entries may remain)
    timed_out: bool
    parked: tuple[dict[str, Any], ...] = field(default_factory=tuple)


class Uploader:
    """The worker; safe to drive from one thread (the spool itself may be shared with capture)."""

    def __init__(
        self,
        spool: Spool,
        api: ApiClient,
        *,
        gate: UploadGate = ALLOW_ALL,
        policy: RetryPolicy | None = None,
        settings: UploaderSettings | None = None,
        clock: Callable[[], float] = time.time,
        only_recording: str | None = None,
        bounded: bool = False,
    ) -> None:
        """`bounded`: keep the policy's budgets, parking an entry when one is spent (a one-shot
        command must end); the daemon and `flush` never give up on a retryable failure."""
        if spool.owner is None:
            raise SpoolBusy(str(spool.directory))
        self.spool = spool
        self.api = api
        self.gate = gate
        self.settings = settings or UploaderSettings()
        self.policy = (policy or RetryPolicy()) if bounded else _unbounded(policy or RetryPolicy())
        self.clock = clock
        self.only_recording = only_recording  # drive this local recording only (recorder upload)
        self.wake_event = threading.Event()
        self._hold_until = 0.0  # worker-wide backoff: the link or the server asked us to wait
        self._logged: set[tuple[str, str]] = set()
        self._verified: set[str] = set()
        self._unreadable: dict[str, int] = {}  # entry id -> malformed replies under its key

    # ---- driving -------------------------------------------------------------------------------

    def step(self) -> StepResult:
        """Do one unit of work (one request or one PUT), or say why not and how long to wait."""
        now = self.clock()
        held = self._held(now)
        if held is not None:
            return held
        work = next_work(self.spool, now, self.only_recording)
        if work is None:
            return self._idle(now)
        decision = self.gate.before_file(work.media["size"] if work.media else 0)
        if not decision.allowed:
            return self._gate_closed(decision)
        self._set_gate_reason("")
        return self._do(work, decision)

    def drain(
        self,
        deadline: float | None = None,
        stop_event: threading.Event | None = None,
        until: Callable[[], bool] | None = None,
    ) -> DrainResult:
        """Step until nothing is runnable or waiting (parked entries stay), `until()` is true, the
        deadline (time.monotonic()) passes, or stop is set."""
        stop_event = stop_event or threading.Event()
        while not stop_event.is_set():
            if until is not None and until():
                return DrainResult(True, False, tuple(self.parked()))
            result = self.step()
            if result.action != "idle":
                continue
            if result.wait_s is None or result.parked:
                return DrainResult(True, False, tuple(self.parked()))
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return DrainResult(False, True, tuple(self.parked()))
            pause = result.wait_s if left is None else min(result.wait_s, left)
            self._sleep(max(pause, 0.01), stop_event)
        return DrainResult(False, False, tuple(self.parked()))

    def run(self, stop_event: threading.Event) -> None:
        """The daemon loop: drain, then wait for new work (`wake()`), the poll interval or stop."""
        log.info("uploader started")
        while not stop_event.is_set():
            try:
                result = self.step()
            except Exception:  # the worker must outlive any bug in one step; say it once
                log.exception("uploader step failed; retrying after the poll interval")
                result = StepResult("idle", False, "internal error", self.settings.poll_interval_s)
            if result.action == "idle":
                wait = result.wait_s if result.wait_s is not None else self.settings.poll_interval_s
                self._sleep(min(wait, self.settings.poll_interval_s), stop_event)
        log.info("uploader stopped")

    def wake(self) -> None:
        """New work arrived (capture added media): stop waiting."""
        self.wake_event.set()

    def retry_parked(self) -> int:
        """Unpark every parked entry and lift the unauthorized park; return how many were parked."""
        with self.spool.tx() as conn:
            n = conn.execute(
                "UPDATE media SET parked_reason = NULL, next_attempt = 0 "
                "WHERE parked_reason IS NOT NULL AND state IN ('captured', 'url_issued')"
            ).rowcount
            n += conn.execute(
                "UPDATE recordings SET parked_reason = NULL, next_attempt = 0 "
                "WHERE parked_reason IS NOT NULL"
            ).rowcount
            n += conn.execute(
                "DELETE FROM meta WHERE key IN (?, ?)", (AUTH_PARK_KEY, AUTH_REASON_KEY)
            ).rowcount
        self._hold_until = 0.0
        return n

    def lift_auth_park(self) -> None:
        """Try the token again now (after `recorder provision`), without unparking anything else."""
        with self.spool.tx() as conn:
            conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (AUTH_PARK_KEY, AUTH_REASON_KEY))

    def parked(self) -> list[dict[str, Any]]:
        """Entries that will not move without help (or, for `unauthorized`, only slowly)."""
        rows = self.spool.query(
            "SELECT 'media' AS kind, id, recording_id, parked_reason AS reason FROM media "
            "WHERE parked_reason IS NOT NULL AND state IN ('captured', 'url_issued', 'quarantined') "
            "UNION ALL SELECT 'recording', id, id, parked_reason FROM recordings "
            "WHERE parked_reason IS NOT NULL ORDER BY 2 LIMIT 1000"
        )
        reason = self.spool.get_meta(AUTH_REASON_KEY)
        if reason:
            rows.insert(0, {"kind": "all", "id": "*", "recording_id": None, "reason": reason})
        return rows

    # ---- idle states ---------------------------------------------------------------------------

    def _held(self, now: float) -> StepResult | None:
        until = float(self.spool.get_meta(AUTH_PARK_KEY) or 0)
        if until > now:
            reason = self.spool.get_meta(AUTH_REASON_KEY) or "unauthorized"
            return StepResult("idle", False, reason, until - now, parked=True)
        if self._hold_until > now:
            return StepResult("idle", True, "backoff", self._hold_until - now)
        return None

    def _idle(self, now: float) -> StepResult:
        left = backlog(self.spool, self.only_recording)
        if left.empty:
            return StepResult("idle", True, "nothing pending", None)
        due = left.next_due if left.next_due is not None else now
        wait = max(due - now, 0.0) or self.settings.poll_interval_s  # e.g. times not yet valid
        return StepResult("idle", True, "waiting", wait)

    def _gate_closed(self, decision: GateDecision) -> StepResult:
        self._set_gate_reason(decision.reason or "not allowed now")
        wait = decision.retry_after_s or self.settings.poll_interval_s
        return StepResult("idle", False, f"gate: {decision.reason}", wait)

    def _set_gate_reason(self, reason: str) -> None:
        if (self.spool.get_meta(GATE_REASON_KEY) or "") != reason:
            self.spool.set_meta(GATE_REASON_KEY, reason or None)

    def _sleep(self, seconds: float, stop_event: threading.Event) -> None:
        end = time.monotonic() + seconds
        while not stop_event.is_set() and (left := end - time.monotonic()) > 0:
            if self.wake_event.wait(min(left, 0.5)):
                self.wake_event.clear()
                return

    # ---- one unit of work ----------------------------------------------------------------------

    def _do(self, work: Work, decision: GateDecision) -> StepResult:
        action = {"create": self._create, "url": self._get_url, "put": self._put}.get(work.action)
        try:
            if work.action == "complete":
                self._complete(work.recording)
            else:
                action(work.recording, work.media, decision)
        except Exception as error:  # noqa: BLE001 - sorted and logged in _failed; never a crash
            return self._failed(work, error)
        self._succeeded(work)
        return StepResult(work.action)

    def _create(self, rec: dict, media: dict, decision: GateDecision) -> None:
        if not self._file_intact(media):
            return
        key, body = rec["create_key"], json.loads(rec["create_body"] or "null")
        if not key or body is None:
            key, body = new_key("rc"), self._create_body(rec)
            self.spool.update(
                "recording",
                rec["id"],
                "upload.create.key_saved",
                create_key=key,
                create_body=json.dumps(body),
            )
        reply = self.api.create_recording(
            started_at=parse_iso(body["started_at"]),
            ended_at=parse_iso(body["ended_at"]) if body.get("ended_at") else None,
            name=body.get("name"),
            metadata=body.get("metadata"),
            idempotency_key=key,
        )
        crashpoints.hit("upload.create.replied")
        self.spool.transition("recording", rec["id"], "local", "created", server_id=reply.id)
        log.info("recording %s created on the server as %s", rec["id"], reply.id)

    def _create_body(self, rec: dict) -> dict[str, Any]:
        body: dict[str, Any] = {"started_at": rec["started_at"], "metadata": rec["metadata"]}
        if rec["closed"] and rec["ended_at"]:
            body["ended_at"] = rec["ended_at"]
        if rec["name"]:
            body["name"] = rec["name"]
        return body

    def _get_url(self, rec: dict, media: dict, decision: GateDecision) -> None:
        if not self._file_intact(media):
            return
        key = media["url_key"]
        if not key:
            key = new_key("uu")
            self.spool.update("media", media["id"], "upload.url.key_saved", url_key=key)
        reply = self.api.get_upload_url(
            rec["server_id"],
            type=media["type"],
            content_type=media["content_type"],
            file_size_bytes=media["size"],
            captured_at=parse_iso(media["captured_at"]),
            idempotency_key=key,
        )
        crashpoints.hit("upload.url.replied")
        self.spool.transition(
            "media",
            media["id"],
            "captured",
            "url_issued",
            server_media_id=reply.media_id,
            upload_url=reply.upload_url,
            url_headers=json.dumps(dict(reply.headers)),
            url_expires_at=utc_iso(reply.expires_at),
        )

    def _put(self, rec: dict, media: dict, decision: GateDecision) -> None:
        margin = timedelta(seconds=self.settings.url_expiry_margin_s)
        if parse_iso(media["url_expires_at"]) - margin <= self.api.server_now():
            self._drop_url(rec, media, "upload URL within the expiry margin (server time)")
            return
        result = put_file(
            media["upload_url"],
            json.loads(media["url_headers"] or "{}"),
            self.spool.media_path(media),
            chunk_size=self.settings.chunk_size,
            rate_limit_kbps=self.settings.rate_limit_kbps,
            should_continue=self._between_chunks,
            timeout=(self.settings.connect_timeout_s, self.settings.put_timeout_s),
            ca_bundle=self.settings.ca_bundle,
            source_address=decision.source_address,
            known_md5=media["md5"],  # checked against the ETag; the body is not hashed again
        )
        crashpoints.hit("upload.put.done")
        sent_md5 = result.md5_hex or self._md5_on_disk(media)  # ETag not an MD5: look at the file
        if sent_md5 != media["md5"]:
            self._quarantine(rec, media, f"torn file: sent MD5 {sent_md5}, spooled {media['md5']}")
            return
        self.spool.transition(
            "media",
            media["id"],
            "url_issued",
            "uploaded",
            etag=result.etag,
            uploaded_at=utc_now_iso(),
            upload_url=None,
        )
        log.info("media %s uploaded (%d bytes)", media["id"], result.bytes_sent)

    def _between_chunks(self, sent: int, size: int) -> GateDecision:
        crashpoints.hit("upload.put.mid")
        return self.gate.between_chunks(sent, size)

    def _complete(self, rec: dict) -> None:
        key = rec["complete_key"]
        if not key:
            key = new_key("uc")
            self.spool.update("recording", rec["id"], "upload.complete.key_saved", complete_key=key)
        try:
            reply = dict(self.api.complete(rec["server_id"], idempotency_key=key).raw)
        except Conflict as exc:
            log.info("recording %s: complete answered 409 (%s): already done", rec["id"], exc.code)
            reply = {"id": rec["server_id"], "status": "no longer pending (409)"}
        crashpoints.hit("upload.complete.replied")
        self.spool.transition(
            "recording",
            rec["id"],
            "created",
            "completed",
            completed_at=utc_now_iso(),
            server_reply=json.dumps(reply),
        )
        log.info("recording %s (%s) completed", rec["id"], rec["server_id"])

    # ---- outcomes ------------------------------------------------------------------------------

    def _succeeded(self, work: Work) -> None:
        self.policy = self.policy.reset()
        self._logged = {k for k in self._logged if k[0] not in _ids(work)}
        for entry_id in _ids(work):
            self._unreadable.pop(entry_id, None)
        entry = work.media or work.recording
        if entry.get("attempts") or entry.get("last_error"):
            kind = "media" if work.media else "recording"
            row = self.spool.media(entry["id"]) if work.media else self.spool.recording(entry["id"])
            if row.get("last_error"):
                self.spool.update(kind, entry["id"], attempts=0, last_error=None, next_attempt=0)

    def _failed(self, work: Work, error: Exception) -> StepResult:
        rec, media = work.recording, work.media
        if isinstance(error, Unauthorized | Forbidden | TlsError):
            return self._park_all(error)
        if isinstance(error, TransferAborted):
            return StepResult("idle", False, f"gate: {error.reason}", error.retry_after_s)
        if isinstance(error, NotFound) and work.action in ("url", "complete"):
            self._recreate(rec, f"server lost recording {rec['server_id']} (404)")
            return StepResult(work.action, False, str(error))
        if isinstance(error, InvalidRequest):
            self._park(work, f"invalid_request: {error.message or error}")
            return StepResult(work.action, False, str(error))
        if isinstance(error, UrlExpired):
            self._drop_url(rec, media, "upload URL expired at the storage")
            return StepResult(work.action, False, str(error))
        if isinstance(error, SignatureMismatch):
            return self._signature_mismatch(work, error)
        if isinstance(error, FileChanged):
            self._quarantine(rec, media, f"torn file: {error}")
            return StepResult(work.action, False, str(error))
        if isinstance(error, EtagMismatch) and self._md5_on_disk(media) != media["md5"]:
            self._quarantine(rec, media, f"torn file: MD5 changed after spooling ({error.etag})")
            return StepResult(work.action, False, str(error))
        if isinstance(error, Conflict) and work.action in ("create", "url"):
            self._new_key(work, f"conflict on {work.action}: {error.code}")
        if isinstance(error, MalformedReply) and work.action != "put":
            self._unreadable_reply(work)
        return self._retry_later(work, error)

    def _retry_later(self, work: Work, error: Exception) -> StepResult:
        try:
            self.policy, delay = self.policy.next(error)
        except GiveUp as give_up:
            if not isinstance(error, RecorderError):
                log.error("%s failed unexpectedly", work.action, exc_info=error)
            self._park(work, give_up.why + ": " + redact.redact(f"{type(error).__name__}: {error}"))
            return StepResult(work.action, False, str(error))
        entry = work.media or work.recording
        kind = "media" if work.media else "recording"
        text = redact.redact(f"{type(error).__name__}: {error}")
        marker = (entry["id"], type(error).__name__)
        if marker not in self._logged:
            self._logged.add(marker)
            log.warning("%s %s: %s failed, retrying: %s", kind, entry["id"], work.action, text)
        else:
            log.debug(
                "%s %s: %s failed again (%.1f s): %s", kind, entry["id"], work.action, delay, text
            )
        now = self.clock()
        self._hold_until = now + delay
        self.spool.update(
            kind,
            entry["id"],
            attempts=(entry.get("attempts") or 0) + 1,
            last_error=text,
            next_attempt=now + delay,
        )
        return StepResult(work.action, False, text, delay)

    def _park_all(self, error: Exception) -> StepResult:
        """401 (or 403, or a TLS failure): keep everything, retry slowly; a revoked token cannot
        refresh itself, so waiting is all the device can do until someone re-provisions it."""
        reason = "unauthorized" if isinstance(error, Unauthorized | Forbidden) else "tls"
        until = self.clock() + self.settings.unauthorized_retry_s
        with self.spool.tx() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (AUTH_PARK_KEY, repr(until)))
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (AUTH_REASON_KEY, reason))
        crashpoints.hit("upload.parked")
        log.error(
            "uploads parked (%s): %s; retrying in %.0f s",
            reason,
            error,
            self.settings.unauthorized_retry_s,
        )
        return StepResult("idle", False, reason, self.settings.unauthorized_retry_s, parked=True)

    def _park(self, work: Work, reason: str) -> None:
        kind, entry = (
            ("media", work.media)
            if work.action in ("url", "put")
            else ("recording", work.recording)
        )
        self.spool.update(
            kind, entry["id"], "upload.parked", parked_reason=reason, last_error=reason
        )
        log.error("%s %s parked: %s", kind, entry["id"], reason)

    def _signature_mismatch(self, work: Work, error: Exception) -> StepResult:
        media = work.media
        if (media.get("attempts") or 0) + 1 >= SIGNATURE_RETRIES:
            self._park(work, f"storage refused the signature {SIGNATURE_RETRIES} times: {error}")
            return StepResult(work.action, False, str(error))
        self._drop_url(work.recording, media, "storage refused the signature")
        self.spool.update("media", media["id"], attempts=(media.get("attempts") or 0) + 1)
        return StepResult(work.action, False, str(error))

    def _unreadable_reply(self, work: Work) -> None:
        """The same key replays the server's first reply: if that one is unreadable, a retry
        under it never helps. After MALFORMED_PER_KEY of them, the next attempt is a new request
        (whatever the server made under the old key is counted as an orphan)."""
        entry = work.media if work.action == "url" else work.recording
        count = self._unreadable.get(entry["id"], 0) + 1
        self._unreadable[entry["id"]] = count
        if count < MALFORMED_PER_KEY:
            return
        self._unreadable.pop(entry["id"])
        if work.action == "url":
            self.spool.add_orphan(work.media, work.recording["server_id"], "unreadable URL reply")
        self._new_key(work, f"{work.action}: {count} unreadable replies under one key")

    def _new_key(self, work: Work, why: str) -> None:
        log.warning("%s: a new idempotency key for the next attempt", why)
        if work.action == "create":
            self.spool.update("recording", work.recording["id"], create_key=None, create_body=None)
        elif work.action == "complete":
            self.spool.update("recording", work.recording["id"], complete_key=None)
        else:
            self.spool.update("media", work.media["id"], url_key=None)

    def _drop_url(self, rec: dict, media: dict, why: str) -> None:
        """Abandon an issued URL: the next request is a new logical one (new key); the server's
        media is counted as an orphan."""
        log.info("media %s: %s; a new URL will be requested", media["id"], why)
        self._back_to_captured(rec, media, why, "url_issued")

    def _back_to_captured(self, rec: dict, media: dict, why: str, from_state: str) -> None:
        """Forget the media's URL and server media (counted as an orphan): a new logical request."""
        self.spool.add_orphan(media, rec["server_id"], why)
        self.spool.transition(
            "media",
            media["id"],
            from_state,
            "captured",
            url_key=None,
            upload_url=None,
            url_headers=None,
            url_expires_at=None,
            server_media_id=None,
        )

    def _recreate(self, rec: dict, why: str) -> None:
        """The server lost the recording: every media goes back to captured (their server media are
        orphans), then the recording goes back to local with no keys: a new logical create."""
        for media in self.spool.media_of(rec["id"]):
            if media["state"] in ("url_issued", "uploaded"):
                self._back_to_captured(rec, media, why, media["state"])
        self.spool.transition(
            "recording",
            rec["id"],
            "created",
            "local",
            server_id=None,
            create_key=None,
            create_body=None,
            complete_key=None,
        )
        log.warning("recording %s: %s; creating it again", rec["id"], why)

    def _file_intact(self, media: dict) -> bool:
        """Check a file's MD5 once before spending a URL on it; a torn file is quarantined."""
        if media["id"] in self._verified:
            return True
        found = self._md5_on_disk(media)
        if found != media["md5"]:
            self.spool.quarantine(media["id"], f"torn file: MD5 {found}, spooled {media['md5']}")
            return False
        self._verified.add(media["id"])
        return True

    def _md5_on_disk(self, media: dict) -> str:
        try:
            return md5_of(self.spool.media_path(media))
        except FileNotFoundError:
            return "missing"

    def _quarantine(self, rec: dict, media: dict, reason: str) -> None:
        self.spool.quarantine(media["id"], reason)  # counts an issued server media as an orphan


def new_key(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def _unbounded(policy: RetryPolicy) -> RetryPolicy:
    """Never give up on a retryable failure: the worker waits (or parks), it never drops."""
    return replace(
        policy, total=None, connect=None, sent=None, status=None, malformed=None, expired=None
    )


def _ids(work: Work) -> set[str]:
    return {work.recording["id"], *([work.media["id"]] if work.media else [])}
