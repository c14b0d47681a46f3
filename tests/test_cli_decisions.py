"""``mailroom documents rescan|dismiss|split`` against a running ``mailroom serve`` (the embedded mode: its
workers take the letters of a split from the data directory's broker): the same functions as the REST routes and
the web UI's buttons, audited as ``cli:<login name>`` (or ``--by``), errors as one line with their code."""

from __future__ import annotations

import getpass
import json
from typing import Any

import pytest
from uikit import Routed, UiServer, routed_documents, server_fixture

LETTER = "0027-enquiry.pdf"  # one page, born digital
CONTRACT = "0011-contract.pdf"  # two pages, born digital
MESSAGE = "Seite 1 ist schief eingezogen, bitte neu scannen"


server = server_fixture("cli-decisions")


@pytest.fixture(scope="module")
def setup(server: UiServer) -> Routed:  # everything waits for a person
    return routed_documents(server, [], (LETTER, CONTRACT), review=("Stichprobe", {"regex": r"\w"}), state="review")


def document(server: UiServer, token: str, document_id: str) -> dict[str, Any]:
    with server.api(token) as client:
        body: dict[str, Any] = client.get(f"/documents/{document_id}").json()
        return body


def audit_actions(server: UiServer, document_id: str) -> list[tuple[str, str]]:
    done = server.cli("audit", "export", "--json")
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return [(e["action"], e["actor"]) for e in entries if e.get("object_id") == document_id]


def test_rescan_and_dismiss_from_the_command_line(server: UiServer, setup: Routed) -> None:
    letter = setup.ids[LETTER]
    empty = server.cli("documents", "rescan", letter, "--message", "  ")
    assert empty.returncode == 1 and empty.stderr.startswith("error: validation_error:"), empty.stderr
    assert "Traceback" not in empty.stderr

    sent = server.cli("documents", "rescan", letter, "--message", MESSAGE, "--page", "1", "--json")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout) == {"document_id": letter, "state": "rescan", "station": "poststelle-1"}
    body = document(server, setup.admin, letter)
    assert body["state"] == "rescan"
    rescan = body["result"]["rescan"]
    assert (rescan["reason"], rescan["pages"], rescan["message"]) == ("reviewer", [1], MESSAGE)
    again = server.cli("documents", "rescan", letter, "--message", MESSAGE)
    assert again.returncode == 1 and again.stderr.startswith("error: invalid_transition:"), again.stderr

    unknown = server.cli("documents", "dismiss", letter, "--replaced-by", "0" * 32)
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: validation_error:"), unknown.stderr
    closed = server.cli("documents", "dismiss", letter, "--note", "neu gescannt", "--by", "m.muster")
    assert closed.returncode == 0, closed.stderr
    assert closed.stdout.strip() == f"{letter} {LETTER}: dismissed"
    assert document(server, setup.admin, letter)["state"] == "dismissed"
    twice = server.cli("documents", "dismiss", letter)
    assert twice.returncode == 1 and twice.stderr.startswith("error: invalid_transition:"), twice.stderr

    trail = audit_actions(server, letter)
    assert ("document.rescan_requested", f"cli:{getpass.getuser()}") in trail
    assert ("document.rescan_dismissed", "cli:m.muster") in trail


def test_split_from_the_command_line_and_the_service_reads_the_letters(
    server: UiServer, setup: Routed
) -> None:
    contract = setup.ids[CONTRACT]
    outside = server.cli("documents", "split", contract, "--before", "3")
    assert outside.returncode == 1 and outside.stderr.startswith("error: invalid_split:"), outside.stderr
    usage = server.cli("documents", "split", contract, "--before", "1")
    assert usage.returncode == 2 and usage.stderr.startswith("error: usage_error:"), usage.stderr

    done = server.cli("documents", "split", contract, "--before", "2", "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    letters = answer["letters"]
    assert answer["state"] == "split" and len(letters) == 2 and contract not in letters
    parent = document(server, setup.admin, contract)
    assert parent["state"] == "split"
    assert [e["pages"] for e in parent["result"]["letters"]] == [[1], [2]]
    # the running service's workers read and route the letters (here: back to review, by the admin's rule)
    for number, letter in enumerate(letters, start=1):
        settled = server.wait_settled(setup.admin, letter, timeout=300)
        assert settled["state"] == "review", settled["state"]
        parent_of = settled["result"]["parent"]
        assert parent_of["document_id"] == contract and parent_of["pages"] == [number, number]
    assert ("document.split", f"cli:{getpass.getuser()}") in audit_actions(server, contract)
    again = server.cli("documents", "split", contract, "--before", "2")
    assert again.returncode == 1 and again.stderr.startswith("error: invalid_transition:"), again.stderr
