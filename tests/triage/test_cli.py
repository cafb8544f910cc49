"""`tracker triage ...`: the queue as text and JSON, decisions with the analyst from TRACKER_ACTOR or
--actor, and one-line errors for bad input before anything is written."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner, Result

from tests.monitoring.test_cli import ENV, one_line_error
from tests.triage.conftest import add, record_entries
from tests.triage.test_decisions import FR, POTENCY, PRORULE
from tracker.app import App
from tracker.cli.main import cli
from tracker.services import proposing, record_queries


def tracker(db_url: str, *args: str, **env: str) -> Result:
    base = {k: None for k in os.environ if k.startswith("TRACKER_")} | ENV | {"TRACKER_DATABASE_URL": db_url}
    return CliRunner().invoke(cli, list(args), env={**base, **env})


KEYS = {"id", "state", "source", "evidence_position", "step", "kind", "title_zh", "title_en", "date", "precision",
        "url", "match"}


def test_list_show_and_decide(app: App, db_url: str) -> None:
    add(app, "fr", FR, kind="federal-register", jurisdiction="US")
    record_entries(app, "fr", POTENCY, PRORULE)
    proposing.raise_proposals(app)
    listed = [json.loads(line) for line in tracker(db_url, "triage", "list", "--json").stdout.splitlines()]
    assert len(listed) == 2 and all(KEYS <= set(row) for row in listed)
    potency = next(row for row in listed if row["match"] == "us-potency-guidance")
    assert (potency["step"], potency["date"], potency["precision"]) == ("drafted", "2023-12-28", "day")
    other = next(row for row in listed if row["match"] is None)

    shown = tracker(db_url, "triage", "show", potency["id"])
    assert shown.exit_code == 0 and "why: English title close to" in shown.stdout
    assert (
        json.loads(tracker(db_url, "triage", "show", potency["id"], "--json").stdout)["evidence"]["entry_id"]
        == "2023-28295"
    )

    accepted = tracker(db_url, "triage", "accept", potency["id"], TRACKER_ACTOR="alice")
    assert accepted.exit_code == 0, accepted.output
    assert "accepted" in accepted.stdout
    history = tracker(db_url, "history", "us-potency-guidance").stdout
    assert "accepted by alice" in history and "entry 2023-28295 of fr" in history
    assert record_queries.history(app.store, "us-potency-guidance")[-1].actor == "alice"

    assert tracker(db_url, "triage", "assign", other["id"], "--to", "bob", "--actor", "carol").exit_code == 0
    assert [json.loads(line)["id"] for line in
            tracker(db_url, "triage", "list", "--assignee", "bob", "--json").stdout.splitlines()] == [other["id"]]
    assert tracker(db_url, "triage", "assess", other["id"], "--impact", "low", "--products", "eu-kymriah",
                   "--actor", "carol").exit_code == 0
    assert tracker(db_url, "triage", "defer", other["id"], "--until", "2027-03-01", "--actor", "carol").exit_code == 0
    assert tracker(db_url, "triage", "reject", other["id"], "--reason", "duplicate", "--actor", "carol").exit_code == 0
    assert "rejected" in tracker(db_url, "triage", "list", "--state", "rejected").stdout


def test_bad_input_is_one_line_and_writes_nothing(app: App, db_url: str) -> None:
    add(app, "fr", FR, kind="federal-register", jurisdiction="US")
    record_entries(app, "fr", POTENCY)
    proposing.raise_proposals(app)
    [row] = [json.loads(line) for line in tracker(db_url, "triage", "list", "--json").stdout.splitlines()]
    head = app.store.head().position
    for args in (["accept", row["id"]],                                      # no analyst
                 ["accept", row["id"], "--actor", "a", "--date", "28/09/2025"],
                 ["accept", row["id"], "--actor", "a", "--step", "launched"],
                 ["defer", row["id"], "--actor", "a", "--until", "tomorrow"],
                 ["assess", row["id"], "--actor", "a", "--impact", "huge"],
                 ["show", "p-ffffffffffff"], ["show", "nonsense"],
                 ["list", "--jurisdiction", "XX"]):
        result = tracker(db_url, "triage", *args)
        if result.exit_code == 2:       # refused by click itself (a choice): main() prints it on one line
            assert "Invalid value" in result.output, args
        else:
            one_line_error(result)
    assert app.store.head().position == head
