"""The device token sealed at rest with AES-GCM; the key comes from a platform hook.

Threat answered: a copied data partition (or SD card) without the key yields nothing. The default
key is a 32-byte file kept apart from the token (`api.key_file`, mode 0600, created on first use);
a platform with a secure element or a TPM plugs in its own `KeyProvider`. The token file is JSON
(version, device id, nonce, ciphertext; optionally the previous token, sealed the same way) written
atomically: temp file, fsync, rename, fsync of the directory. Rotation (token refresh) seals the
new token with the old one kept as `previous` until `forget_previous()`.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from device import redact
from device.errors import RecorderError

FORMAT_VERSION = 1
KEY_BYTES = 32
_AAD = b"recorder-token-v1"


class VaultError(RecorderError):
    """The token cannot be stored or opened; `path` names the file concerned."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class TokenMissing(VaultError, FileNotFoundError):
    """No sealed token yet: run `recorder provision`."""


class KeyMismatch(VaultError, PermissionError):
    """The token file does not open with this key (copied without its key, or tampered with)."""


class KeyProvider(Protocol):
    """Supplies the 32-byte sealing key; `describe()` names where it lives, for error messages."""

    def key(self) -> bytes: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class FileKeyProvider:
    """The default: a random key in a file of its own (0600), created on first use."""

    path: Path
    create: bool = True

    def describe(self) -> str:
        return f"key file {self.path}"

    def key(self) -> bytes:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            if not self.create:
                raise VaultError(self.path, "key file is missing") from None
            return self._create()
        except OSError as exc:
            raise VaultError(self.path, f"cannot read key file: {exc.strerror}") from exc
        if len(data) != KEY_BYTES:
            raise VaultError(self.path, f"key file holds {len(data)} bytes, expected {KEY_BYTES}")
        return data

    def _create(self) -> bytes:
        key = secrets.token_bytes(KEY_BYTES)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(self.path, key, exclusive=True)
        except FileExistsError:  # another process created it first: use theirs
            return self.key()
        except OSError as exc:
            raise VaultError(self.path, f"cannot create key file: {exc.strerror}") from exc
        return key


@dataclass(frozen=True)
class SealedToken:
    """What the vault holds: the token, the device id, and the token before the last rotation."""

    token: str = field(repr=False)
    device_id: str | None = None
    previous: str | None = field(default=None, repr=False)


class Vault:
    """Seal and open the device token at `path` with the key from `keys`."""

    def __init__(self, path: str | os.PathLike[str], keys: KeyProvider) -> None:
        self.path = Path(path)
        self.keys = keys

    def __repr__(self) -> str:
        return f"Vault(path={str(self.path)!r}, keys={self.keys.describe()!r})"

    def seal(
        self, token: str, device_id: str | None = None, *, keep_previous: bool = False
    ) -> None:
        """Store `token` (atomically replacing the file); keep the current one as `previous` when
        asked (rotation: the new token is durable before the old one is forgotten)."""
        token = token.strip()
        if not token:
            raise VaultError(self.path, "refusing to seal an empty token")
        redact.register_secret(token)
        previous = None
        if keep_previous and self.path.exists():
            current = self.open()
            previous = current.token
            device_id = device_id or current.device_id
        key = self.keys.key()
        doc: dict[str, Any] = {"version": FORMAT_VERSION, "device_id": device_id}
        doc["token"] = _seal(key, token, device_id)
        if previous:
            doc["previous"] = _seal(key, previous, device_id)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.path, json.dumps(doc, indent=1).encode())

    def open(self) -> SealedToken:
        doc = self._read()
        key = self.keys.key()
        device_id = doc.get("device_id")
        token = self._unseal(key, doc.get("token"), device_id)
        previous = self._unseal(key, doc["previous"], device_id) if doc.get("previous") else None
        for value in (token, previous):
            if value:
                redact.register_secret(value)
        return SealedToken(token, device_id, previous)

    def token(self) -> str:
        return self.open().token

    def forget_previous(self) -> None:
        current = self.open()
        if current.previous is not None:
            self.seal(current.token, current.device_id)

    def _read(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise TokenMissing(self.path, "no sealed token; run `recorder provision`") from None
        except OSError as exc:
            raise VaultError(self.path, f"cannot read token file: {exc.strerror}") from exc
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise VaultError(self.path, "token file is not a sealed token (not JSON)") from None
        if not isinstance(doc, dict) or doc.get("version") != FORMAT_VERSION:
            raise VaultError(self.path, f"token file is not version {FORMAT_VERSION} of the format")
        return doc

    def _unseal(self, key: bytes, box: Any, device_id: str | None) -> str:
        try:
            nonce = base64.b64decode(box["nonce"], validate=True)
            data = base64.b64decode(box["data"], validate=True)
        except (TypeError, KeyError, ValueError):
            raise VaultError(self.path, "token file is damaged (sealed box unreadable)") from None
        try:
            plain = AESGCM(key).decrypt(nonce, data, _aad(device_id))
        except InvalidTag:
            raise KeyMismatch(
                self.path,
                f"token does not open with {self.keys.describe()} "
                "(file copied without its key, key replaced, or file tampered with)",
            ) from None
        return plain.decode()


def _aad(device_id: str | None) -> bytes:
    return _AAD + b"|" + (device_id or "").encode()


def _seal(key: bytes, token: str, device_id: str | None) -> dict[str, str]:
    nonce = secrets.token_bytes(12)
    data = AESGCM(key).encrypt(nonce, token.encode(), _aad(device_id))
    return {"nonce": base64.b64encode(nonce).decode(), "data": base64.b64encode(data).decode()}


def _write_atomic(path: Path, data: bytes, exclusive: bool = False) -> None:
    """Write a 0600 file: temp, fsync, rename (or link when `exclusive`), fsync the directory."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)  # fails with FileExistsError instead of replacing
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def from_config(api: Any) -> Vault:
    """The vault the config names: `api.token_file` sealed with the key in `api.key_file`."""
    return Vault(api.token_file, FileKeyProvider(Path(api.key_file)))
