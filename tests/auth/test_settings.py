"""Settings resolution (flags > env > profile > defaults) and mmtui's TOML settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mmtui.auth import SettingsError, load_app_settings, resolve_settings
from mmtui.auth.app_settings import app_settings_path

ISSUER = "https://login.example.com"


def write_config(tmp_path: Path, config: dict[str, Any]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {"HOME": str(tmp_path / "home"), "MMTUI_DATA_DIR": str(tmp_path / "data")}
    env.update(extra)
    return env


PROFILES = {
    "default_profile": "prod",
    "profiles": {
        "prod": {
            "uri": "grpc+tls://prod.example.com:50051",
            "client_id": "prod-client",
            "issuers": [{"issuer": ISSUER, "audience": "api://analytics"}],
        },
        "local": {"uri": "grpc://127.0.0.1:50052"},
    },
}


def test_defaults_without_config(tmp_path: Path) -> None:
    settings = resolve_settings(env=base_env(tmp_path))
    assert settings.uri == "grpc://localhost:50051"
    assert settings.auth_mode == "none"
    assert settings.profile is None
    assert settings.scope == "openid email profile offline_access"
    assert settings.token_cache_path == tmp_path / "data" / "tokens.json"
    assert settings.upstream_token_path == tmp_path / "home" / ".micromegas" / "tokens.json"


def test_default_config_path_is_under_home(tmp_path: Path) -> None:
    config_dir = tmp_path / "home" / ".micromegas"
    config_dir.mkdir(parents=True)
    (config_dir / "config.json").write_text('{"uri": "grpc://10.1.2.3:5000"}', encoding="utf-8")
    settings = resolve_settings(env=base_env(tmp_path))
    assert settings.uri == "grpc://10.1.2.3:5000"


def test_flat_config_gives_oidc(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        {
            "uri": "grpc+tls://flat.example.com:443",
            "client_id": "flat-client",
            "issuers": [{"issuer": ISSUER, "audience": "aud-1"}],
        },
    )
    settings = resolve_settings(env=base_env(tmp_path), config_path=path)
    assert settings.uri == "grpc+tls://flat.example.com:443"
    assert settings.auth_mode == "oidc"
    assert settings.issuer == ISSUER
    assert settings.client_id == "flat-client"
    assert settings.audience == "aud-1"
    assert settings.sources["client_id"] == str(path)


@pytest.mark.parametrize(
    ("flag", "env_profile", "expected_profile", "expected_uri"),
    [
        (None, None, "prod", "grpc+tls://prod.example.com:50051"),
        (None, "local", "local", "grpc://127.0.0.1:50052"),
        ("local", None, "local", "grpc://127.0.0.1:50052"),
        ("prod", "local", "prod", "grpc+tls://prod.example.com:50051"),
        (None, "", "prod", "grpc+tls://prod.example.com:50051"),
    ],
)
def test_profile_selection_order(
    tmp_path: Path,
    flag: str | None,
    env_profile: str | None,
    expected_profile: str,
    expected_uri: str,
) -> None:
    path = write_config(tmp_path, PROFILES)
    env = base_env(tmp_path)
    if env_profile is not None:
        env["MICROMEGAS_PROFILE"] = env_profile
    settings = resolve_settings(profile=flag, env=env, config_path=path)
    assert settings.profile == expected_profile
    assert settings.uri == expected_uri
    assert settings.token_cache_path.name == f"tokens-{expected_profile}.json"
    assert settings.upstream_token_path is not None
    assert settings.upstream_token_path.name == f"tokens-{expected_profile}.json"


def test_env_overrides_profile_and_flag_overrides_env(tmp_path: Path) -> None:
    path = write_config(tmp_path, PROFILES)
    env = base_env(
        tmp_path,
        MICROMEGAS_ANALYTICS_URI="grpc://env.example.com:1",
        MICROMEGAS_OIDC_CLIENT_ID="env-client",
        MICROMEGAS_OIDC_AUDIENCE="env-aud",
        MICROMEGAS_OIDC_SCOPE="openid",
    )
    settings = resolve_settings(env=env, config_path=path)
    assert settings.uri == "grpc://env.example.com:1"
    assert settings.client_id == "env-client"
    assert settings.issuer == ISSUER
    assert settings.audience == "env-aud"
    assert settings.scope == "openid"
    assert settings.sources["uri"] == "env MICROMEGAS_ANALYTICS_URI"
    assert settings.sources["issuer"].startswith("profile 'prod'")

    flagged = resolve_settings(uri="grpc://flag.example.com:2", env=env, config_path=path)
    assert flagged.uri == "grpc://flag.example.com:2"
    assert flagged.sources["uri"] == "command line"


def test_empty_env_counts_as_unset(tmp_path: Path) -> None:
    path = write_config(tmp_path, PROFILES)
    env = base_env(tmp_path, MICROMEGAS_ANALYTICS_URI="", MICROMEGAS_OIDC_CLIENT_ID="")
    settings = resolve_settings(env=env, config_path=path)
    assert settings.uri == "grpc+tls://prod.example.com:50051"
    assert settings.client_id == "prod-client"


@pytest.mark.parametrize("name", ["..", ".", "a/b", "x y", "../../etc"])
def test_invalid_profile_name_rejected(tmp_path: Path, name: str) -> None:
    path = write_config(tmp_path, PROFILES)
    with pytest.raises(SettingsError, match="invalid profile name"):
        resolve_settings(profile=name, env=base_env(tmp_path), config_path=path)
    with pytest.raises(SettingsError, match="MICROMEGAS_PROFILE"):
        resolve_settings(env=base_env(tmp_path, MICROMEGAS_PROFILE=name), config_path=path)


def test_invalid_default_profile_name_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"default_profile": "..", "profiles": {"..": {}}})
    with pytest.raises(SettingsError, match="default_profile"):
        resolve_settings(env=base_env(tmp_path), config_path=path)


def test_profile_without_profiles_map_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"uri": "grpc://h:1"})
    with pytest.raises(SettingsError, match="no 'profiles' map"):
        resolve_settings(profile="prod", env=base_env(tmp_path), config_path=path)


def test_profile_without_config_file_rejected(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "config.json"
    with pytest.raises(SettingsError) as from_flag:
        resolve_settings(profile="prod", env=base_env(tmp_path), config_path=path)
    with pytest.raises(SettingsError) as from_env:
        resolve_settings(env=base_env(tmp_path, MICROMEGAS_PROFILE="prod"), config_path=path)

    flag_message = str(from_flag.value)
    assert flag_message.startswith("profile 'prod' (from --profile) not found: ")
    assert f"the config file {path} does not exist" in flag_message
    assert "'profiles' map" in flag_message
    assert str(from_env.value).startswith("profile 'prod' (from env MICROMEGAS_PROFILE) not found")


def test_unknown_profile_lists_available(tmp_path: Path) -> None:
    path = write_config(tmp_path, PROFILES)
    with pytest.raises(SettingsError, match=r"'staging'.*not found.*local, prod"):
        resolve_settings(profile="staging", env=base_env(tmp_path), config_path=path)


def test_no_profile_selected_rejected(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"profiles": PROFILES["profiles"]})
    with pytest.raises(SettingsError, match="no profile selected"):
        resolve_settings(env=base_env(tmp_path), config_path=path)


def test_invalid_json_names_file(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SettingsError, match=str(path)):
        resolve_settings(env=base_env(tmp_path), config_path=path)


@pytest.mark.parametrize(
    "uri", ["ftp://host:1", "grpc://", "localhost:50051", "grpc://h:port", "http://[::1"]
)
def test_invalid_uri_rejected(tmp_path: Path, uri: str) -> None:
    with pytest.raises(SettingsError, match="server URI"):
        resolve_settings(env=base_env(tmp_path, MICROMEGAS_ANALYTICS_URI=uri))


def test_client_secret_selects_client_credentials(tmp_path: Path) -> None:
    env = base_env(
        tmp_path,
        MICROMEGAS_OIDC_ISSUER=ISSUER,
        MICROMEGAS_OIDC_CLIENT_ID="svc",
        MICROMEGAS_OIDC_CLIENT_SECRET="s3cret-value",
    )
    settings = resolve_settings(env=env)
    assert settings.auth_mode == "client-credentials"
    assert settings.client_secret == "s3cret-value"
    assert "s3cret-value" not in repr(settings)


def test_api_key_env_selects_api_key(tmp_path: Path) -> None:
    settings = resolve_settings(env=base_env(tmp_path, MMTUI_API_KEY="key-123"))
    assert settings.auth_mode == "api-key"
    assert settings.api_key == "key-123"
    assert "key-123" not in repr(settings)


def test_api_key_file_in_profile(tmp_path: Path) -> None:
    key_file = tmp_path / "prod.key"
    key_file.write_text("file-key-456\n", encoding="utf-8")
    path = write_config(tmp_path, {"profiles": {"p": {"api_key_file": str(key_file)}}})
    settings = resolve_settings(profile="p", env=base_env(tmp_path), config_path=path)
    assert settings.auth_mode == "api-key"
    assert settings.api_key == "file-key-456"


def test_empty_api_key_file_rejected(tmp_path: Path) -> None:
    key_file = tmp_path / "empty.key"
    key_file.write_text("\n", encoding="utf-8")
    path = write_config(tmp_path, {"api_key_file": str(key_file)})
    with pytest.raises(SettingsError, match="is empty"):
        resolve_settings(env=base_env(tmp_path), config_path=path)


def test_api_key_and_oidc_conflict(tmp_path: Path) -> None:
    path = write_config(tmp_path, PROFILES)
    env = base_env(tmp_path, MMTUI_API_KEY="key-123")
    with pytest.raises(SettingsError, match="two auth mechanisms"):
        resolve_settings(env=env, config_path=path)
    chosen = resolve_settings(auth_mode="api-key", env=env, config_path=path)
    assert chosen.auth_mode == "api-key"
    from_env = resolve_settings(env={**env, "MMTUI_AUTH_MODE": "oidc"}, config_path=path)
    assert from_env.auth_mode == "oidc"


def test_explicit_mode_overrides_inference(tmp_path: Path) -> None:
    path = write_config(tmp_path, PROFILES)
    settings = resolve_settings(auth_mode="none", env=base_env(tmp_path), config_path=path)
    assert settings.auth_mode == "none"


def test_explicit_mode_without_inputs_rejected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="needs the client_secret"):
        resolve_settings(
            auth_mode="client-credentials",
            env=base_env(tmp_path, MICROMEGAS_OIDC_ISSUER=ISSUER, MICROMEGAS_OIDC_CLIENT_ID="c"),
        )
    with pytest.raises(SettingsError, match="MMTUI_API_KEY"):
        resolve_settings(auth_mode="api-key", env=base_env(tmp_path))


def test_invalid_auth_mode_rejected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="invalid auth mode 'saml'"):
        resolve_settings(auth_mode="saml", env=base_env(tmp_path))


def test_incomplete_oidc_rejected(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="client_id is missing"):
        resolve_settings(env=base_env(tmp_path, MICROMEGAS_OIDC_ISSUER=ISSUER))


def test_app_settings_defaults_when_absent(tmp_path: Path) -> None:
    settings = load_app_settings(env={"MMTUI_CONFIG_DIR": str(tmp_path)})
    assert settings.path is None
    assert settings.default_time_range == "1h"
    assert settings.memory_budget_mb > 0
    assert settings.spill_limit_mb == 10 * 1024
    assert settings.preserve_dictionary is True
    assert settings.count_estimate is True
    assert dict(settings.keys) == {}


def test_app_settings_read_from_config_dir(tmp_path: Path) -> None:
    env = {"MMTUI_CONFIG_DIR": str(tmp_path)}
    path = app_settings_path(env)
    assert path == tmp_path / "config.toml"
    path.write_text(
        'theme = "nord"\ndefault_time_range = "15m"\nmemory_budget_mb = 256\n'
        "spill_limit_mb = 0\n"
        "first_batch_timeout = 5\npreserve_dictionary = false\ncount_estimate = false\n"
        '[keys]\nrun_query = "ctrl+r"\n',
        encoding="utf-8",
    )
    settings = load_app_settings(env=env)
    assert settings.theme == "nord"
    assert settings.default_time_range == "15m"
    assert settings.memory_budget_mb == 256
    assert settings.spill_limit_mb == 0
    assert settings.first_batch_timeout == 5.0
    assert settings.preserve_dictionary is False
    assert settings.count_estimate is False
    assert dict(settings.keys) == {"run_query": "ctrl+r"}
    assert settings.path == path


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('thme = "nord"\n', "thme"),
        ('default_time_range = "an hour"\n', "default_time_range"),
        ("memory_budget_mb = -1\n", "memory_budget_mb"),
        ("spill_limit_mb = -1\n", "spill_limit_mb"),
        ("spill_limit_mb = 1.5\n", "spill_limit_mb"),
        ("spill_limit_mb = true\n", "spill_limit_mb"),
        ('first_batch_timeout = "soon"\n', "first_batch_timeout"),
        ('preserve_dictionary = "yes"\n', "preserve_dictionary"),
        ("count_estimate = 0\n", "count_estimate"),
        ("[keys]\nrun_query = 3\n", "keys.run_query"),
        ("theme = \n", "invalid TOML"),
    ],
)
def test_invalid_app_settings_name_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_app_settings(path)
    assert str(path) in str(caught.value)
    assert key in str(caught.value)


def test_deeply_nested_json_config_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        resolve_settings(env=base_env(tmp_path), config_path=path)
    assert str(path) in str(caught.value)
    assert "nested too deeply" in str(caught.value)


def test_app_settings_not_utf8_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'theme = "\xff"\n')
    with pytest.raises(SettingsError) as caught:
        load_app_settings(path)
    assert str(path) in str(caught.value)
    assert "not UTF-8" in str(caught.value)


def test_app_settings_deep_nesting_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_app_settings(path)
    assert str(path) in str(caught.value)
    assert "nested too deeply" in str(caught.value)


@pytest.mark.parametrize("value", ["nan", "+nan", "inf", "+inf", "1e300"])
def test_first_batch_timeout_must_be_finite(tmp_path: Path, value: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"first_batch_timeout = {value}\n", encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_app_settings(path)
    assert str(path) in str(caught.value)
    assert "'first_batch_timeout'" in str(caught.value)


def test_empty_key_named_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[keys]\n"app.run_query" = ""\n', encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_app_settings(path)
    assert "'keys.app.run_query'" in str(caught.value)
    assert "the value is empty" in str(caught.value)
    assert "expected a string" not in str(caught.value)


def test_profile_unknown_key_warns(tmp_path: Path) -> None:
    config = {"profiles": {"lab": {"analytics_uri": "grpc://127.0.0.1:5"}}}
    path = write_config(tmp_path, config)

    settings = resolve_settings(profile="lab", env=base_env(tmp_path), config_path=path)

    assert settings.uri == "grpc://localhost:50051"
    assert settings.warnings == (
        f"ignored unknown key 'analytics_uri' in profile 'lab' in {path} "
        "(known: api_key_file, client_id, issuers, uri)",
    )


def test_top_level_unknown_key_warns(tmp_path: Path) -> None:
    config = {**PROFILES, "defualt_profile": "local"}
    path = write_config(tmp_path, config)

    settings = resolve_settings(env=base_env(tmp_path), config_path=path)

    assert settings.profile == "prod"
    assert settings.warnings == (
        f"ignored unknown key 'defualt_profile' at the top of {path} "
        "(known: default_profile, profiles)",
    )


def test_flat_config_unknown_key_warns(tmp_path: Path) -> None:
    path = write_config(tmp_path, {"uri": "grpc://127.0.0.1:5", "issuer": ISSUER})

    settings = resolve_settings(env=base_env(tmp_path), config_path=path)

    assert settings.uri == "grpc://127.0.0.1:5"
    assert settings.warnings == (
        f"ignored unknown key 'issuer' in {path} (known: api_key_file, client_id, issuers, uri)",
    )


def test_known_keys_give_no_warning(tmp_path: Path) -> None:
    path = write_config(tmp_path, PROFILES)

    settings = resolve_settings(env=base_env(tmp_path), config_path=path)

    assert settings.profile == "prod"
    assert settings.warnings == ()


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("spill_limit_mb = 100.5\n", "invalid 'spill_limit_mb' 100.5 in"),
        ("spill_limit_mb = true\n", "invalid 'spill_limit_mb' true in"),
        ('spill_limit_mb = "100"\n', "invalid 'spill_limit_mb' \"100\" in"),
        ("memory_budget_mb = false\n", "invalid 'memory_budget_mb' false in"),
        ("spill_limit_mb = inf\n", "invalid 'spill_limit_mb' inf in"),
        ("spill_limit_mb = nan\n", "invalid 'spill_limit_mb' nan in"),
        ("spill_limit_mb = 1979-05-27\n", "invalid 'spill_limit_mb' 1979-05-27 in"),
        ('first_batch_timeout = "60"\n', "invalid 'first_batch_timeout' \"60\" in"),
        ("first_batch_timeout = true\n", "invalid 'first_batch_timeout' true in"),
        ('preserve_dictionary = "yes"\n', "invalid 'preserve_dictionary' \"yes\" in"),
        ("count_estimate = 0\n", "invalid 'count_estimate' 0 in"),
    ],
)
def test_settings_errors_spell_toml(tmp_path: Path, text: str, shown: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(SettingsError) as caught:
        load_app_settings(path)

    assert shown in str(caught.value)


def test_issuer_unknown_key_warns(tmp_path: Path) -> None:
    issuers = [{"issuer": ISSUER, "issuerr": "https://typo.example.com"}]
    path = write_config(tmp_path, {"uri": "grpc://127.0.0.1:5", "issuers": issuers})

    settings = resolve_settings(env=base_env(tmp_path), auth_mode="none", config_path=path)

    assert settings.warnings == (
        f"ignored unknown key 'issuerr' in {path} issuers[0] (known: audience, issuer)",
    )


def test_size_setting_error_asks_whole_mib(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("spill_limit_mb = 100.5\n", encoding="utf-8")

    with pytest.raises(SettingsError) as caught:
        load_app_settings(path)

    assert "expected a whole number of MiB, 0 or more" in str(caught.value)


def test_app_settings_too_large_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('theme = "textual-dark"\n' + "#" * (1 << 20), encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        load_app_settings(path)
    assert str(path) in str(caught.value)
    assert "larger than 1048576 bytes" in str(caught.value)


def test_json_config_too_large_rejected(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{}" + " " * (1 << 20), encoding="utf-8")
    with pytest.raises(SettingsError) as caught:
        resolve_settings(env=base_env(tmp_path), config_path=path)
    assert str(path) in str(caught.value)
    assert "larger than 1048576 bytes" in str(caught.value)
