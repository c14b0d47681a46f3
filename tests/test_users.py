"""User accounts of the web UI: argon2id hashes, the scope rules of API keys, lock-out, sessions, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from mailroom.errors import InvalidUserSpec
from mailroom.settings import Settings
from mailroom.storage import users
from mailroom.storage.db import make_engine, migrate, session_scope
from mailroom.storage.models import AuditLogRow, utcnow

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "richtig-langes-Passwort"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = make_engine(Settings(data_dir=tmp_path))
    migrate(eng)
    yield eng
    eng.dispose()


def test_password_is_hashed_with_argon2id_and_checked(engine: Engine) -> None:
    with session_scope(engine) as session:
        row = users.create_user(session, name="m.mueller", role="reviewer", password=PASSWORD)
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    with session_scope(engine) as session:
        assert users.authenticate(session, "m.mueller", PASSWORD).user is not None
        assert users.authenticate(session, "m.mueller", PASSWORD + "x").user is None
        assert users.authenticate(session, "unbekannt", PASSWORD).user is None
        entries = list(session.scalars(select(AuditLogRow)))
    assert [e.action for e in entries] == ["user.created", "user.signin_failed"]
    assert all(PASSWORD not in e.details_json for e in entries)


def test_scope_rules_are_those_of_api_keys(engine: Engine) -> None:
    with session_scope(engine) as session:
        with pytest.raises(InvalidUserSpec) as no_box:
            users.create_user(session, name="clerk1", role="clerk", password=PASSWORD)
        assert no_box.value.field == "postbox" and no_box.value.code == "invalid_user"
        with pytest.raises(InvalidUserSpec):
            users.create_user(session, name="rev", role="reviewer", password=PASSWORD, postboxes=["bauamt"])
        with pytest.raises(InvalidUserSpec) as short:
            users.create_user(session, name="kurz", role="admin", password="kurz")
        assert short.value.field == "password"
        clerk = users.create_user(session, name="s.schmidt", role="clerk", password=PASSWORD,
                                  postboxes=["bauamt-bauantraege"], person="p-schmidt")
        station = users.create_user(session, name="scan1", role="station", password=PASSWORD)
        assert clerk.postboxes == ["bauamt-bauantraege"] and clerk.person == "p-schmidt"
        assert station.station == "scan1"
        with pytest.raises(InvalidUserSpec) as taken:
            users.create_user(session, name="scan1", role="station", password=PASSWORD)
        assert taken.value.field == "name"


def test_lockout_after_repeated_failures(engine: Engine) -> None:
    with session_scope(engine) as session:
        users.create_user(session, name="x.y", role="reviewer", password=PASSWORD)
    outcomes = []
    for _ in range(users.MAX_FAILED_SIGNINS):
        with session_scope(engine) as session:
            outcomes.append(users.authenticate(session, "x.y", "falsch-falsch-falsch"))
    assert [o.locked for o in outcomes] == [False] * (users.MAX_FAILED_SIGNINS - 1) + [True]
    with session_scope(engine) as session:
        assert users.authenticate(session, "x.y", PASSWORD).locked  # the right password does not open it
        later = utcnow() + timedelta(minutes=users.LOCKOUT_MINUTES + 1)
        assert users.authenticate(session, "x.y", PASSWORD, now=later).user is not None
        actions = [r.action for r in session.scalars(select(AuditLogRow))]
    assert "user.locked" in actions


def test_sessions_end_on_logout_expiry_idle_and_password_change(engine: Engine) -> None:
    with session_scope(engine) as session:
        user = users.create_user(session, name="a.b", role="admin", password=PASSWORD)
        first = users.start_session(session, user)
        second = users.start_session(session, user)
        idle = users.start_session(session, user)
    assert first.token != second.token and len(first.row.csrf_token) == 64
    with session_scope(engine) as session:
        found = users.session_user(session, first.token)
        assert found is not None and users.csrf_matches(found[0], first.row.csrf_token)
        assert not users.csrf_matches(found[0], "0" * 64) and not users.csrf_matches(found[0], None)
        assert users.session_user(session, "nonsense") is None
        assert users.end_session(session, first.token) is not None
    with session_scope(engine) as session:
        assert users.session_user(session, first.token) is None
        late = utcnow() + timedelta(minutes=users.SESSION_IDLE_MINUTES + 1)
        assert users.session_user(session, idle.token, now=late) is None
        users.set_password(session, "a.b", PASSWORD + "-neu")
    with session_scope(engine) as session:
        assert users.session_user(session, second.token) is None  # a new password ends every session
        stored = [r.id for r in session.scalars(select(users.UiSessionRow))]
    assert second.token not in json.dumps(stored)  # only the token's hash is stored


def test_cli_reads_the_password_from_stdin_never_the_command_line(tmp_path: Path) -> None:
    env = {"MAILROOM_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "cli", "users"]
    made = subprocess.run([*run, "create", "p.pruefer", "--role", "reviewer", "--password-file", "-"],
                          input=PASSWORD + "\n", capture_output=True, text=True, env=env, cwd=REPO)
    assert made.returncode == 0, made.stderr
    no_tty = subprocess.run([*run, "create", "q.pruefer", "--role", "reviewer"], input="", capture_output=True,
                            text=True, env=env, cwd=REPO)
    assert no_tty.returncode == 2 and "--password-file" in no_tty.stderr
    listed = subprocess.run([*run, "list", "--json"], capture_output=True, text=True, env=env, cwd=REPO)
    assert json.loads(listed.stdout.splitlines()[0])["name"] == "p.pruefer"
    assert "argon2" not in listed.stdout and PASSWORD not in listed.stdout
    engine = make_engine(Settings(data_dir=tmp_path))
    try:
        with session_scope(engine) as session:
            assert users.authenticate(session, "p.pruefer", PASSWORD).user is not None
    finally:
        engine.dispose()
