"""What a start-up imports. Slow libraries that most start-ups never use stay out.

Each test runs in a new interpreter, so modules that other tests imported do not count.
"""

import json

from tests.fresh_interpreter import run_python

EXPLORER_IMPORTS = (
    "import sys, json\n"
    "import mmtui.__main__, mmtui.ui.app\n"
    "from mmtui.auth import load_app_settings, make_token_provider, resolve_settings\n"
    "from mmtui.client_factory import app_client_factory\n"
)
OIDC_LIBRARIES = ("requests", "authlib", "joserfc")


def test_startup_imports_skip_pandas() -> None:
    script = (
        EXPLORER_IMPORTS + "from mmtui.timerange import DEFAULT_RANGE, parse_time_range\n"
        "parse_time_range(DEFAULT_RANGE)\n"
        "before = 'pandas' in sys.modules\n"
        "parse_time_range('1h30m')\n"
        "print(json.dumps([before, 'pandas' in sys.modules]))\n"
    )

    before, after = json.loads(run_python(script))

    assert before is False
    assert after is True


def test_startup_without_oidc_skips_oidc_libraries() -> None:
    script = (
        EXPLORER_IMPORTS + "from mmtui.auth import ConnectionSettings\n"
        f"libraries = {OIDC_LIBRARIES!r}\n"
        "def loaded():\n"
        "    return sorted(m for m in libraries if m in sys.modules)\n"
        "make_token_provider(ConnectionSettings(auth_mode='none'))\n"
        "make_token_provider(ConnectionSettings(auth_mode='api-key', api_key='k'))\n"
        "import mmtui.auth\n"
        "listed = 'OidcUserProvider' in dir(mmtui.auth)\n"
        "before = loaded()\n"
        "oidc = ConnectionSettings(auth_mode='oidc', issuer='http://127.0.0.1:1', client_id='c')\n"
        "provider = make_token_provider(oidc)\n"
        "print(json.dumps([listed, before, loaded(), type(provider).__name__]))\n"
    )

    listed, before, after, provider = json.loads(run_python(script))

    assert listed is True
    assert before == []
    assert after == sorted(OIDC_LIBRARIES)
    assert provider == "OidcUserProvider"


def test_dialog_bindings_skip_oidc_libraries() -> None:
    # Start-up checks `[keys]` against every dialog's bindings, the login dialog's included.
    script = (
        EXPLORER_IMPORTS + "from mmtui.ui.app import MmtuiApp\n"
        "titles = [title for title, _dialog in MmtuiApp._dialogs()]\n"
        f"libraries = {OIDC_LIBRARIES!r}\n"
        "loaded = [m for m in libraries if m in sys.modules]\n"
        "print(json.dumps(['Login dialog' in titles, loaded]))\n"
    )

    has_login, loaded = json.loads(run_python(script))

    assert has_login is True
    assert loaded == []
