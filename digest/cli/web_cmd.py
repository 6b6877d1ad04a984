"""`digest serve` and `digest users`."""

from __future__ import annotations

import click

from digest.cli.common import confirm_or_refuse
from digest.cli.root import State, cli
from digest.core.errors import DigestError
from digest.core.text import counted


@cli.command()
@click.option("--host", help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default: web.port, 8000).")
@click.pass_obj
def serve(state: State, host: str | None, port: int | None) -> None:
    """Run the web app: the editor's desk, subscribers' pages, the webhook.

    Example: digest serve --port 8000
    """
    import uvicorn

    from digest.web.server import create_web_app

    app = state.app()
    web = app.settings.web
    where, number = host or web.host, port or web.port
    _check_port(where, number)
    uvicorn.run(
        create_web_app(app),
        host=where,
        port=number,
        proxy_headers=True,
        log_level="info",
    )


def _check_port(host: str, port: int) -> None:
    """One clear line when the address is taken, instead of uvicorn's log lines."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise DigestError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="another program (perhaps another `digest serve`) uses it; pick one with --port",
        ) from None


@cli.group()
def users() -> None:
    """Accounts of the web app (roles: editor, operator)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["editor", "operator"]), required=True)
@click.option("--email", default="", help="Where test sends go (editors).")
@click.password_option(help="Asked for when not given (at least 10 characters).")
@click.pass_obj
def users_add(state: State, username: str, role: str, email: str, password: str) -> None:
    """Add a user; the password is stored as an argon2id hash only.

    Example: digest users add ada --role editor --email ada@example.com
    """
    from digest.web.accounts import add_user

    app = state.app()
    with app.engine.begin() as conn:
        add_user(conn, username, password, role, app.clock(), email=email)
    click.echo(f"added {username.strip().lower()} ({role})")


@users.command("passwd")
@click.argument("username")
@click.password_option(help="Asked for when not given.")
@click.pass_obj
def users_passwd(state: State, username: str, password: str) -> None:
    """Set a new password for a user.

    Example: digest users passwd ada
    """
    from digest.web.accounts import set_password

    app = state.app()
    with app.engine.begin() as conn:
        set_password(conn, username, password, app.clock())
    click.echo(f"password of {username} changed")


@users.command("remove")
@click.argument("username")
@click.option("--yes", is_flag=True, help="Remove without asking (for scripts).")
@click.pass_obj
def users_remove(state: State, username: str, yes: bool) -> None:
    """Remove a user; their sign-ins end at once (the audit log keeps what they did).

    Example: digest users remove ada --yes
    """
    from digest.web.accounts import remove_user

    confirm_or_refuse(yes, f"remove the account {username} and end its sign-ins?",
                      f"digest users remove {username} --yes")  # fmt: skip
    app = state.app()
    with app.engine.begin() as conn:
        ended = remove_user(conn, username, app.clock())
    click.echo(f"removed {username.strip().lower()}; {counted(ended, 'sign-in')} ended")


@users.command("list")
@click.pass_obj
def users_list(state: State) -> None:
    """List the users and their roles.

    Example: digest users list
    """
    from digest.web.accounts import list_users

    app = state.app()
    with app.engine.connect() as conn:
        found = list_users(conn)
    if found:
        click.echo("username\trole\temail")
    for u in found:
        click.echo(f"{u.username}\t{u.role}\t{u.email or ''}")
    click.echo(counted(len(found), "account"), err=True)
