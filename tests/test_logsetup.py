"""Log files: size cap and rotation, private mode, secrets redacted; journald line format."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from device import logsetup


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def test_file_log_rotates_within_its_cap(tmp_path, restore_logging):
    path = tmp_path / "logs" / "recorder.log"
    logsetup.configure("DEBUG", str(path), max_kib=16, backups=2)
    log = logging.getLogger("t")
    for i in range(2000):
        log.info("line %d %s", i, "x" * 40)
    files = sorted(tmp_path.joinpath("logs").iterdir())
    assert [f.name for f in files] == ["recorder.log", "recorder.log.1", "recorder.log.2"]
    for f in files:
        assert f.stat().st_size <= 16 * 1024 + 200
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert "line 1999" in path.read_text()


def test_no_backups_truncates_in_place(tmp_path, restore_logging):
    path = tmp_path / "r.log"
    logsetup.configure("INFO", str(path), max_kib=16, backups=0)
    for i in range(2000):
        logging.getLogger("t").info("line %d %s", i, "y" * 40)
    assert list(tmp_path.iterdir()) == [path]
    assert path.stat().st_size <= 16 * 1024 + 200


def test_token_is_redacted_in_the_file(tmp_path, restore_logging):
    path = tmp_path / "r.log"
    logsetup.configure("DEBUG", str(path))
    logging.getLogger("t").debug("token is %s", "dtok_abcdefSECRET123")
    text = path.read_text()
    assert "SECRET123" not in text and "dtok_***" in text


def test_unwritable_log_file_names_the_path(tmp_path, restore_logging):
    target = tmp_path / "dir-not-file"
    target.mkdir()
    with pytest.raises(logsetup.LogFileError, match="dir-not-file"):
        logsetup.configure("INFO", str(target))


def test_no_timestamps_under_journald(monkeypatch, capsys, restore_logging):
    monkeypatch.setenv("JOURNAL_STREAM", "8:1234")
    logsetup.configure("INFO")
    logging.getLogger("j").warning("hello")
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("WARNING ") and err.endswith("j: hello")
    assert os.environ["JOURNAL_STREAM"]
