"""``Authorization: Bearer <key>`` for integration tokens.

The key is looked up by its 8-character prefix and checked against the stored SHA-256 hash with a
constant-time comparison. ``last_used_at`` is written at most once a minute per token, so a busy
integration does not turn every read into a write.

One query per request does it all (``_token_sql``): the candidate tokens with their user and team, and
the teams the user manages with their sub-teams (what ``org.selectors.managed_team_ids`` computes, handed
to it through its per-request cache on the user), so a token request spends no further query on its
scope. Nothing is cached across requests: a revocation, an expiry or a deactivated user stops the very
next request. The SQL is fixed and written once from the models (compiling three ORM queries cost ~1.5 ms
of Python a request on the deal list).
"""

from __future__ import annotations

import functools
import hmac
from datetime import timedelta
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from salesladder.org.models import ApiToken, Membership, Role, Team, User
from salesladder.org.services import api_key_hash, api_key_prefix

LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: expected 'Bearer <key>'."))
        try:
            key = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from exc
        return self.authenticate_key(key)

    def authenticate_key(self, key: str) -> tuple[User, ApiToken]:
        prefix = api_key_prefix(key)
        if prefix is None:
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        token = _find_token(prefix=prefix, digest=api_key_hash(key))
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API key has been revoked."))
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This API key has expired."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The user of this API key is inactive."))
        if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


_MODELS: tuple[type[Model], ...] = (ApiToken, User, Team)


@functools.cache
def _token_sql() -> tuple[str, tuple[tuple[type[Model], tuple[Field, ...]], ...]]:
    """The lookup of the tokens with a prefix, their user and team, and the teams the user manages
    (directly or through a parent team: one row per team, one row with NULL when none)."""
    q = connection.ops.quote_name
    aliases = ("t", "u", "tm")
    models = tuple((model, tuple(cast(Field, f) for f in model._meta.concrete_fields)) for model in _MODELS)
    columns = ", ".join(
        f"{alias}.{q(str(f.column))}" for alias, (_m, fields) in zip(aliases, models, strict=True) for f in fields
    )
    token, user, team = (q(m._meta.db_table) for m in _MODELS)
    membership = q(Membership._meta.db_table)
    sql = (
        f"WITH RECURSIVE managed (user_id, team_id) AS ("
        f" SELECT m.user_id, m.team_id FROM {membership} m INNER JOIN {token} mt ON mt.user_id = m.user_id"
        f" WHERE mt.prefix = %s AND m.role = %s"
        f" UNION SELECT managed.user_id, sub.id FROM {team} sub INNER JOIN managed ON sub.parent_id = managed.team_id"
        f") SELECT {columns}, managed.team_id FROM {token} t INNER JOIN {user} u ON u.id = t.user_id"
        f" LEFT OUTER JOIN {team} tm ON tm.id = t.team_id LEFT OUTER JOIN managed ON managed.user_id = t.user_id"
        f" WHERE t.prefix = %s"
    )
    return sql, models


@functools.cache
def _converters(model: type[Model], vendor: str) -> list[list[Any]]:
    """What the ORM applies to each column read from the database (SQLite datetimes, JSON and the like)."""
    fields = [cast(Field, f) for f in model._meta.concrete_fields]
    return [connection.ops.get_db_converters(f.cached_col) + f.get_db_converters(connection) for f in fields]


def _instance(model: type[Model], fields: tuple[Field, ...], values: tuple[Any, ...]) -> Model | None:
    if values[0] is None:  # the outer join found nothing (a token without a team)
        return None
    converted = []
    for field, converters, value in zip(fields, _converters(model, connection.vendor), values, strict=True):
        for convert in converters:
            value = convert(value, field.cached_col, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def _prepared_cursor() -> Any:
    """On PostgreSQL, a cursor (wrapped as Django wraps its own: errors, query log, counts) whose statements
    the server parses and plans once per connection and then only executes: the token look-up is the same
    statement on every request, and planning it cost PostgreSQL ~0.3 ms a request, three times running it.
    Its plan cannot go wrong with the values: every table is reached through a unique key (the prefix, ids).
    Only with persistent connections (``CONN_MAX_AGE`` not 0): a statement prepared for one request gains
    nothing, and behind PgBouncer in transaction mode (run with ``DATABASE_CONN_MAX_AGE=0``, see README) a
    prepared statement may not exist on the next server connection."""
    if connection.vendor != "postgresql" or connection.settings_dict.get("CONN_MAX_AGE", 0) == 0:  # None: forever
        return connection.cursor()
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg import adapters as pg_adapters
    from psycopg.pq import Format

    connection.close_if_health_check_failed()  # what connection.cursor() does first
    connection.ensure_connection()
    with connection.wrap_database_errors:
        if connection.connection.prepare_threshold is None:
            # Django turns psycopg's preparing off (None), which ignores prepare=True too. A threshold no
            # statement reaches prepares only what asks for it (Django's own cursors bind client-side and
            # never prepare).
            connection.connection.prepare_threshold = 1 << 30
        raw = _prepared_cursor_class()(connection.connection)
        loader = connection.connection.adapters.get_loader(pg_adapters.types["timestamptz"].oid, Format.TEXT)
        if connection.timezone != getattr(loader, "timezone", None):  # as create_cursor does
            register_tzloader(connection.timezone, raw)
        return cast(Any, connection)._prepare_cursor(raw)


@functools.cache
def _prepared_cursor_class() -> Any:
    """Django's server-binding cursor asking psycopg to prepare every statement (made once: building a class
    on every request cost ~50 µs)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    base: Any = ServerBindingCursor

    class PreparedCursor(base):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
            return super().execute(query, params, prepare=True)

    return PreparedCursor


def _find_token(*, prefix: str, digest: str) -> ApiToken | None:
    sql, models = _token_sql()
    with _prepared_cursor() as cursor:
        cursor.execute(sql, [prefix, Role.MANAGER.value, prefix])
        rows = cursor.fetchall()
    widths = [len(fields) for _model, fields in models]
    key_hash = [f.attname for f in models[0][1]].index("key_hash")
    matching = [row for row in rows if hmac.compare_digest(row[key_hash], digest)]
    if not matching:
        return None
    row = matching[0]
    parts, start = [], 0
    for width in widths:
        parts.append(row[start : start + width])
        start += width
    token = cast(ApiToken, _instance(models[0][0], models[0][1], parts[0]))
    user = cast(User, _instance(models[1][0], models[1][1], parts[1]))
    token.user = user
    token.team = cast(Team | None, _instance(models[2][0], models[2][1], parts[2]))
    # The scope of the request, as managed_team_ids would compute it (it reads this per-request cache).
    user._managed_team_ids = {r[-1] for r in matching if r[-1] is not None}  # type: ignore[attr-defined]
    return token


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An integration key `sl_<prefix>_<secret>` (create_api_token or the profile page).",
        }
