""""Split here" through the real HTTP API: a reviewer splits a two-page document in review before page 2; the two
letters are made and processed as the letters of a stack, the document keeps its trail."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pikepdf
import pytest
from test_api_rescan import audit_entries, to_review
from test_api_support import SAMPLES, ApiServer, make_settings, serve, upload, wait_settled

CONTRACT = "0011-contract.pdf"  # born digital, two pages of one letter (page 2 has its own header line)
ONE_PAGE = "0027-enquiry.pdf"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with serve(make_settings(tmp_path_factory.mktemp("api-split"))) as running:
        yield running


@pytest.fixture(scope="module")
def tokens(server: ApiServer) -> dict[str, str]:
    return {"station": server.key("station", "poststelle-1"), "reviewer": server.key("reviewer", "pruefer-1"),
            "admin": server.key("admin", "it-admin"), "clerk": server.key("clerk", "sb-1", postboxes=["tiefbau"])}


@pytest.fixture(scope="module")
def ids(server: ApiServer, tokens: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    with server.client(tokens["station"]) as station, server.client(tokens["admin"]) as admin:
        for name in (CONTRACT, ONE_PAGE):
            response = upload(station, name, (SAMPLES / name).read_bytes())
            assert response.status_code == 202, response.text
            out[name] = response.json()["document_id"]
            assert wait_settled(admin, out[name])["state"] in {"routed", "review"}
            to_review(server, out[name])
    return out


def text_of(client: Any, document_id: str) -> str:
    response = client.get(f"/api/v1/documents/{document_id}/text")
    assert response.status_code == 200, response.text
    return str(response.text)


def test_reviewer_splits_a_document_before_page_two(
    server: ApiServer, tokens: dict[str, str], ids: dict[str, str]
) -> None:
    document_id = ids[CONTRACT]
    url = f"/api/v1/documents/{document_id}"
    with server.client(tokens["reviewer"]) as reviewer, server.client(tokens["clerk"]) as clerk:
        for pages in ([1], [3], [2, 3]):
            refused = reviewer.post(f"{url}/split", json={"before_pages": pages})
            assert refused.status_code == 422 and refused.json()["code"] == "invalid_split", pages
            assert refused.json()["field"] == "before_pages"
        assert reviewer.post(f"{url}/split", json={"before_pages": []}).status_code == 422
        assert clerk.post(f"{url}/split", json={"before_pages": [2]}).status_code == 403
        done = reviewer.post(f"{url}/split", json={"before_pages": [2]})
        assert done.status_code == 200, done.text
        body = done.json()
        assert body["state"] == "split"
        letters = body["letters"]
        assert len(letters) == 2 and document_id not in letters

    with server.client(tokens["admin"]) as admin:
        again = admin.post(f"{url}/split", json={"before_pages": [2]})
        assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
        parent = admin.get(url).json()
        entries = parent["result"]["letters"]
        assert [e["document_id"] for e in entries] == letters
        assert [e["pages"] for e in entries] == [[1], [2]]
        assert [e["started_by"] for e in entries] == ["file_start", "reviewer"]
        # the document's trail stays: it was in review, a reviewer split it
        events = admin.get(f"{url}/events").json()["events"]
        assert [e["to_state"] for e in events][-2:] == ["review", "split"]
        assert "reviewer:pruefer-1" in events[-1]["reason"]
        whole = text_of(admin, document_id)
        # each letter is processed as the letters of a stack are: read, typed, routed or back in review
        settled = [wait_settled(admin, letter, timeout=300) for letter in letters]
        for number, letter in enumerate(settled, 1):
            assert letter["state"] in {"routed", "review"}, letter
            assert letter["parent_id"] == document_id and letter["pages"] == 1
            assert letter["result"]["parent"]["document_id"] == document_id
            assert letter["result"]["parent"]["pages"] == [number, number]
            pdf = admin.get(f"/api/v1/documents/{letter['document_id']}/searchable.pdf")
            assert pdf.status_code == 200
            with pikepdf.open(io.BytesIO(pdf.content)) as cut:
                assert len(cut.pages) == 1
        first, second = (text_of(admin, letter) for letter in letters)
        assert "Ingenieurvertrag" in first and "Ingenieurvertrag" in whole
        assert "Seite 2" in second and "Seite 2" not in first
        assert "Seite 1 von 2" in first and "Seite 1 von 2" not in second
        assert "richtet sich nach den gesetzlichen" in second and "richtet sich nach den gesetzlichen" not in first
        # page images of the letters come from the right page of the original
        for letter, page in zip(letters, (1, 2), strict=True):
            own = admin.get(f"/api/v1/documents/{letter}/pages/1/image", params={"dpi": 40})
            of_parent = admin.get(f"{url}/pages/{page}/image", params={"dpi": 40})
            assert own.status_code == 200 and own.content == of_parent.content
    [entry] = audit_entries(server, document_id, "document.split")
    assert entry["actor"] == "reviewer:pruefer-1"
    assert entry["details"]["before_pages"] == [2] and entry["details"]["letters"] == letters


def test_a_one_page_document_cannot_be_split(server: ApiServer, tokens: dict[str, str], ids: dict[str, str]) -> None:
    url = f"/api/v1/documents/{ids[ONE_PAGE]}"
    with server.client(tokens["reviewer"]) as reviewer:
        refused = reviewer.post(f"{url}/split", json={"before_pages": [2]})
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_split"
        assert reviewer.get(url).json()["state"] == "review"
    assert audit_entries(server, ids[ONE_PAGE], "document.split") == []
