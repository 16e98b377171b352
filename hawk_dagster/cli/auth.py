"""``hawk login``, ``hawk logout`` and ``hawk auth access-token|refresh-token``: the CLI's sign-in to the deployment's
OpenID provider (settings from ``HAWK_OIDC_*``; see hawk_dagster.auth)."""

from __future__ import annotations

import click

from hawk_dagster.auth.session import SignInError, cli_settings, current_tokens
from hawk_dagster.auth.session import login as device_login
from hawk_dagster.auth.session import logout as forget_tokens


@click.command("login")
@click.option(
    "--no-browser", is_flag=True, help="Only print the sign-in URL and code; do not open a browser."
)
def login(no_browser: bool) -> None:
    """Sign in to the deployment's OpenID provider (device flow) and keep the tokens for later commands."""
    result = device_login(cli_settings(), open_browser=not no_browser)
    click.echo(f"Signed in as {result.display_name} (tokens kept in the {result.store}).")


@click.command("logout")
def logout() -> None:
    """Forget the stored tokens, revoking the refresh token at the provider first."""
    result = forget_tokens(cli_settings())
    if not result.was_signed_in:
        click.echo("Not signed in.")
        return
    if result.revoke_error is not None:
        click.echo(
            f"warning: the refresh token could not be revoked at the provider: {result.revoke_error}",
            err=True,
        )
    click.echo("Signed out" + (" (refresh token revoked)." if result.revoked else "."))


@click.group("auth")
def auth_group() -> None:
    """Print the signed-in user's tokens, for scripts and other tools (`hawk login` first)."""


@auth_group.command("access-token")
def access_token() -> None:
    """Print a valid access token, refreshing it first when it expires within a minute."""
    click.echo(current_tokens(cli_settings()).access_token)


@auth_group.command("refresh-token")
def refresh_token() -> None:
    """Print the stored refresh token."""
    tokens = current_tokens(cli_settings(), margin=float("-inf"))
    if tokens.refresh_token is None:
        raise SignInError(
            "the provider gave no refresh token (ask for the offline_access scope in HAWK_OIDC_SCOPES)"
        )
    click.echo(tokens.refresh_token)
