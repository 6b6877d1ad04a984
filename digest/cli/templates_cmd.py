"""`digest templates ...`: start your own email templates from ours, and check them."""

from __future__ import annotations

from pathlib import Path

import click

from digest.cli.common import console, path_for_config
from digest.cli.root import State, cli
from digest.email.templates_admin import check_templates, copy_templates, overridden


@cli.group()
def templates() -> None:
    """Customise the email templates."""


@templates.command("copy")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.pass_obj
def copy(state: State, dest: Path, force: bool) -> None:
    """Copy the built-in email templates into DEST; set templates_dir = DEST to use them.

    Example: digest templates copy ./my-templates
    """
    for path in copy_templates(dest, force):
        click.echo(str(path))
    config = state.loaded().path
    value = path_for_config(str(dest), config)
    where = f"in {config}" if config else "in your digest.toml"
    click.echo(f'now set templates_dir = "{value}" {where}; keep only the files you change')


@templates.command("check")
@click.pass_obj
def check(state: State) -> None:
    """Render a sample edition with the configured templates and report any problem.

    Example: digest --set templates_dir=./my-templates templates check
    """
    app = state.app()
    s = app.settings
    c = console()
    replaced = overridden(s.templates_dir)
    c.print(f"your templates replace: {', '.join(replaced) if replaced else 'none'}")
    findings = check_templates(app.templates, s.base_url, s.email.clip_warning_kb)
    for finding in findings:
        c.print(f"[{'red' if finding.level == 'error' else 'yellow'}]{finding}[/]")
    if any(f.level == "error" for f in findings):
        raise click.ClickException("the templates render, but with the errors above")
    c.print("[green]templates render without problems[/]")
