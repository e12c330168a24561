"""The embedded default's per-data-directory secret key: made once, 0600, never overwritten,
and (for `flightdeck server`) not written until the server holds its port and lock."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from flightdeck.config import SECRET_KEY_FILE, Settings, secret_key_file_deferred


@pytest.fixture(autouse=True)
def no_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLIGHTDECK_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLIGHTDECK_MODE", raising=False)


def test_first_read_makes_an_owner_only_key_that_later_reads_reuse(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = Settings(data_dir=data_dir)
    key_file = data_dir / SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert len(first.secret_key) >= 32
    assert Settings(data_dir=data_dir).secret_key == first.secret_key


def test_a_deferred_key_is_written_only_when_saved(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with secret_key_file_deferred():
        settings = Settings(data_dir=data_dir)
    assert not data_dir.exists()
    chosen = settings.secret_key
    settings.save_secret_key()
    assert (data_dir / SECRET_KEY_FILE).read_text().strip() == chosen
    assert Settings(data_dir=data_dir).secret_key == chosen


def test_a_stored_key_wins_over_a_deferred_one(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    stored = Settings(data_dir=data_dir).secret_key
    with secret_key_file_deferred():
        settings = Settings(data_dir=data_dir)
    assert settings.secret_key == stored
    settings.save_secret_key()
    assert (data_dir / SECRET_KEY_FILE).read_text().strip() == stored


def test_an_unwritable_data_directory_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ValueError, match="FLIGHTDECK_SECRET_KEY or a writable FLIGHTDECK_DATA_DIR"):
        Settings(data_dir=blocker / "data")
