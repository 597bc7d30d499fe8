from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from app.settings import Settings, SettingsError


def test_defaults_when_no_file(tmp_path: Path) -> None:
    s = Settings.load(tmp_path / "settings.json")
    assert s.language == "zh_CN"
    assert s.server_url is None
    assert s.sync_interval_s == 30
    assert s.monitor_strategy == "bridge"
    assert s.dial_templates["listen"] == "*222{ext}"


def test_round_trip_keeps_values_and_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "settings.json"
    s = Settings.load(path)
    s.language = "en"
    s.server_url = "http://127.0.0.1:8000"
    s.shortcuts["dial"] = "Ctrl+D"
    s.audio["microphone"] = ["USB 耳麦"]
    s.extra["from_newer_version"] = {"a": 1}
    s.save()
    again = Settings.load(path)
    assert again.language == "en"
    assert again.server_url == "http://127.0.0.1:8000"
    assert again.shortcuts == {"dial": "Ctrl+D"}
    assert again.audio["microphone"] == ["USB 耳麦"]
    # untouched sub-keys keep their defaults (echo cancellation: off unless asked for)
    assert again.audio["echo_cancellation"] is False and again.audio["speaker"] == []
    assert again.extra == {"from_newer_version": {"a": 1}}
    assert "USB 耳麦" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b""])
def test_corrupt_file_keeps_a_bad_copy_and_uses_defaults(tmp_path: Path, content: bytes,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        s = Settings.load(path)
    assert s.language == "zh_CN"
    assert (tmp_path / "settings.json.bad").read_bytes() == content
    assert any("settings file unreadable" in r.getMessage() for r in caplog.records)
    s.save()  # and the app can write a good file again
    assert json.loads(path.read_text(encoding="utf-8"))["language"] == "zh_CN"


def test_wrong_types_fall_back_per_field(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"language": "fr", "sync_interval_s": "often", "audio": [1], "shortcuts": {"a": "F1"}}))
    s = Settings.load(path)
    assert s.language == "zh_CN"
    assert s.sync_interval_s == 30
    assert isinstance(s.audio, dict)
    assert s.shortcuts == {"a": "F1"}


@pytest.mark.parametrize("where", ["top", "nested"])
def test_save_refuses_anything_that_looks_like_a_secret(tmp_path: Path, where: str) -> None:
    path = tmp_path / "settings.json"
    s = Settings.load(path)
    if where == "top":
        s.extra["sip_password"] = "hunter2"
    else:
        s.sip["auth"] = {"access_token": "abc"}
    with pytest.raises(SettingsError, match="keyring"):
        s.save()
    assert not path.exists()


def test_secrets_found_in_the_file_are_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"sip": {"user": "1001", "password": "hunter2"}, "api_token": "x"}))
    s = Settings.load(path)
    assert s.sip == {"user": "1001"}
    assert "api_token" not in s.extra
    s.save()
    assert "hunter2" not in path.read_text()
