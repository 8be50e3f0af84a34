"""HTTP plumbing shared by the API client and the PUT: sessions, capped reply reads, error mapping.

One place decides how `requests` exceptions become our transport errors (connect failures, which
are safe to repeat, apart from failures after the request was sent), how a session binds its
sockets to a local address (the upload policy picks a link that way), and how much of a reply is
read at most.
"""

from __future__ import annotations

import email.utils
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import requests
import requests.adapters
import urllib3.exceptions

from device import USER_AGENT
from device.api_errors import ConnectFailed, ReplyLost, TlsError, TransportError


class BoundAdapter(requests.adapters.HTTPAdapter):
    """An adapter whose connections bind to `source_address` (port chosen by the kernel)."""

    def __init__(self, source_address: str | None = None, **kwargs: object) -> None:
        self._source = (source_address, 0) if source_address else None
        super().__init__(**kwargs)  # type: ignore[arg-type]

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        if self._source:
            kwargs["source_address"] = self._source
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]


def new_session(
    source_address: str | None = None, ca_bundle: str | None = None
) -> requests.Session:
    """A session with our User-Agent, TLS verification on (private CA when given), no env proxies."""
    session = requests.Session()
    session.trust_env = False  # a stray HTTPS_PROXY or REQUESTS_CA_BUNDLE must not change behaviour
    session.verify = ca_bundle or True
    session.headers["User-Agent"] = USER_AGENT
    adapter = BoundAdapter(source_address, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@contextmanager
def mapped_errors(url: str) -> Iterator[None]:
    """Turn requests/urllib3 exceptions into ConnectFailed / TlsError / ReplyLost (query dropped).

    Raised `from None` on purpose: urllib3's exceptions quote the full URL, a presigned query
    included, so the original must not travel in `__cause__`; its reason text is kept instead.
    """
    try:
        yield
    except requests.exceptions.SSLError as exc:
        # A certificate that does not verify is final; any other TLS failure (an EOF when the
        # peer cuts the connection mid-body) is a lost connection like any other.
        cls = TlsError if _find(exc, _VERIFY_ERRORS) else ReplyLost
        raise cls(url, _reason(exc)) from None
    except (requests.exceptions.ConnectTimeout, requests.exceptions.ProxyError) as exc:
        raise ConnectFailed(url, _reason(exc)) from None
    except requests.exceptions.ConnectionError as exc:
        cls = ConnectFailed if _never_sent(exc) else ReplyLost
        raise cls(url, _reason(exc)) from None
    except (requests.exceptions.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
        raise ReplyLost(url, _reason(exc)) from None
    except (urllib3.exceptions.HTTPError, ssl.SSLError) as exc:
        raise ReplyLost(url, _reason(exc)) from None
    except requests.exceptions.RequestException as exc:
        raise TransportError(url, _reason(exc)) from None


_VERIFY_ERRORS = (ssl.SSLCertVerificationError, ssl.CertificateError)


def _find(exc: BaseException, types: tuple[type[BaseException], ...]) -> bool:
    """True when an exception of `types` is in the chain (reason, args[0], cause, context)."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        if isinstance(item, types):
            return True
        seen.add(id(item))
        args0 = item.args[0] if item.args else None
        todo += [getattr(item, "reason", None), args0, item.__cause__, item.__context__]
    return False


def _never_sent(exc: requests.exceptions.ConnectionError) -> bool:
    """True when urllib3 says the connection was never made (refused, DNS, unreachable)."""
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", None)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _reason(exc: BaseException) -> str:
    """A short reason without the URL (urllib3 repeats the full URL, query included)."""
    inner: BaseException = exc
    while True:
        nxt = getattr(inner, "reason", None)
        if isinstance(nxt, BaseException) and nxt is not inner:
            inner = nxt
            continue
        if inner.args and isinstance(inner.args[0], BaseException) and inner.args[0] is not inner:
            inner = inner.args[0]
            continue
        break
    text = str(inner) or type(inner).__name__
    if "?" in text or "://" in text:  # urllib3 messages quote the URL with its query
        text = type(inner).__name__
    return f"{type(inner).__name__}: {text}" if text != type(inner).__name__ else text


def read_capped(response: requests.Response, cap: int) -> bytes | None:
    """The body, or None when it is longer than `cap` bytes (read at most cap + 1 bytes)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        response.close()
        return None
    data = bytearray()
    for chunk in response.iter_content(chunk_size=min(cap + 1, 65536)):
        data += chunk
        if len(data) > cap:
            response.close()
            return None
    return bytes(data)


def parse_http_date(text: str | None) -> datetime | None:
    """An HTTP `Date` header as an aware datetime, or None when absent or unreadable."""
    if not text:
        return None
    try:
        value = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return value if value.tzinfo else None
