"""`exoshare academy`: verify an Open Badges credential offline; print the issuer's keys."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from exoshare.academy import badges

academy_app = typer.Typer(help="The academy's certificates and credentials.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err_console.print(f"[bold red]error:[/] cannot read the {what} {path}: {exc}")
        raise typer.Exit(2) from None


def _local_jwks() -> dict[str, list[dict[str, str]]]:
    """This installation's public keys; an error on a machine that has none (a verifier's),
    rather than a key made up on the spot that verifies nothing."""
    from exoshare.academy.verification import public_jwks
    from exoshare.config import get_settings

    settings = get_settings()
    if not settings.secret_key and not (settings.data_dir / "secret_key").exists():
        err_console.print(
            "[bold red]error:[/] no exoshare installation here: give the issuer's keys with "
            "--keys jwks.json (from https://<exoshare>/.well-known/jwks.json)"
        )
        raise typer.Exit(2)
    return public_jwks(settings)


@academy_app.command("verify")
def verify_command(
    credential: Annotated[
        Path, typer.Argument(help="The credential: the JSON the API answers, or the JWT alone")
    ],
    keys: Annotated[
        Path | None,
        typer.Option(
            help="The issuer's JWK Set (/.well-known/jwks.json); default: this installation's"
        ),
    ] = None,
    revocations: Annotated[
        Path | None,
        typer.Option(help="The issuer's signed revocation list (/api/v1/academy/revocations)"),
    ] = None,
    on: Annotated[
        str | None, typer.Option(help="Check validity on this date (YYYY-MM-DD); default today")
    ] = None,
) -> None:
    """Check a credential's signature and dates with the public key alone, and its revocation
    against a downloaded revocation list. Exit 0 when valid, 1 otherwise."""
    try:
        jwks = json.loads(_read(keys, "key set")) if keys else _local_jwks()
    except json.JSONDecodeError as exc:
        err_console.print(f"[bold red]error:[/] the key set {keys} is not JSON: {exc.msg}")
        raise typer.Exit(2) from None
    try:
        today = date.fromisoformat(on) if on else datetime.now(UTC).date()
    except ValueError:
        err_console.print(f"[bold red]error:[/] --on wants a date like 2027-03-01, not {on!r}")
        raise typer.Exit(2) from None
    revoked = None
    if revocations is not None:
        try:
            revoked = badges.verify_revocation_list(_read(revocations, "revocation list"), jwks)
        except ValueError as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            raise typer.Exit(2) from None
    verdict = badges.verify_credential(_read(credential, "credential"), jwks, today, revoked)
    console.print(f"status: {verdict.status}")
    if verdict.credential is not None:
        console.print(f"credential: {verdict.credential.get('name')}")
    for reason in verdict.reasons:
        console.print(f"  {reason}")
    if not verdict.ok:
        raise typer.Exit(1)


@academy_app.command("public-keys")
def public_keys_command() -> None:
    """Print this installation's JWK Set, to give verifiers who cannot reach the server."""
    typer.echo(json.dumps(_local_jwks(), indent=2))
