"""The README's standard-library proof verifier, taken from README.md and run exactly as printed.

It is run as its own process with `python -I` (no tracker on the path, no site packages): it
accepts a real proof and rejects each forgery with its own assertion.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.cli.test_proof_commands import _append, run
from tracker.signing import SigningKey

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_verifier() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Proofs: a Merkle tree"):]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's proof verifier block is missing"
    return match.group(1)


def test_the_readme_verifier_runs_as_printed(tmp_path: Path) -> None:
    script = tmp_path / "verify_proof.py"
    script.write_text(readme_verifier(), encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    run(db_url, tmp_path, "init", check=True)
    _append(db_url, 37)
    keys = json.loads(run(db_url, tmp_path, "keys", "generate", "--json", check=True).stdout)
    run(db_url, tmp_path, "checkpoint", "--output", str(tmp_path / "checkpoint.txt"), check=True)
    proof = json.loads(run(db_url, tmp_path, "prove", "21", "--json", check=True).stdout)

    def verify(proof_data: dict[str, object], event: dict[str, object] | None = None, note: str | None = None,
               vkey: str = keys["vkey"]) -> subprocess.CompletedProcess[str]:
        (tmp_path / "proof.json").write_text(json.dumps(proof_data))
        (tmp_path / "event.json").write_text(json.dumps(event or proof_data["event"], ensure_ascii=False))
        (tmp_path / "cp.txt").write_text(
            note or (tmp_path / "checkpoint.txt").read_text(encoding="utf-8"), encoding="utf-8"
        )
        return subprocess.run(
            [
                sys.executable,
                "-I",
                str(script),
                str(tmp_path / "proof.json"),
                str(tmp_path / "event.json"),
                str(tmp_path / "cp.txt"),
                vkey,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )

    ok = verify(proof)
    assert ok.returncode == 0 and ok.stdout.strip() == (
        "ok: event 21 is in the log of 37 events of tracker.invalid/cgt-regulatory-log"), ok.stderr

    def rejected(reason: str, **kwargs: object) -> None:
        result = verify(**kwargs)  # type: ignore[arg-type]
        assert result.returncode != 0 and reason in result.stderr, result.stderr

    flipped = list(proof["path"])
    flipped[1] = ("1" if flipped[1][0] == "0" else "0") + flipped[1][1:]
    rejected("another tree", proof_data=dict(proof, path=flipped))
    rejected(
        "not the proof's event",
        proof_data=proof,
        event=json.loads(run(db_url, tmp_path, "prove", "22", "--json").stdout)["event"],
    )
    rejected("not the proof's event", proof_data=proof, event=dict(proof["event"], payload='{"id":"forged"}'))
    rejected("proof too short", proof_data=dict(proof, path=proof["path"][:-1]))
    note = (tmp_path / "checkpoint.txt").read_text(encoding="utf-8")
    rejected("no valid signature", proof_data=proof, note=note.replace("time 20", "time 19"))
    other = SigningKey.from_seed("tracker.invalid/cgt-regulatory-log", b"\x05" * 32)
    rejected("no valid signature", proof_data=proof, vkey=other.verifier.vkey)
    text = note.partition("\n\n")[0] + "\n"
    forged = other.sign(
        "tracker.invalid/cgt-regulatory-log", 37, bytes.fromhex(proof["root_hash"]), "2026-01-01T00:00:00Z"
    )
    assert forged.text != text
    rejected("no valid signature", proof_data=proof, note=forged.note)  # a valid note, by another key


def test_the_readme_verifier_at_small_sizes(tmp_path: Path) -> None:
    script = tmp_path / "verify_proof.py"
    script.write_text(readme_verifier(), encoding="utf-8")
    db_url = f"sqlite:///{tmp_path / 'tracker.db'}"
    run(db_url, tmp_path, "init", check=True)
    vkey = json.loads(run(db_url, tmp_path, "keys", "generate", "--json", check=True).stdout)["vkey"]
    size = 0
    for grown in (1, 2, 16, 17):
        _append(db_url, grown - size, start=size)
        size = grown
        run(db_url, tmp_path, "checkpoint", "--output", str(tmp_path / "cp.txt"), check=True)
        for position in sorted({1, size}):
            proof = json.loads(run(db_url, tmp_path, "prove", str(position), "--json", check=True).stdout)
            (tmp_path / "p.json").write_text(json.dumps(proof))
            (tmp_path / "e.json").write_text(json.dumps(proof["event"], ensure_ascii=False))
            result = subprocess.run([sys.executable, "-I", str(script), "p.json", "e.json", "cp.txt", vkey],
                                    capture_output=True, text=True, timeout=60, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
