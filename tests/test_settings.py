"""Settings: every value is parsed and checked when loaded, and a bad one is refused with its key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tracker.errors import ConfigError
from tracker.settings import SETTINGS, load_settings

BAD = [
    ("TRACKER_SMTP_TIMEOUT", "0", "smtp.timeout"),
    ("TRACKER_FETCH_CONNECT_TIMEOUT", "0", "fetch.connect_timeout"),
    ("TRACKER_FETCH_READ_TIMEOUT", "0", "fetch.read_timeout"),
    ("TRACKER_FETCH_ATTEMPT_TIMEOUT", "-1", "fetch.attempt_timeout"),
    ("TRACKER_LEASE_SECONDS", "0", "schedule.lease_seconds"),
    ("TRACKER_INSTANCE_LEASE_SECONDS", "0", "schedule.instance_lease"),
    ("TRACKER_TICK_SECONDS", "0", "schedule.tick"),
    ("TRACKER_TICK_SECONDS", "nan", "schedule.tick"),
    ("TRACKER_FETCH_HOST_DELAY", "-0.5", "fetch.host_delay"),
    ("TRACKER_FETCH_PER_HOST", "0", "fetch.per_host"),
    ("TRACKER_FETCH_RETRIES", "-1", "fetch.retries"),
    ("TRACKER_DAILY_AT", "25:99", "schedule.daily_at"),
    ("TRACKER_TIMEZONE", "Mars/Olympus", "schedule.timezone"),
    ("TRACKER_WEEKLY_ON", "funday", "schedule.weekly_on"),
    ("TRACKER_CHECK_EVERY", "banana", "fetch.default_every"),
    ("TRACKER_LOG_FORMAT", "xml", "log.format"),
    ("TRACKER_SEND_EMPTY", "perhaps", "mail.send_empty"),
]


@pytest.mark.parametrize(("env", "value", "key"), BAD, ids=[f"{k}={v}" for _, v, k in BAD])
def test_a_bad_value_is_refused_when_loaded_naming_its_key(env: str, value: str, key: str) -> None:
    with pytest.raises(ConfigError, match=f"bad value for {key} \\(from {env}\\)"):
        load_settings(environ={env: value})


def test_the_same_check_applies_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "tracker.toml"
    path.write_text('[schedule]\ndaily_at = "7"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=f"bad value for schedule.daily_at \\(from {path}\\)"):
        load_settings(path, environ={})


@pytest.mark.parametrize(("env", "value", "attribute", "expected"), [
    ("TRACKER_FETCH_HOST_DELAY", "0", "host_delay", 0.0),     # no delay between requests is a choice
    ("TRACKER_FETCH_RETRIES", "0", "retries", 0),
    ("TRACKER_CHECK_EVERY", "6h", "default_every", "6h"),
])
def test_zero_and_good_values_load_where_they_make_sense(
    env: str, value: str, attribute: str, expected: object
) -> None:
    assert getattr(load_settings(environ={env: value}).fetch, attribute) == expected


def test_typed_sections_hold_the_values_of_the_declaration() -> None:
    settings = load_settings(environ={"TRACKER_WEEKLY_ON": "Friday", "TRACKER_FETCH_PER_HOST": "4"})
    assert settings.schedule.weekly_on == "Friday" and settings.fetch.per_host == 4
    assert settings.mail.sender == settings["mail.from"]
    assert [s.key for s in SETTINGS] == list(settings)  # one declaration, every key in a section
    for spec in SETTINGS:  # every default passes its own parser
        assert spec.parse(spec.default) == spec.default


def test_config_show_refuses_a_bad_value_with_its_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_HOME=str(tmp_path), TRACKER_DAILY_AT="25:99")
    result = subprocess.run([sys.executable, "-m", "tracker", "config", "show"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("error: bad value for schedule.daily_at") and result.stderr.count("\n") == 1
