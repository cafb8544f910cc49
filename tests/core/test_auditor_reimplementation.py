"""An auditor re-implements verification from the README with only json and hashlib.

Nothing from the tracker is imported by the verifier below: it reads the export as text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tracker.core import EventStore, NewEvent
from tracker.services import auditing


def auditor_verify(path: Path) -> tuple[int, str]:
    """The README's recipe, verbatim in spirit: netstrings of the fields, SHA-256, chained."""

    def ns(value: object) -> bytes:
        data = ("" if value is None else str(value)).encode("utf-8")
        return str(len(data)).encode() + b":" + data + b","

    prev, expected = "0" * 64, 1
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            e = json.loads(line)
            assert e["position"] == expected, f"gap at {expected}"
            assert e["prev_hash"] == prev, f"broken link at {expected}"
            fields = ["tracker-event/1", e["prev_hash"], e["position"], e["stream"], e["version"], e["type"],
                      e["schema_version"], e["recorded_at"], e["valid_from"], e["idempotency_key"],
                      e["payload"], e["metadata"]]
            digest = hashlib.sha256(b"".join(ns(f) for f in fields)).hexdigest()
            assert digest == e["hash"], f"hash mismatch at {expected}"
            prev, expected = digest, expected + 1
    return expected - 1, prev


def test_export_verifies_with_only_the_standard_library(store: EventStore, tmp_path: Path) -> None:
    store.append([
        NewEvent("instrument/cn-biomed-new-tech-regulation", "InstrumentPublished",
                 {"id": "cn-biomed-new-tech-regulation", "title_zh": "生物医学新技术临床研究和临床转化应用管理条例"},
                 metadata={"actor": "seed", "cause": "seed:cn.toml"}, valid_from="2025-09-28",
                 idempotency_key="seed:cn-biomed-new-tech-regulation:published"),
        NewEvent("instrument/jp-rm-act", "InstrumentEffective", {"title_ja": "再生医療等の安全性の確保等に関する法律"},
                 valid_from="2014-11"),
        NewEvent("fact/us-rmat", "FactReported", {"value": 84, "ratio": 0.35, "quote": 'a "quoted" \\ line\nnext'}),
    ])
    export = tmp_path / "export.jsonl"
    with export.open("w", encoding="utf-8") as handle:
        auditing.export_jsonl(store, handle)
    head = store.head()
    assert auditor_verify(export) == (head.position, head.hash)

    lines = export.read_text(encoding="utf-8").splitlines()
    forged = json.loads(lines[1])
    forged["valid_from"] = "2014-12"
    lines[1] = json.dumps(forged, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="hash mismatch at 2"):
        auditor_verify(export)
