"""Per-page cost of the pipeline (issue 16): work done twice for the same bytes is done once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import workers.pipeline as pipeline
from mailroom.settings import Settings
from workers.pipeline import PipelineContext, receive, stored_file

ROOT = Path(__file__).resolve().parents[1]
SCAN = ROOT / "sample_docs" / "committed" / "0008-complaint.png"


def test_a_file_checked_at_receive_is_not_decoded_again_for_its_stored_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = PipelineContext.create(Settings(_env_file=None, data_dir=tmp_path / "data"))
    received = receive(SCAN, ctx, channel="cli", station=None)
    checks: list[Path] = []
    real = pipeline.inspect_file
    monkeypatch.setattr(pipeline, "inspect_file", lambda path, settings: checks.append(path) or real(path, settings))

    info = stored_file(received.document_id, ctx, checked=received.info)
    assert checks == []  # the same bytes were checked a moment ago in this process
    assert info.path == ctx.blobs.path(received.info.sha256) and info.path.read_bytes() == SCAN.read_bytes()
    assert replace(info, path=SCAN) == received.info

    other = replace(received.info, sha256="0" * 64)  # a check of other bytes never stands for the stored file
    assert stored_file(received.document_id, ctx, checked=other) == info
    assert stored_file(received.document_id, ctx) == info  # a worker that did not receive it checks it again
    assert checks == [info.path, info.path]
