"""Sign-in settings from ``HAWK_OIDC_*``: absent means no sign-in; bad values are named with what is allowed."""

from __future__ import annotations

import pytest

from hawk_dagster.auth.settings import DEFAULT_SCOPES, OidcSettings, OidcSettingsError, oidc_settings_from_env


def test_unset_issuer_means_no_sign_in() -> None:
    assert oidc_settings_from_env({}) is None
    assert oidc_settings_from_env({"HAWK_OIDC_ISSUER": "  ", "HAWK_OIDC_AUDIENCE": "x"}) is None


def test_all_variables() -> None:
    settings = oidc_settings_from_env(
        {
            "HAWK_OIDC_ISSUER": "https://login.example.com/",
            "HAWK_OIDC_AUDIENCE": "https://hawk.example.com/api",
            "HAWK_OIDC_CLIENT_ID": "cli",
            "HAWK_OIDC_SCOPES": "openid  offline_access hawk",
            "HAWK_OIDC_PERMISSIONS_CLAIM": "scp",
            "HAWK_OIDC_JWKS_URI": "https://login.example.com/keys",
        }
    )
    assert settings == OidcSettings(
        issuer="https://login.example.com/",
        audience="https://hawk.example.com/api",
        client_id="cli",
        scopes=("openid", "offline_access", "hawk"),
        permissions_claim="scp",
        jwks_uri="https://login.example.com/keys",
    )


def test_defaults() -> None:
    settings = oidc_settings_from_env(
        {"HAWK_OIDC_ISSUER": "http://127.0.0.1:9000", "HAWK_OIDC_AUDIENCE": "api"}
    )
    assert settings is not None
    assert settings.scopes == DEFAULT_SCOPES and "offline_access" in settings.scopes
    assert settings.permissions_claim == "permissions"
    assert settings.client_id is None and settings.jwks_uri is None
    assert settings.browser_client_id is None  # no client at all: no browser sign-in


def test_the_web_client_defaults_to_the_cli_client_and_its_secret_is_not_shown() -> None:
    base = {
        "HAWK_OIDC_ISSUER": "https://id.example",
        "HAWK_OIDC_AUDIENCE": "api",
        "HAWK_OIDC_CLIENT_ID": "cli",
    }
    settings = oidc_settings_from_env(base)
    assert settings is not None and settings.browser_client_id == "cli" and settings.web_client_secret is None
    web = oidc_settings_from_env(
        {**base, "HAWK_OIDC_WEB_CLIENT_ID": "web", "HAWK_OIDC_WEB_CLIENT_SECRET": "s3cret-value"}
    )
    assert web is not None and web.browser_client_id == "web" and web.web_client_secret == "s3cret-value"
    assert "s3cret-value" not in repr(web)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"HAWK_OIDC_ISSUER": "https://login.example.com"}, "HAWK_OIDC_AUDIENCE is required"),
        (
            {"HAWK_OIDC_ISSUER": "login.example.com", "HAWK_OIDC_AUDIENCE": "a"},
            "HAWK_OIDC_ISSUER must be an http",
        ),
        ({"HAWK_OIDC_ISSUER": "http://login.example.com", "HAWK_OIDC_AUDIENCE": "a"}, "must use https"),
        (
            {
                "HAWK_OIDC_ISSUER": "https://l.example",
                "HAWK_OIDC_AUDIENCE": "a",
                "HAWK_OIDC_JWKS_URI": "ftp://x",
            },
            "HAWK_OIDC_JWKS_URI must be an http",
        ),
    ],
)
def test_bad_values_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(OidcSettingsError, match=message):
        oidc_settings_from_env(environ)
