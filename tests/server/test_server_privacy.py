"""The server's logs and error answers carry no full phone number, password or token.

The real ``seatmate-server serve`` (access log on, INFO) on its own SQLite
file: a login with a password, a failed login with another, a token refresh,
pushes with full numbers in their payloads, numbers and a token in URLs, a
422, a 404, and a 500 whose traceback holds the SQL parameters (a trigger
makes the insert of a do-not-call number fail with a DataError the server
does not expect). Then every log file under the server's folders and every
error answer is searched for the full numbers, the passwords and the tokens.
Redaction is core.redact's, the same copy the app's logs use.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid

import httpx
import pytest

from core.redact import redact
from tests.server.live import start_server

PASSWORD = "demo-2026"
WRONG_PASSWORD = "Wr0ng-Pa55word-7731"
NUMBERS = ("+8613912345678", "+8613987654321", "13712345670", "138 1234 5679", "+86-136-5555-0142")


def _digits(n: str) -> str:
    return "".join(c for c in n if c.isdigit())


@pytest.fixture()
def server(tmp_path):
    srv = start_server(f"sqlite:///{tmp_path / 'server.sqlite3'}", tmp_path / "data",
                       extra_args=["--log-level", "info", "--access-log"])
    yield srv
    srv.stop()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def test_server_logs_and_error_pages_redact_numbers_passwords_and_tokens(server, tmp_path):
    answers: list[str] = []
    with httpx.Client(base_url=server.url, timeout=60) as c:
        r = c.post("/api/v1/auth/login", json={"username": "lina", "password": PASSWORD, "device_id": "priv"})
        assert r.status_code == 200, r.text
        tokens = r.json()
        access, refresh = tokens["access_token"], tokens["refresh_token"]
        auth = {"Authorization": f"Bearer {access}"}
        bad = c.post("/api/v1/auth/login", json={"username": "lina", "password": WRONG_PASSWORD,
                                                 "device_id": "priv"})
        assert bad.status_code in (400, 401, 403), bad.text
        answers.append(bad.text)
        invalid = c.post("/api/v1/auth/login", json={"password": WRONG_PASSWORD, "phone": NUMBERS[2]})
        assert invalid.status_code == 422, invalid.text
        answers.append(invalid.text)
        r = c.post("/api/v1/auth/refresh", json={"refresh_token": refresh, "device_id": "priv"})
        assert r.status_code == 200, r.text
        new_access = r.json()["access_token"]
        new_refresh = r.json()["refresh_token"]
        lead_id = next(ch["id"] for ch in c.get("/api/v1/sync/pull", headers=auth).json()["changes"]
                       if ch.get("entity") == "lead")
        events = [
            {"id": str(uuid.uuid4()), "type": "call_attempted", "occurred_at": _now(), "lead_id": lead_id,
             "payload": {"call_id": str(uuid.uuid4()), "number_e164": NUMBERS[0], "direction": "out"}},
            {"id": str(uuid.uuid4()), "type": "note_added", "occurred_at": _now(), "lead_id": lead_id,
             "payload": {"text": f"客户新号码 {NUMBERS[2]}，备用 {NUMBERS[3]} 或 {NUMBERS[4]}"}},
            {"id": str(uuid.uuid4()), "type": "call_attempted", "occurred_at": _now(), "lead_id": lead_id,
             "payload": {"call_id": str(uuid.uuid4()), "number_e164": "not a number " + NUMBERS[3]}},
        ]
        r = c.post("/api/v1/sync/push", json={"events": events}, headers=auth)
        assert r.status_code == 200, r.text
        answers.append(r.text)
        for path in (f"/api/v1/leads/{_digits(NUMBERS[1])}", f"/api/v1/sync/pull?number={NUMBERS[1]}&token={access}",
                     f"/api/v1/nowhere/{NUMBERS[0]}?password={PASSWORD}"):
            r = c.get(path, headers=auth)
            if r.status_code >= 400:
                answers.append(r.text)
        # A 500 with the do-not-call insert's SQL parameters in its traceback.
        db = sqlite3.connect(tmp_path / "server.sqlite3")
        with db:
            db.execute("CREATE TRIGGER privacy_boom BEFORE INSERT ON dnc_entries "
                       "BEGIN SELECT zeroblob(2000000000); END")
        db.close()
        boom = c.post("/api/v1/sync/push", headers=auth, json={"events": [
            {"id": str(uuid.uuid4()), "type": "dnc_requested", "occurred_at": _now(), "lead_id": lead_id,
             "payload": {"number_e164": NUMBERS[1], "reason": f"客户说别再打 {NUMBERS[1]}"}}]})
        answers.append(boom.text)
        assert boom.status_code >= 500, (boom.status_code, boom.text)
    server.stop()

    logs = [p for p in tmp_path.rglob("*") if p.is_file() and (p.suffix == ".log" or ".log." in p.name)]
    assert logs, "the server wrote no log file"
    text = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in logs)
    # The requests did reach the logs (the test is not vacuous): access lines, the 500's traceback.
    assert "/api/v1/sync/push" in text and "unhandled error" in text, text[-3000:]
    assert "Traceback" in text and "***4321" in text, text[-3000:]
    secrets = {"password": PASSWORD, "wrong password": WRONG_PASSWORD, "access token": access,
               "refresh token": refresh, "new access token": new_access, "new refresh token": new_refresh}
    for number in NUMBERS:
        secrets[f"number {number}"] = number
        secrets[f"digits of {number}"] = _digits(number)
        secrets[f"national digits of {number}"] = _digits(number)[-11:]
    for what, value in secrets.items():
        for p in logs:
            assert value not in p.read_text(encoding="utf-8", errors="replace"), f"{what} in {p.name}"
        for answer in answers:
            assert value not in answer, f"{what} in an error answer: {answer[:300]}"


def test_core_redact_is_the_apps_and_the_servers_one_copy():
    from app import logging_setup
    from server import logs

    assert logging_setup.redact is redact
    assert logs.RedactingFilter is logging_setup.RedactingFilter
    assert redact(f"call {NUMBERS[0]} password={PASSWORD}") == "call ***5678 password=***"


def test_uvicorn_access_records_keep_their_arguments(tmp_path):
    import logging

    from core.redact import RedactingFilter

    rec = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                            ("127.0.0.1:5", "GET", f"/x?phone={NUMBERS[0]}&token=abc.def", "1.1", 404), None)
    assert RedactingFilter().filter(rec)
    assert rec.args[2] == "/x?phone=***5678&token=***" and rec.args[4] == 404
