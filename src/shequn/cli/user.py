"""``shequn user``: the operator accounts that sign in to the dashboard.

What the dashboard cannot do for itself: make the first owner, and let an
administrator back in who has lost their password. Changes are audited as made
by ``cli``.
"""

from __future__ import annotations

import sys

import typer
from rich.table import Table
from sqlalchemy import Connection

from shequn.cli.common import console, open_app
from shequn.features.audit.service import Actor, record
from shequn.features.operators import service as accounts
from shequn.features.operators.permissions import Role
from shequn.kit.errors import ShequnError

app = typer.Typer(help="Manage the operators who sign in to the dashboard.", no_args_is_help=True)
CLI = "cli"


class UserError(ShequnError):
    """A user command that cannot be carried out (the message says why)."""


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise UserError("no password on standard input")
        return line.rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


PASSWORD_STDIN = typer.Option(
    False, "--password-stdin", help="Read the password from the first line of standard input."
)


@app.command()
def create(
    username: str = typer.Argument(..., help="2–64 letters, digits, dots, dashes, underscores."),
    role: Role = typer.Option(Role.OWNER, help="owner, admin, operator or viewer."),
    display_name: str = typer.Option("", help="The name the dashboard shows (default: USERNAME)."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create an operator; the first one must be an owner."""
    with open_app() as shequn:
        shequn.migrate()
        with shequn.engine.connect() as conn:
            first = accounts.count_operators(conn) == 0
        if first and role is not Role.OWNER:
            raise UserError("the first operator must be an owner (--role owner)")
        password = _password(password_stdin)
        now = shequn.clock.now()
        with shequn.engine.begin() as conn:
            workspace = accounts.ensure_workspace(conn, now=now)
            made = accounts.create_operator(
                conn,
                workspace,
                username,
                password,
                role=role.value,
                now=now,
                display_name=display_name,
            )
            record(
                conn,
                Actor(workspace, None, CLI),
                "operator.create",
                "operator",
                made.id,
                after={"username": made.username, "role": made.role},
                now=now,
            )
    console.print(f"created {made.role} {made.username}", markup=False, highlight=False)


@app.command("list")
def list_() -> None:
    """List the operators."""
    with open_app() as shequn:
        shequn.check_schema()
        table = Table(title_justify="left")
        for name, justify in [
            ("id", "right"),
            ("username", "left"),
            ("display name", "left"),
            ("role", "left"),
            ("status", "left"),
            ("created", "left"),
        ]:
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        with shequn.engine.connect() as conn:
            workspace = accounts.first_workspace(conn)
            operators = accounts.list_operators(conn, workspace) if workspace else []
        for op in operators:
            table.add_row(
                str(op.id),
                op.username,
                op.display_name,
                op.role,
                "disabled" if op.disabled else "active",
                op.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            )
    if operators:
        console.print(table)
    else:
        console.print("no operators yet: shequn user create USERNAME", markup=False)


def _find(conn: Connection, username: str) -> tuple[int, accounts.OperatorView]:
    found = accounts.find_operator(conn, username)
    if found is None:
        raise UserError(f"no operator is called {username!r}")
    return found


@app.command()
def password(
    username: str = typer.Argument(..., help="Whose password to set."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Set an operator's password; they are signed out everywhere."""
    with open_app() as shequn:
        shequn.check_schema()
        with shequn.engine.connect() as conn:
            _find(conn, username)
        secret = _password(password_stdin)
        now = shequn.clock.now()
        with shequn.engine.begin() as conn:
            workspace, op = _find(conn, username)
            accounts.update_operator(conn, workspace, op.id, password=secret)
            record(
                conn,
                Actor(workspace, None, CLI),
                "operator.password",
                "operator",
                op.id,
                after={"reset_by": CLI},
                now=now,
            )
    console.print(f"password of {op.username} set", markup=False, highlight=False)


@app.command()
def disable(username: str = typer.Argument(..., help="Who may no longer sign in.")) -> None:
    """Disable an operator: they are signed out and their API tokens stop working."""
    with open_app() as shequn:
        shequn.check_schema()
        now = shequn.clock.now()
        with shequn.engine.begin() as conn:
            workspace, op = _find(conn, username)
            before, after = accounts.update_operator(conn, workspace, op.id, disabled=True)
            if not before.disabled:
                record(
                    conn,
                    Actor(workspace, None, CLI),
                    "operator.update",
                    "operator",
                    op.id,
                    before={"disabled": False},
                    after={"disabled": True},
                    now=now,
                )
    console.print(f"{op.username} disabled", markup=False, highlight=False)
