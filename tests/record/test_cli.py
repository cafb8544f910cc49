"""The record's commands as a real process: seed, replay, history, show, upcoming, projections."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import cli_env
from tests.record.conftest import BAD, FIXTURE


def tracker(db_url: str, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "tracker", *args], env=cli_env(db_url),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == code, (result.stdout, result.stderr)
    return result


def test_record_commands(db_url: str) -> None:
    tracker(db_url, "init")
    bad = tracker(db_url, "seed", str(FIXTURE), str(BAD / "impossible_date.toml"), code=1)
    assert bad.stderr.strip().splitlines() == [bad.stderr.strip()]
    assert "impossible_date.toml: item 'cn-x': field 'steps[0].date'" in bad.stderr
    first = tracker(db_url, "seed", str(FIXTURE)).stdout
    assert "record.toml: 16 events written (8 new items" in first
    assert "0 events written in total" in tracker(db_url, "seed", str(FIXTURE)).stdout

    lines = tracker(
        db_url, "replay", "--valid-at", "2026-04-30", "--jurisdiction", "CN", "--kind", "regulation", "--json"
    ).stdout.splitlines()
    states = [json.loads(line) for line in lines]
    assert [(s["id"], s["status"], s["status_date"]) for s in states] == [("cn-reg", "published", "2025-09-28")]
    assert states[0]["title_zh"] == "生物医学新技术临床研究和临床转化应用管理条例"
    effective = json.loads(
        tracker(db_url, "replay", "--valid-at", "2026-05-01", "--kind", "regulation", "--json").stdout
    )
    assert (effective["status"], effective["precision"], effective["approximate"]) == ("effective", "month", True)
    assert tracker(db_url, "replay", "--as-of", "0", "--json").stdout == ""
    text = tracker(db_url, "replay", "--valid-at", "2026-05-01", "--kind", "regulation").stdout
    assert "effective    ~2026-05" in text

    history = tracker(db_url, "history", "cn-reg").stdout.splitlines()
    assert len(history) == 4 and "[seed:record.toml]" in history[-1] and history[-1].startswith("~2026-05")
    shown = tracker(db_url, "show", "cn-program").stdout
    assert "<- cn-product designated this" in shown and "status: established ~2020" in shown
    assert "record: checkpoint" in tracker(db_url, "projections", "status").stdout
    assert "record: rebuilt from" in tracker(db_url, "projections", "rebuild").stdout
    assert tracker(db_url, "upcoming", "--days", "30").returncode == 0

    missing = tracker(db_url, "history", "cn-nothing", code=1).stderr
    assert missing.strip() == "error: no item 'cn-nothing' in the record (ids are listed by `tracker replay`)"
    assert "no item 'cn-nothing'" in tracker(db_url, "show", "cn-nothing", code=1).stderr


def test_seed_defaults_to_the_seeds_folder_of_the_working_directory(db_url: str, tmp_path: Path) -> None:
    tracker(db_url, "init")
    (tmp_path / "seeds").mkdir()
    (tmp_path / "seeds" / "record.toml").write_text(
        (FIXTURE / "record.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    result = subprocess.run([sys.executable, "-m", "tracker", "seed"], env=cli_env(db_url), cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("record.toml: 17 events written")


def test_bad_input_is_one_line_exit_1_naming_the_value_and_the_valid_ones(db_url: str) -> None:
    tracker(db_url, "init")
    # An empty record knows no item or tag: a filter naming one would match nothing, so it is refused.
    for option, value in (("--item", "cn-rg"), ("--tag", "no-such-tag")):
        refused = tracker(db_url, "subscribe", "qa@example.org", option, value, code=1)
        assert refused.stderr.endswith(f"{value!r} (the record is empty: run `tracker seed` first)\n"), refused.stderr
    assert tracker(db_url, "subscriptions", "list", "--json").stdout.strip() in ("", "[]")
    tracker(db_url, "seed", str(FIXTURE))
    cases = [
        (
            ("replay", "--jurisdiction", "mars"),
            "--jurisdiction: unknown jurisdiction 'MARS' (valid: CN, EU, INTL, JP, US)",
        ),
        (("replay", "--kind", "memo"), "--kind: unknown kind 'memo' (valid: agency,"),
        (("replay", "--valid-at", "2026-02-30"), "--valid-at: '2026-02-30' is not a real date"),
        (("upcoming", "--jurisdiction", "mars"), "--jurisdiction: unknown jurisdiction 'MARS'"),
        (("changelog", "--since", "2026-13-45"), "--since: '2026-13-45' is not a real date"),
        (("changelog", "--jurisdiction", "XX"), "--jurisdiction: unknown jurisdiction 'XX'"),
        (
            ("log", "--type", "InstrumentPublishd"),
            "--type: unknown event type 'InstrumentPublishd' (did you mean InstrumentPublished",
        ),
        (("log", "--since", "2026-02-30"), "--since: '2026-02-30' is not a real date"),
        (("subscribe", "qa@example.org", "--item", "cn-rg"), "--item: unknown item id 'cn-rg'"),
        (("subscribe", "qa@example.org", "--tag", "no-such-tag"), "--tag: unknown tag 'no-such-tag' (valid: "),
        (("subscribe", "qa@example.org", "--jurisdiction", "mars"), "unknown jurisdiction"),
        (("upcoming", "--days", "-1"), "--days"),
    ]
    for args, expected in cases:
        result = tracker(db_url, *args, code=1)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), (args, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == ""
    undated = tracker(db_url, "replay", "--valid-at", "2020-01-01", "--json").stdout
    assert '"id": "cn-undated"' in undated and '"date_known": false' in undated
    assert '"cn-undated"' not in tracker(db_url, "replay", "--valid-at", "2020-01-01", "--dated-only", "--json").stdout
    assert "date not given" in tracker(db_url, "replay", "--valid-at", "2020-01-01").stdout
