"""A test certificate authority made at start (trustme) and the server certificate it signs.

The CA's PEM is written to `<data>/ca.pem`: give it to the device as `[api] ca_bundle` (or to
requests as `verify=`). Verification stays on everywhere.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

from tools.bench_backend.ports import LOOPBACK


@dataclass(frozen=True)
class BenchPki:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_pki(data_dir: Path) -> BenchPki:
    """A fresh CA and a server certificate for 127.0.0.1 and localhost, written under data_dir."""
    ca = trustme.CA(organization_name="bench-backend test CA")
    cert = ca.issue_cert(LOOPBACK, "localhost")
    pki = BenchPki(data_dir / "ca.pem", data_dir / "server.pem", data_dir / "server-key.pem")
    ca.cert_pem.write_to_path(str(pki.ca_file))
    cert.cert_chain_pems[0].write_to_path(str(pki.cert_file))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(pki.cert_file), append=True)
    cert.private_key_pem.write_to_path(str(pki.key_file))
    pki.key_file.chmod(0o600)
    return pki
