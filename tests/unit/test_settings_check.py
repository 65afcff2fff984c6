"""Every GRIDMAP_* variable is parsed and checked once at start (issue #16): bad values fail naming the
variable, unknown names are warned about with the nearest known one, `gridmap settings --check` exits 1."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from gridmap import config
from gridmap.cli.main import main
from gridmap.errors import ConfigError
from gridmap.web import create_app


@pytest.mark.parametrize(
    ("name", "raw", "says"),
    [
        ("GRIDMAP_PORT", "50a0", "whole number"),
        ("GRIDMAP_PORT", "70000", "between 1 and 65535"),
        ("GRIDMAP_COMPLAINT_SLA_DAYS", "{broken", "is not JSON"),
        ("GRIDMAP_COMPLAINT_SLA_DAYS", "[1, 2]", "JSON object"),
        ("GRIDMAP_COMPLAINT_SLA_DAYS", '{"complaint": 0}', "at least 1"),
        ("GRIDMAP_COMPLAINT_HOLIDAYS", '["2026-13-01"]', "ISO date"),
        ("GRIDMAP_RATE_LIMIT_ENABLED", "maybe", "true or false"),
        ("GRIDMAP_LOG_FORMAT", "xml", "text, json"),
        ("GRIDMAP_LOG_LEVEL", "loud", "one of"),
        ("GRIDMAP_COOKIE_SECURE", "sometimes", "auto, always, never"),
        ("GRIDMAP_TIMEZONE", "Mars/Olympus", "time zone"),
        ("GRIDMAP_TRUSTED_PROXIES", "10.0.0.300", "not an IP address"),
        ("GRIDMAP_METRICS_ADDRESSES", "localhost", "not an IP address"),
        ("GRIDMAP_COMPLAINT_SATISFIED_MIN", "6", "between 1 and 5"),
        ("GRIDMAP_DISTRICT_CODE", "3702", "6-digit"),
        ("GRIDMAP_DATABASE_URL", "gridmap.db", "URL"),
        ("GRIDMAP_MIN_HOUSEHOLDS", "0", "at least 1"),
    ],
)
def test_a_bad_value_fails_naming_the_variable(name, raw, says):
    with pytest.raises(config.SettingError) as err:
        config.load(environ={name: raw})
    assert str(err.value).startswith(f"{name}=") and says in str(err.value)
    assert config.problems({name: raw}) == [str(err.value)]


def test_good_values_parse_to_their_types():
    got = config.load(
        environ={
            "GRIDMAP_PORT": " 8080 ",
            "GRIDMAP_RATE_LIMIT_ENABLED": "off",
            "GRIDMAP_COMPLAINT_SLA_DAYS": '{"complaint": 10}',
            "GRIDMAP_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.2",
            "GRIDMAP_LOG_LEVEL": "debug",
        }
    )
    assert got["PORT"] == 8080 and got["RATE_LIMIT_ENABLED"] is False and got["COMPLAINT_SLA_DAYS"] == {"complaint": 10}
    assert config.problems({"GRIDMAP_TRUSTED_PROXIES": "2"}) == []


def test_a_key_is_not_echoed_in_the_error():
    with pytest.raises(config.SettingError) as err:
        config.load(environ={"GRIDMAP_SECRET_KEY_FALLBACKS": '[{"key": "s3cr3t-old"}]'})
    assert "s3cr3t" not in str(err.value) and "GRIDMAP_SECRET_KEY_FALLBACKS" in str(err.value)


def test_unknown_names_are_warned_about_with_the_nearest_known_one():
    warned = config.unknown({"GRIDMAP_PROT": "1", "GRIDMAP_TEST_POSTGRES_URL": "x", "GRIDMAP_DEMO_PASSWORD": "x"})
    assert warned == ["GRIDMAP_PROT is not a gridmap setting and is ignored; did you mean GRIDMAP_PORT?"]


def test_defaults_are_not_shared_between_calls():
    first = config.load()
    first["COMPLAINT_SLA_DAYS"]["complaint"] = 1
    first["COMPLAINT_HOLIDAYS"].append("2026-01-02")
    again = config.load()
    assert again["COMPLAINT_SLA_DAYS"] == {} and again["COMPLAINT_HOLIDAYS"] == []
    assert config.setting("COMPLAINT_SLA_DAYS").default == {}


def test_settings_check_exits_1_on_any_problem(monkeypatch):
    runner = CliRunner()
    for name in [n for n in os.environ if n.startswith("GRIDMAP_") and not n.startswith("GRIDMAP_TEST_")]:
        monkeypatch.delenv(name)
    ok = runner.invoke(main, ["settings", "--check"])
    assert ok.exit_code == 0, ok.output
    monkeypatch.setenv("GRIDMAP_PORT", "50a0")
    monkeypatch.setenv("GRIDMAP_COMPLAINT_SLA_DAYS", "{broken")
    bad = runner.invoke(main, ["settings", "--check"])
    assert bad.exit_code == 1
    assert "GRIDMAP_PORT='50a0'" in bad.stderr and "GRIDMAP_COMPLAINT_SLA_DAYS='{broken'" in bad.stderr
    monkeypatch.delenv("GRIDMAP_PORT")
    monkeypatch.delenv("GRIDMAP_COMPLAINT_SLA_DAYS")
    monkeypatch.setenv("GRIDMAP_THREDS", "4")
    odd = runner.invoke(main, ["settings", "--check"])
    assert odd.exit_code == 1 and "did you mean GRIDMAP_THREADS?" in odd.stderr


def test_every_command_checks_the_settings_at_start(monkeypatch, tmp_path):
    monkeypatch.setenv("GRIDMAP_DATABASE_URL", f"sqlite:///{tmp_path / 's.db'}")
    monkeypatch.setenv("GRIDMAP_COMPLAINT_SLA_DAYS", "{broken")
    res = CliRunner().invoke(main, ["plan", "list"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.stderr.strip().splitlines()[-1].startswith("Error: GRIDMAP_COMPLAINT_SLA_DAYS=")
    monkeypatch.delenv("GRIDMAP_COMPLAINT_SLA_DAYS")
    monkeypatch.setenv("GRIDMAP_MAX_HOUSEHOLD", "450")
    res = CliRunner().invoke(main, ["plan", "list"])
    assert res.exit_code == 0 and "did you mean GRIDMAP_MAX_HOUSEHOLDS?" in res.stderr


def test_the_app_refuses_to_start_with_a_bad_value(monkeypatch):
    monkeypatch.setenv("GRIDMAP_THREADS", "many")
    with pytest.raises(ConfigError, match="GRIDMAP_THREADS"):
        create_app({"DATABASE_URL": "sqlite://"})
