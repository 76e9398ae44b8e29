from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from salesladder.errors import DomainError
from salesladder.org.models import ApiScope, Team, User
from salesladder.org.services import api_token_create


class Command(BaseCommand):
    help = (
        "Create an integration token for USERNAME and print its key (shown once, stored only as a hash). "
        "Without --scope the token has the user's full rights."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            default=[],
            choices=ApiScope.values,
            help="Repeat for several scopes.",
        )
        parser.add_argument("--name", default="", help="What the token is for (default: 'cli').")
        parser.add_argument("--team", default="", help="Team name for round-robin lead assignment.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = User.objects.get(username=options["username"])
        except User.DoesNotExist as exc:
            raise CommandError(f"No user named {options['username']!r}.") from exc
        team = None
        if options["team"]:
            team = Team.objects.filter(name=options["team"]).first()
            if team is None:
                raise CommandError(f"No team named {options['team']!r}.")
        try:
            token, key = api_token_create(user=user, name=options["name"] or "cli", scopes=options["scopes"], team=team)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        scopes = ", ".join(token.scopes) or "full access"
        self.stderr.write(
            f"Token {token.name!r} for {user.username} ({scopes}). Store the key now; it is not shown again:"
        )
        self.stdout.write(key)
