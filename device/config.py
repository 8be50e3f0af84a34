"""The one typed, immutable config tree: TOML file, then `RECORDER_<SECTION>_<KEY>` overrides.

Every section is a frozen dataclass; each field's metadata says what is allowed (a range or a set of
choices), so validation and the error message come from one place. Unknown keys are warnings (a newer
config must not stop an older agent); `recorder config check` turns them into a failure.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from device.errors import RecorderError

DEFAULT_CONFIG_PATH = "/etc/recorder/config.toml"
ENV_PREFIX = "RECORDER_"


class ConfigError(RecorderError, ValueError):
    """A config value is wrong: names the key, the file and what is allowed."""

    def __init__(self, key: str, source: str, problem: str, allowed: str = "") -> None:
        text = f"{source}: {key}: {problem}"
        if allowed:
            text += f" (allowed: {allowed})"
        super().__init__(text)
        self.key = key
        self.source = source
        self.problem = problem
        self.allowed = allowed


def _rng(lo: float | None = None, hi: float | None = None, doc: str = "") -> dict[str, Any]:
    return {"min": lo, "max": hi, "doc": doc}


def _one_of(*choices: Any, doc: str = "") -> dict[str, Any]:
    return {"choices": tuple(choices), "doc": doc}


def _doc(text: str) -> dict[str, Any]:
    return {"doc": text}


def _checked(check: Any, doc: str) -> dict[str, Any]:
    """A key validated by `check(value) -> problem or ""` (formats a range or choice cannot say)."""
    return {"check": check, "doc": doc}


def _check_hhmm(value: str) -> str:
    if value == "" or re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
        return ""
    return f"{value!r} is not a time of day HH:MM (00:00 to 23:59)"


def _check_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"{value!r} is not a known IANA time zone (e.g. UTC, Europe/Berlin)"
    return ""


UPLOAD_MODES = ("auto", "wifi_only", "wifi_preferred", "4g_preferred", "4g_only", "ble_only")
MEDIA_TYPES = ("audio", "image", "video")


@dataclass(frozen=True)
class ApiConfig:
    base_url: str = field(default="", metadata=_doc("API base URL, e.g. https://api.bota.dev/v1"))
    token_file: str = field(default="/var/lib/recorder/token.sealed", metadata=_doc("sealed token"))
    key_file: str = field(default="/etc/recorder/vault.key", metadata=_doc("key sealing the token"))
    ca_bundle: str = field(
        default="", metadata=_doc("PEM bundle for a private CA; empty: system CAs")
    )
    device_id: str = field(default="me", metadata=_doc("device id for heartbeat/refresh paths"))
    connect_timeout_s: float = field(default=10.0, metadata=_rng(0.05, 300))
    read_timeout_s: float = field(default=30.0, metadata=_rng(0.05, 3600))
    max_reply_kib: int = field(default=256, metadata=_rng(1, 65536))
    token_refresh_days: float = field(default=0.0, metadata=_rng(0, 3650, "0 disables"))


@dataclass(frozen=True)
class SpoolConfig:
    dir: str = field(default="/var/lib/recorder/spool", metadata=_doc("media files and spool.db"))
    max_mb: int = field(default=1024, metadata=_rng(1, 10_000_000))
    reserve_mb: int = field(default=8, metadata=_rng(0, 1024, "kept free so SQLite can commit"))


@dataclass(frozen=True)
class UploadConfig:
    chunk_kib: int = field(default=256, metadata=_rng(64, 1024))
    rate_limit_kbps: int = field(default=0, metadata=_rng(0, 10_000_000, "0: no cap"))
    mode: str = field(default="auto", metadata=_one_of(*UPLOAD_MODES))
    allow_roaming: bool = False
    daily_cellular_mb: int = field(default=0, metadata=_rng(0, 10_000_000, "0: unlimited"))
    pause_below_battery_percent: int = field(default=15, metadata=_rng(0, 100))
    off_peak_start: str = field(default="", metadata=_checked(_check_hhmm, "HH:MM, empty: no window"))
    off_peak_end: str = field(default="", metadata=_checked(_check_hhmm, "HH:MM, empty: no window"))
    timezone: str = field(
        default="UTC", metadata=_checked(_check_zone, "IANA zone for midnight and off-peak")
    )
    url_expiry_margin_s: float = field(default=300.0, metadata=_rng(0, 3600))
    retry_base_s: float = field(default=1.0, metadata=_rng(0.001, 3600))
    retry_max_s: float = field(default=300.0, metadata=_rng(0.001, 86400))
    retry_after_cap_s: float = field(default=900.0, metadata=_rng(0.001, 86400))
    unauthorized_retry_s: float = field(default=900.0, metadata=_rng(0.01, 86400))
    put_timeout_s: float = field(default=60.0, metadata=_rng(0.05, 3600, "read timeout of a PUT"))
    poll_interval_s: float = field(default=2.0, metadata=_rng(0.01, 3600))


@dataclass(frozen=True)
class ModemConfig:
    port: str = field(default="", metadata=_doc("pyserial URL or device; empty: no modem"))
    baudrate: int = field(default=115200, metadata=_rng(300, 4_000_000))
    flow_control: str = field(default="none", metadata=_one_of("none", "rtscts", "xonxoff"))
    apn: str = ""
    apn_user: str = ""
    apn_password: str = ""
    apn_auth: str = field(default="none", metadata=_one_of("none", "pap", "chap", "pap_or_chap"))
    pdp_type: str = field(default="IP", metadata=_one_of("IP", "IPV6", "IPV4V6"))
    pin: str = ""
    pin_state_file: str = field(
        default="/var/lib/recorder/modem-pin-attempts.json",
        metadata=_doc("SIMs whose PIN was tried without success: never tried again"),
    )
    data_path: str = field(default="none", metadata=_one_of("none", "usbnet", "qmi", "ppp", "sim"))
    interface: str = field(default="", metadata=_doc("host interface of the data path, e.g. wwan0"))
    data_port: str = field(default="", metadata=_doc("second serial port for data_path = ppp"))
    apn_table: str = field(
        default="", metadata=_doc("APN by network: '26201=internet.telekom,20404=live.vodafone'")
    )
    timeout_default_s: float = field(default=5.0, metadata=_rng(0.01, 600))
    timeout_cpin_s: float = field(default=10.0, metadata=_rng(0.01, 600))
    timeout_csq_s: float = field(default=3.0, metadata=_rng(0.01, 600))
    timeout_cops_query_s: float = field(default=3.0, metadata=_rng(0.01, 600))
    timeout_cops_set_s: float = field(default=180.0, metadata=_rng(0.01, 600))
    timeout_pdp_s: float = field(default=150.0, metadata=_rng(0.01, 600))
    timeout_reset_s: float = field(default=60.0, metadata=_rng(0.01, 600))
    poll_interval_s: float = field(default=30.0, metadata=_rng(0.01, 3600))
    reset_hook: str = field(default="", metadata=_doc("command for a hardware reset; empty: none"))
    reopen_interval_s: float = field(default=0.5, metadata=_rng(0.01, 60, "port reopen retry"))


@dataclass(frozen=True)
class AudioConfig:
    backend: str = field(default="alsa", metadata=_one_of("alsa", "sim"))
    device: str = field(default="default", metadata=_doc("ALSA PCM name; null: silence"))
    codec: str = field(default="opus", metadata=_one_of("opus", "wav"))
    sample_rate_hz: int = field(default=16000, metadata=_one_of(8000, 16000, 24000, 48000))
    bitrate_kbps: int = field(default=32, metadata=_rng(6, 510))
    segment_seconds: float = field(default=60.0, metadata=_rng(0.1, 3600))
    sim_source: str = field(default="tone", metadata=_one_of("tone", "noise", "counter", "wav"))
    sim_file: str = field(default="", metadata=_doc("WAV file for sim_source = wav"))
    sim_speed: float = field(default=1.0, metadata=_rng(0.01, 10000, "1: real time"))
    buffer_seconds: float = field(default=10.0, metadata=_rng(0.1, 600))


@dataclass(frozen=True)
class CameraConfig:
    backend: str = field(default="v4l2", metadata=_one_of("v4l2", "sim", "none"))
    device: str = "/dev/video0"
    interval_seconds: float = field(default=60.0, metadata=_rng(0, 86400, "0: no stills"))
    width: int = field(default=1280, metadata=_rng(16, 8192))
    height: int = field(default=720, metadata=_rng(16, 8192))


@dataclass(frozen=True)
class NetConfig:
    backend: str = field(default="sysfs", metadata=_one_of("sysfs", "sim"))
    wifi_interface: str = field(default="", metadata=_doc("e.g. wlan0; empty: the first wireless one"))
    ethernet_interface: str = field(default="", metadata=_doc("e.g. eth0; empty: no Ethernet link"))
    cellular_interface: str = field(default="", metadata=_doc("e.g. wwan0; empty: modem.interface"))
    sim_file: str = field(default="", metadata=_doc("JSON link state for backend sim"))


@dataclass(frozen=True)
class PowerConfig:
    backend: str = field(default="sysfs", metadata=_one_of("sysfs", "sim"))
    sysfs_root: str = field(default="/sys/class/power_supply", metadata=_doc("power_supply class"))
    sim_file: str = field(default="", metadata=_doc("JSON battery state for backend sim"))


@dataclass(frozen=True)
class CaptureConfig:
    max_duration_seconds: float = field(default=3600.0, metadata=_rng(1, 86400))
    time_policy: str = field(
        default="sync",
        metadata=_one_of("sync", "plausible", doc="when wall time counts as valid for stamping"),
    )


@dataclass(frozen=True)
class HeartbeatConfig:
    interval_seconds: float = field(default=300.0, metadata=_rng(0.05, 86400))


@dataclass(frozen=True)
class AgentConfig:
    """The daemon (`recorder run`): worker supervision, liveness deadlines, local triggers."""

    name: str = field(default="", metadata=_doc("device name sent in heartbeats; empty: none"))
    firmware_version: str = field(default="", metadata=_doc("empty: the agent's version"))
    shutdown_timeout_s: float = field(default=3.0, metadata=_rng(0.1, 60, "SIGTERM to exit"))
    restart_backoff_base_s: float = field(default=1.0, metadata=_rng(0.01, 3600))
    restart_backoff_max_s: float = field(default=60.0, metadata=_rng(0.01, 3600))
    max_worker_deaths: int = field(default=3, metadata=_rng(1, 1000, "within death_window_s"))
    death_window_s: float = field(default=600.0, metadata=_rng(1, 86400))
    capture_deadline_s: float = field(default=30.0, metadata=_rng(0.1, 3600, "liveness"))
    upload_deadline_s: float = field(default=120.0, metadata=_rng(0.1, 3600, "liveness"))
    heartbeat_deadline_s: float = field(
        default=0.0, metadata=_rng(0, 3600, "liveness; 0: api timeouts + 10 s")
    )
    modem_deadline_s: float = field(default=0.0, metadata=_rng(0, 3600, "0: poll + AT timeouts"))
    heartbeat_retry_s: float = field(default=30.0, metadata=_rng(0.05, 3600, "after a failure"))
    low_battery_percent: int = field(default=20, metadata=_rng(0, 100))
    trigger_signal: bool = field(default=True, metadata=_doc("SIGUSR1 starts/stops a recording"))
    schedule: str = field(
        default="", metadata=_doc("daily starts, HH:MM[,HH:MM...] in upload.timezone")
    )
    schedule_duration_s: float = field(default=600.0, metadata=_rng(1, 86400))


@dataclass(frozen=True)
class LogConfig:
    level: str = field(default="INFO", metadata=_one_of("DEBUG", "INFO", "WARNING", "ERROR"))
    file: str = field(default="", metadata=_doc("log file; empty: stderr only"))
    max_kib: int = field(default=1024, metadata=_rng(16, 1_048_576))
    backups: int = field(default=3, metadata=_rng(0, 100))


@dataclass(frozen=True)
class Config:
    """The whole tree; build it with `load()` (or `Config()` plus `replace` in tests)."""

    api: ApiConfig = field(default_factory=ApiConfig)
    spool: SpoolConfig = field(default_factory=SpoolConfig)
    upload: UploadConfig = field(default_factory=UploadConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    net: NetConfig = field(default_factory=NetConfig)
    power: PowerConfig = field(default_factory=PowerConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    camera: CameraConfig = field(default_factory=CameraConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    heartbeat: HeartbeatConfig = field(default_factory=HeartbeatConfig)
    log: LogConfig = field(default_factory=LogConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    source: str = field(default="<defaults>", compare=False)

    @property
    def has_modem(self) -> bool:
        return bool(self.modem.port)


@dataclass(frozen=True)
class LoadResult:
    config: Config
    warnings: tuple[str, ...]


def section_types() -> dict[str, type]:
    """Section name -> its dataclass, in file order."""
    return {
        f.name: f.default_factory  # type: ignore[misc]
        for f in dataclasses.fields(Config)
        if f.name != "source"
    }


def load(
    path: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None = None,
    require_api: bool = True,
) -> LoadResult:
    """Read the TOML file (if any), apply environment overrides, validate; raise ConfigError."""
    env = os.environ if env is None else env
    source = str(path) if path else "<environment>"
    raw = _read_toml(Path(path)) if path else {}
    warnings: list[str] = []
    sections: dict[str, Any] = {}
    types = section_types()
    for name, value in raw.items():
        if name not in types:
            warnings.append(f"{source}: unknown section [{name}] ignored")
        elif not isinstance(value, dict):
            raise ConfigError(name, source, f"must be a table [{name}], got {_tname(value)}")
    for name, cls in types.items():
        table = raw.get(name, {}) if isinstance(raw.get(name, {}), dict) else {}
        sections[name] = _build_section(name, cls, table, env, source, warnings)
    config = Config(**sections, source=source)
    _check_together(config.upload, source)
    if require_api and not config.api.base_url:
        raise ConfigError("api.base_url", source, "is required", "an http(s) URL")
    return LoadResult(config, tuple(warnings))


def _check_together(upload: UploadConfig, source: str) -> None:
    """Keys that only make sense as a pair."""
    if bool(upload.off_peak_start) != bool(upload.off_peak_end):
        missing = "upload.off_peak_end" if upload.off_peak_start else "upload.off_peak_start"
        raise ConfigError(missing, source, "the off-peak window needs both start and end", "HH:MM")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("(file)", str(path), "config file not found") from None
    except PermissionError:
        raise ConfigError("(file)", str(path), "config file not readable") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("(file)", str(path), f"not valid TOML: {exc}") from exc


def _build_section(
    name: str,
    cls: type,
    table: Mapping[str, Any],
    env: Mapping[str, str],
    source: str,
    warnings: list[str],
) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in known:
            warnings.append(f"{source}: unknown key {name}.{key} ignored")
    values: dict[str, Any] = {}
    for key, fld in known.items():
        env_name = f"{ENV_PREFIX}{name.upper()}_{key.upper()}"
        if env_name in env:
            values[key] = _from_env(f"{name}.{key}", env_name, env[env_name], fld)
        elif key in table:
            values[key] = _check_type(f"{name}.{key}", source, table[key], fld)
        else:
            continue
        _check_allowed(f"{name}.{key}", env_name if env_name in env else source, values[key], fld)
    return cls(**values)


def _field_type(fld: Any) -> type:
    return {"str": str, "int": int, "float": float, "bool": bool}[str(fld.type)]


def _check_type(key: str, source: str, value: Any, fld: Any) -> Any:
    want = _field_type(fld)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, want) and not (want is int and isinstance(value, bool)):
        return value
    raise ConfigError(key, source, f"must be {want.__name__}, got {_tname(value)} {value!r}")


def _from_env(key: str, env_name: str, text: str, fld: Any) -> Any:
    want = _field_type(fld)
    try:
        if want is bool:
            return _parse_bool(text)
        return want(text)
    except ValueError:
        raise ConfigError(key, env_name, f"must be {want.__name__}, got {text!r}") from None


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def _check_allowed(key: str, source: str, value: Any, fld: Any) -> None:
    meta = fld.metadata
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ConfigError(key, source, f"{value!r} is not allowed", ", ".join(map(str, choices)))
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ConfigError(key, source, f"{value!r} is out of range", f"{lo} to {hi}")
    problem = meta["check"](value) if "check" in meta else ""
    if problem:
        raise ConfigError(key, source, problem)


def _tname(value: Any) -> str:
    return type(value).__name__


def describe() -> list[tuple[str, str, str]]:
    """(key, default, what is allowed) for every key, for README and `recorder config keys`."""
    rows = []
    for name, cls in section_types().items():
        for fld in dataclasses.fields(cls):
            meta = fld.metadata
            allowed = meta.get("doc", "")
            if "choices" in meta:
                allowed = "one of " + ", ".join(map(str, meta["choices"]))
            elif meta.get("min") is not None:
                allowed = f"{meta['min']} to {meta['max']}" + (f"; {allowed}" if allowed else "")
            rows.append((f"{name}.{fld.name}", repr(fld.default), allowed))
    return rows
