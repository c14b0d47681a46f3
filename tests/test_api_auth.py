"""API keys and access: hashed storage, 401/403, scoping by station and postbox, revocation, no secrets in logs."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import badfiles
import httpx
import pytest
from sqlalchemy import select
from test_api_support import ApiServer, make_settings, serve, upload, wait_settled
from typer.testing import CliRunner

from cli.main import app as cli
from mailroom.errors import InvalidKeySpec, InvalidUserSpec
from mailroom.storage import keys, repository, users
from mailroom.storage.db import session_scope
from mailroom.storage.models import DocumentRow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("api-auth")), access_log=True) as running:
        yield running


def _route(server: ApiServer, document_id: str, postbox: str) -> None:
    """Route a processed document to ``postbox`` (the rules stage's job; here only the scope matters): the
    transition places it in the postbox, which is what clerk and dms keys are scoped by."""
    with session_scope(server.ctx.sessions) as session:
        row = session.get(DocumentRow, document_id)
        assert row is not None and row.result_json
        result = json.loads(row.result_json)
        result["routing"] = {"postbox": postbox, "status": "routed", "decided_by": "test"}
        repository.save_result(session, row, result)
        repository.transition(session, row, "routed", reason="test setup")


def test_missing_malformed_and_wrong_keys_are_401(server: ApiServer) -> None:
    token = server.key("admin", "admin-401")
    key_id = token.split("_")[1]
    wrong_secret = f"mr_{key_id}_{'0' * 64}"
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": f"Bearer {wrong_secret}"},
                    {"Authorization": f"Basic {token}"}):
        response = httpx.get(f"{server.base_url}/api/v1/documents/0123", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_wrong_role_is_403(server: ApiServer) -> None:
    with server.client(server.key("clerk", "clerk-403", postboxes=["kaemmerei"])) as clerk:
        response = upload(clerk, "a.pdf", badfiles.pdf_bytes(1))
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_scoping_by_station_and_postbox(server: ApiServer) -> None:
    station_a = server.client(server.key("station", "station-a"))
    station_b = server.client(server.key("station", "station-b"))
    admin = server.client(server.key("admin", "admin"))
    reviewer = server.client(server.key("reviewer", "reviewer"))
    kaemmerei = server.client(server.key("dms", "dms-kaemmerei", postboxes=["kaemmerei"]))
    bauamt = server.client(server.key("clerk", "clerk-bauamt", postboxes=["bauamt"]))
    data = badfiles.pdf_bytes(1) + b"scoping"
    try:
        response = upload(station_a, "letter.pdf", data)
        assert response.status_code == 202
        document_id = response.json()["document_id"]
        # the same bytes from another station are another station's document
        other = upload(station_b, "letter.pdf", data)
        assert other.status_code == 202 and other.json()["document_id"] != document_id
        assert wait_settled(station_a, document_id)["state"] == "review"  # a blank letter: nobody to route it to

        url = f"/api/v1/documents/{document_id}"
        for client in (station_a, admin, reviewer):
            assert client.get(url).status_code == 200
            assert client.get(url + "/original").status_code == 200
        for client in (station_b, kaemmerei, bauamt):  # not routed yet: no postbox sees it
            response = client.get(url)
            assert response.status_code == 404 and response.json()["code"] == "document_not_found"
            assert client.get(url + "/original").status_code == 404

        _route(server, document_id, "kaemmerei")
        assert kaemmerei.get(url).status_code == 200
        assert kaemmerei.get(url + "/searchable.pdf").status_code == 200
        assert bauamt.get(url).status_code == 404
        assert station_b.get(url).status_code == 404
        assert reviewer.get(url).status_code == 404  # out of the review queue, and not decided by this reviewer
        assert station_a.get(url).status_code == 200 and admin.get(url).status_code == 200
    finally:
        for client in (station_a, station_b, admin, reviewer, kaemmerei, bauamt):
            client.close()


def test_revoked_key_is_401(server: ApiServer) -> None:
    token = server.key("reviewer", "leaving")
    with server.client(token) as client:
        assert client.get("/api/v1/documents/x").status_code == 404
        with session_scope(server.ctx.sessions) as session:
            assert keys.revoke_key(session, "leaving") is not None
        response = client.get("/api/v1/documents/x")
    assert response.status_code == 401 and response.json()["code"] == "unauthorized"


def test_keys_are_stored_hashed(server: ApiServer) -> None:
    token = server.key("station", "hashed")
    secret = token.split("_")[2]
    with session_scope(server.ctx.sessions, readonly=True) as session:
        row = session.scalars(select(keys.ApiKeyRow).where(keys.ApiKeyRow.name == "hashed")).one()
        assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in row.secret_sha256
    for path in server.settings.data_dir.glob("mailroom.sqlite3*"):
        assert secret.encode() not in path.read_bytes(), path.name


def test_secrets_never_reach_the_logs(server: ApiServer, caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    token = server.key("station", "logged")
    with server.client(token) as client:
        assert upload(client, "logged.pdf", badfiles.pdf_bytes(1) + b"logged").status_code == 202
        assert upload(client, "bad.pdf", b"").status_code == 422
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}x"}) as wrong:
        assert wrong.get("/api/v1/documents/x").status_code == 401
    created = CliRunner().invoke(cli, ["keys", "create", "--role", "station", "--name", "cli", "--data-dir",
                                       str(tmp_path)])
    assert created.exit_code == 0, created.output
    cli_token = created.stdout.strip().splitlines()[-1]
    assert cli_token.startswith("mr_")
    listed = CliRunner().invoke(cli, ["keys", "list", "--json", "--data-dir", str(tmp_path)])
    assert listed.exit_code == 0 and json.loads(listed.stdout)["name"] == "cli"
    assert cli_token.split("_")[2] not in listed.stdout
    revoked = CliRunner().invoke(cli, ["keys", "revoke", "cli", "--data-dir", str(tmp_path)])
    assert revoked.exit_code == 0
    assert CliRunner().invoke(cli, ["keys", "revoke", "cli", "--data-dir", str(tmp_path)]).exit_code == 1

    assert any("upload" in r.getMessage() for r in caplog.records), "the upload was not logged at all"
    for secret in (token.split("_")[2], cli_token.split("_")[2]):
        for record in caplog.records:
            assert secret not in record.getMessage()
            assert secret not in json.dumps(vars(record), default=str)


@pytest.mark.parametrize(
    ("role", "scope", "field"),
    [("clerk", {}, "postbox"), ("station", {"postboxes": ["x"]}, "postbox"), ("admin", {"station": "s"}, "station"),
     ("boss", {}, "role"), ("station", {"name": "bad name/"}, "name")],
)
def test_invalid_key_specs_are_refused(server: ApiServer, role: str, scope: dict[str, object], field: str) -> None:
    name = str(scope.pop("name", f"spec-{role}-{field}"))
    with session_scope(server.ctx.sessions) as session, pytest.raises(InvalidKeySpec) as caught:
        keys.create_key(session, name=name, role=role, **scope)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_one_active_key_per_name(server: ApiServer) -> None:
    server.key("station", "twice")
    with pytest.raises(InvalidKeySpec):
        server.key("station", "twice")
    with session_scope(server.ctx.sessions) as session:
        keys.revoke_key(session, "twice")
    # names are never reused (a reviewer key named like a revoked clerk key would see what that clerk did):
    # rotation is a new name with the same scope
    with pytest.raises(InvalidKeySpec) as refused:
        server.key("reviewer", "twice")
    assert "never reused" in refused.value.message
    assert server.key("station", "twice-2", station="twice").startswith("mr_")


def test_keys_and_web_accounts_share_one_namespace(server: ApiServer) -> None:
    """A reviewer's scope and the labels name keys and web UI accounts by name: an account named like a key (even
    a revoked one) would see what that key decided, and the other way round."""
    with session_scope(server.ctx.sessions) as session:
        users.create_user(session, name="pruefer-mueller", role="reviewer", password="Ein langes Passwort 42!")
    with pytest.raises(InvalidKeySpec) as refused:
        server.key("reviewer", "pruefer-mueller")
    assert refused.value.field == "name" and "namespace" in refused.value.message
    server.key("clerk", "sachbearbeitung-alt", postboxes=["kaemmerei"])
    with session_scope(server.ctx.sessions) as session:
        keys.revoke_key(session, "sachbearbeitung-alt")
    with session_scope(server.ctx.sessions) as session, pytest.raises(InvalidUserSpec) as taken:
        users.create_user(session, name="sachbearbeitung-alt", role="reviewer", password="Ein langes Passwort 42!")
    assert taken.value.field == "name" and "namespace" in taken.value.message


def test_person_is_settable_for_clerk_and_dms_keys_only(server: ApiServer, tmp_path: Path) -> None:
    with session_scope(server.ctx.sessions) as session:
        row = keys.create_key(session, name="schmitz-1", role="clerk", postboxes=["kaemmerei"], person="schmitz").row
        assert row.person == "schmitz"
        with pytest.raises(InvalidKeySpec) as caught:
            keys.create_key(session, name="station-person", role="station", person="schmitz")
        assert caught.value.field == "person"
    created = CliRunner().invoke(cli, ["keys", "create", "--role", "dms", "--name", "dms-meier", "--postbox",
                                       "kaemmerei", "--person", "meier", "--data-dir", str(tmp_path)])
    assert created.exit_code == 0, created.output
    assert "confidential letters for meier" in created.stderr
    listed = CliRunner().invoke(cli, ["keys", "list", "--json", "--data-dir", str(tmp_path)])
    assert json.loads(listed.stdout)["person"] == "meier"
    refused = CliRunner().invoke(cli, ["keys", "create", "--role", "reviewer", "--name", "r", "--person", "meier",
                                       "--data-dir", str(tmp_path)])
    assert refused.exit_code == 1 and "invalid_key" in refused.stderr


def test_keys_create_prints_the_true_scope(tmp_path: Path) -> None:
    created = CliRunner().invoke(cli, ["keys", "create", "--role", "reviewer", "--name", "pruefer-scope",
                                       "--data-dir", str(tmp_path)])
    assert created.exit_code == 0, created.output
    assert "scope: the review queue and the documents it decided itself" in created.output
    assert "all documents" not in created.output
