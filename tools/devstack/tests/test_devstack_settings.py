from pathlib import Path

import pytest
from pyxie_devstack.settings import SettingsError, load_settings


def test_pl_state_dir_overrides_everything(tmp_path):
    env = {"PL_STATE_DIR": str(tmp_path / "s"), "XDG_STATE_HOME": "/elsewhere"}
    assert load_settings(env).state_dir == tmp_path / "s"


def test_xdg_state_home_is_used_when_absolute():
    assert load_settings({"XDG_STATE_HOME": "/var/state"}).state_dir == Path("/var/state/pyxie")


def test_relative_xdg_state_home_is_ignored():
    expected = Path.home() / ".local" / "state" / "pyxie"
    assert load_settings({"XDG_STATE_HOME": "relative"}).state_dir == expected
    assert load_settings({}).state_dir == expected


def test_timeouts_and_run_as_user_are_read():
    settings = load_settings(
        {
            "PL_DEVSTACK_START_TIMEOUT_S": "5",
            "PL_DEVSTACK_STOP_TIMEOUT_S": "2.5",
            "PL_PG_RUN_AS_USER": "daemon",
        }
    )
    assert (settings.start_timeout_s, settings.stop_timeout_s) == (5.0, 2.5)
    assert settings.pg_run_as_user == "daemon"


@pytest.mark.parametrize("value", ["soon", "0", "-1"])
def test_bad_timeouts_name_the_variable(value):
    with pytest.raises(SettingsError, match="PL_DEVSTACK_START_TIMEOUT_S"):
        load_settings({"PL_DEVSTACK_START_TIMEOUT_S": value})
