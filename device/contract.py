"""Facts of the cloud API contract, and this project's choices where the contract is silent.

One place in code for every value both the device and the bench backend must agree on
(see shared/reference/api-contract.md).
"""

from __future__ import annotations

import re

API_VERSION_PATH = "/v1"

MEDIA_CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    "audio": (
        "audio/opus",
        "audio/wav",
        "audio/mpeg",
        "audio/mp4",
        "audio/webm",
        "audio/ogg",
        "audio/flac",
    ),
    "image": ("image/jpeg", "image/png"),
    "video": ("video/mp4",),
}
DEFAULT_CONTENT_TYPE: dict[str, str] = {
    "audio": "audio/opus",
    "image": "image/jpeg",
    "video": "video/mp4",
}

RECORDING_STATUSES = ("pending", "uploaded", "processing", "completed", "failed")
MEDIA_STATUSES = ("pending", "uploaded")
COMMAND_TYPES = ("start_recording", "stop_recording")
COMMAND_STATUSES = ("pending", "delivered", "executed", "failed", "expired", "cancelled")
COMMAND_DEFAULT_TTL_SECONDS = 300
COMMAND_MAX_DURATION_RANGE = (1, 86400)
COMMAND_MAX_DURATION_DEFAULT = 3600

DEVICE_STATES = (
    "idle",
    "recording",
    "syncing",
    "uploading",
    "charging",
    "lowBattery",
    "storageFull",
    "error",
)
CONNECTION_TYPES = ("wifi", "4g", "ble")
STATUS_FLAGS = {
    "charging": 1 << 0,
    "low_battery": 1 << 1,
    "storage_full": 1 << 2,
    "wifi_connected": 1 << 3,
    "lte_connected": 1 << 4,
    "sync_active": 1 << 5,
}
# Heartbeat body fields with (type, min, max) for numbers or (type, max_len) for strings.
HEARTBEAT_NUMBER_FIELDS = {
    "battery_percent": (0, 100),
    "storage_used_mb": (0, None),
    "storage_total_mb": (0, None),
    "signal_strength_dbm": (-150, 0),
    "pending_recordings": (0, None),
    "status_flags": (0, 255),
}
HEARTBEAT_STRING_FIELDS = {"firmware_version": 32, "name": 64, "device_state": 32}

TOKEN_PREFIX_DEVICE = "dtok_"
TOKEN_PREFIX_API_KEY = "sk_live_"
IDEMPOTENCY_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
IDEMPOTENCY_TTL_SECONDS = 24 * 3600

UPLOAD_URL_TTL_SECONDS = 3600
RATE_LIMIT_WINDOW_SECONDS = 60
RATE_LIMIT_ALL_PER_WINDOW = 100
RATE_LIMIT_UPLOAD_URL_PER_WINDOW = 30

# Project choices where the contract is silent (see the last section of api-contract.md).
HEARTBEAT_COMMANDS_FIELD = "commands"  # where the heartbeat reply carries remote commands
HEARTBEAT_RESULTS_FIELD = "command_results"  # how the device reports a command's outcome
