from __future__ import annotations

import pytest
from pyxie_jwt import SigningKey
from pyxie_plugin import PluginSettings
from pyxie_service import SettingsError


def test_settings_fail_fast_without_a_usable_database_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PL_JWT_SIGNING_KEY", SigningKey.generate().reveal_text())
    monkeypatch.setenv("PL_DATABASE_URL", "postgresql://u:p@127.0.0.1:1/db")
    monkeypatch.delenv("PL_DATABASE_KEY", raising=False)
    with pytest.raises(SettingsError, match="PL_DATABASE_KEY: is required"):
        PluginSettings.load()
    monkeypatch.setenv("PL_DATABASE_KEY", "c2hvcnQ=")
    with pytest.raises(SettingsError, match="PL_DATABASE_KEY"):
        PluginSettings.load()
