"""Deadlines from one place: upcoming (text and JSON), the iCalendar file with stable UIDs, changelog beside it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import icalendar
from click.testing import CliRunner

from tests.digests.conftest import CN_TITLE, register_record
from tracker.app import App
from tracker.cli.main import cli
from tracker.core import NewEvent
from tracker.services import calendar_export, changelog, deadlines


def add_deadlines(app: App, today: date) -> None:
    soon = (today + timedelta(days=10)).isoformat()
    month = (today + timedelta(days=62)).isoformat()[:7]
    app.store.append(
        [
            NewEvent(
                "instrument/cn-ct-guideline",
                "InstrumentEffective",
                {"id": "cn-ct-guideline", "step": "effective", "date": soon, "note": "自发布之日起施行"},
                valid_from=soon,
            ),
            NewEvent(
                "instrument/us-cures-act",
                "InstrumentEffective",
                {"id": "us-cures-act", "step": "effective", "date": month},
                valid_from=month,
            ),
            NewEvent(
                "source/src-fr",
                "SourceRegistered",
                {
                    "id": "src-fr",
                    "url": "https://www.federalregister.gov/api/v1/documents.json",
                    "kind": "federal-register",
                    "jurisdiction": "US",
                    "title": "Federal Register: FDA",
                    "items": [],
                    "tags": [],
                },
            ),
            NewEvent(
                "source/src-fr",
                "RegisterEntryAdded",
                {
                    "id": "src-fr",
                    "entry_id": "2026-01234",
                    "date": today.isoformat(),
                    "title": "Human Gene Therapy Products Incorporating Genome Editing; Draft Guidance",
                    "url": "https://www.federalregister.gov/d/2026-01234",
                    "fields": {"type": "Notice", "comments_close_on": (today + timedelta(days=20)).isoformat()},
                },
                valid_from=today.isoformat(),
            ),
        ]
    )


def test_deadlines_come_from_the_record_and_from_register_comment_periods(app: App) -> None:
    register_record(app)
    today = app.clock().date()
    add_deadlines(app, today)
    app.projector.catch_up()
    found = deadlines.collect(app.store, today=today, days=30)
    assert [(d.kind, d.item_id) for d in found] == [("effective", "cn-ct-guideline"), ("comments_close", "src-fr")]
    assert found[1].jurisdiction == "US" and found[1].url == "https://www.federalregister.gov/d/2026-01234"
    later = deadlines.collect(app.store, today=today, days=120)
    month = next(d for d in later if d.item_id == "us-cures-act")
    assert month.precision == "month" and month.starts.day == 1 and month.ends.month == month.starts.month
    assert deadlines.collect(app.store, today=today, days=30, jurisdictions=["JP"]) == []


def test_calendar_parses_back_with_stable_uids_and_whole_periods(app: App, tmp_path: Path) -> None:
    register_record(app)
    today = app.clock().date()
    add_deadlines(app, today)
    first, count = calendar_export.render(app)
    assert count == 3
    parsed = icalendar.Calendar.from_ical(first)
    events = {str(e["UID"]): e for e in parsed.walk("VEVENT")}
    assert len(events) == 3 and all(uid.endswith("@cgt-tracker") for uid in events)
    cn = next(e for e in events.values() if CN_TITLE in str(e["SUMMARY"]))
    assert str(cn["SUMMARY"]).startswith("[CN] takes effect: ") and "Technical Guideline" in str(cn["SUMMARY"])
    assert cn.decoded("DTSTART") == today + timedelta(days=10)
    assert cn.decoded("DTEND") == today + timedelta(days=11)  # all-day, exclusive end
    assert str(cn["URL"]) == "https://www.cde.org.cn/ct"
    month = next(e for e in events.values() if "Cures" in str(e["SUMMARY"]))
    assert month.decoded("DTSTART").day == 1 and month.decoded("DTEND").day == 1  # the whole month

    # Later runs, with more in the log, keep every UID; the same log gives the same bytes.
    assert calendar_export.render(app)[0] == first
    day = (today + timedelta(days=5)).isoformat()
    app.store.append([NewEvent("instrument/jp-rm-guidance", "InstrumentEffective",
                               {"id": "jp-rm-guidance", "step": "effective", "date": day}, valid_from=day)])
    second = icalendar.Calendar.from_ical(calendar_export.render(app)[0])
    uids = {str(e["UID"]) for e in second.walk("VEVENT")}
    assert set(events) < uids and len(uids) == 4
    only_cn = icalendar.Calendar.from_ical(calendar_export.render(app, jurisdictions=["cn"])[0])
    assert [str(e["UID"]) for e in only_cn.walk("VEVENT")] == [str(cn["UID"])]

    written = changelog.write_changelogs(app, tmp_path / "out")
    assert sorted(p.name for p in written) == ["changelog.atom", "changelog.html", "changelog.md", "deadlines.ics"]
    assert len(icalendar.Calendar.from_ical((tmp_path / "out" / "deadlines.ics").read_bytes()).walk("VEVENT")) == 4


def test_upcoming_and_calendar_commands(app: App, tmp_path: Path) -> None:
    env = {"TRACKER_HOME": str(app.settings.home), "TRACKER_DATABASE_URL": app.settings.database_url}
    run = CliRunner().invoke
    register_record(app)
    nothing = run(cli, ["upcoming", "--days", "7"], env=env)
    assert nothing.exit_code == 0 and nothing.output == "nothing due in the next 7 days\n"
    add_deadlines(app, app.clock().date())
    text = run(cli, ["upcoming", "--days", "30"], env=env).output.splitlines()
    assert len(text) == 2 and "takes effect" in text[0] and CN_TITLE in text[0] and "comments close" in text[1]
    rows = [json.loads(line) for line in run(cli, ["upcoming", "--days", "30", "--json"], env=env).output.splitlines()]
    assert [(r["deadline"], r["id"], r["jurisdiction"]) for r in rows] == [
        ("effective", "cn-ct-guideline", "CN"), ("comments_close", "2026-01234", "US")]
    assert rows[0]["kind"] == "guidance" and rows[0]["step"] == "effective" and rows[0]["date_known"] is True
    out = run(cli, ["calendar", "--jurisdiction", "US", "--output", str(tmp_path / "us.ics")], env=env)
    assert out.exit_code == 0 and out.output == f"wrote {tmp_path / 'us.ics'}: 2 due dates\n"
    assert len(icalendar.Calendar.from_ical((tmp_path / "us.ics").read_bytes()).walk("VEVENT")) == 2
