"""The deal list, the API's hottest endpoint: rows as tuples, rendered by hand in ``DealSerializer``'s shape.

Building 50 model instances and running them through a serializer costs more than the query itself, so
the list reads the columns it shows with ``values_list`` and turns each tuple into the documented dict.
``tests/api`` checks every row equals ``DealSerializer`` on the same deal.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any, cast

from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler
from django.http import QueryDict
from django.utils import timezone

from pipeline.models import Account, Contact, Deal, LostReason
from salesladder.org.models import Team, User
from salesladder.org.selectors import managed_team_ids


def _name(model: type[Model], field: str, fk: str) -> RawSQL:
    """``SELECT field FROM model WHERE pk = deal.fk``, written once: its text depends only on the models."""
    q = connection.ops.quote_name
    meta = model._meta
    name_field = cast(Field, meta.get_field(field))
    fk_field = cast(Field, Deal._meta.get_field(fk))
    pk = cast(Field, meta.pk)
    return RawSQL(
        f"SELECT n.{q(str(name_field.column))} FROM {q(meta.db_table)} n WHERE n.{q(str(pk.column))} = "
        f"{q(Deal._meta.db_table)}.{q(str(fk_field.column))}",
        (),
        output_field=name_field,
    )


def deal_list_queryset(deals: QuerySet[Deal]) -> QuerySet[Deal]:
    """Deals with the names the API shows, in the same query and without building the related objects.

    Scalar subqueries rather than joins: PostgreSQL plans a five-way join over the deal table's many
    indexes in ~6 ms, far longer than it runs; each subquery is planned on its own in a fraction of that.
    They are fixed SQL (``RawSQL``, no input in them) because compiling five ORM subqueries costs ~1.5 ms of
    Python a request. The deal table keeps its own name in every deal query (it is never aliased).
    """
    return deals.annotate(**_names())


@functools.cache
def _names() -> dict[str, RawSQL]:
    return {
        "account_name": _name(Account, "name", "account"),
        "contact_name": _name(Contact, "name", "contact"),
        "owner_username": _name(User, "username", "owner"),
        "team_name": _name(Team, "name", "team"),
        "lost_reason_code": _name(LostReason, "code", "lost_reason"),
    }


# The columns read for one list row, in the order of DealSerializer.Meta.fields (ids for the relations).
COLUMNS = (
    "id",
    "title",
    "account_id",
    "account_name",
    "contact_id",
    "contact_name",
    "owner_id",
    "owner_username",
    "team_id",
    "team_name",
    "stage",
    "status",
    "stage_entered_at",
    "amount",
    "currency",
    "expected_close_date",
    "needs_summary",
    "signed_on",
    "contract_amount",
    "delivery_status",
    "source",
    "external_id",
    "notes",
    "lost_reason_code",
    "lost_note",
    "closed_at",
    "last_activity_at",
    "is_stale",
    "created_at",
    "updated_at",
)


def deal_list_values(deals: QuerySet[Deal]) -> QuerySet[Any]:
    """``deals`` (filtered and ordered) as tuples of ``COLUMNS``."""
    return deal_list_queryset(deals).values_list(*COLUMNS)


class DealRows:
    """What the paginator cuts pages from: ``deals`` (filtered and ordered; or a function building them, called
    only when needed), each page read as tuples of ``COLUMNS``. The count comes from the paginator (see
    ``CachedCountPaginator``). With a ``shape`` (``page_shape``) the page statement is remembered per shape and
    slice, so a request of a known shape builds no queryset at all."""

    ordered = True  # the view always orders the deals

    def __init__(self, deals: QuerySet[Deal] | Callable[[], QuerySet[Deal]], shape: Hashable | None = None) -> None:
        self._deals = deals
        self._shape = shape

    def _queryset(self) -> QuerySet[Deal]:
        return self._deals if isinstance(self._deals, QuerySet) else self._deals()

    def __getitem__(self, page: slice) -> list[tuple[Any, ...]]:
        if self._shape is None:
            return fetch_page(self._queryset(), page)
        return _fetch_shaped_page(self._queryset, self._shape, page)


# Query parameters whose validity and meaning do not depend on the database (fixed choices, text, dates,
# paging, ordering): a request made of these alone has one page statement per scope and values. The owner,
# team and account filters check their ids against the database, so requests using them take the full path.
PURE_PARAMS = frozenset(
    {
        "page",
        "page_size",
        "ordering",
        "format",
        "stage",
        "status",
        "source",
        "created_after",
        "updated_after",
        "search",
        "is_stale",
    }
)
_NOT_IN_SHAPE = {"page", "page_size", "format"}  # paging is in the slice; the format only picks the renderer


def page_shape(*, user: User, params: QueryDict) -> Hashable | None:
    """Everything the deal list's page statement depends on besides the slice — the caller's scope (user,
    admin flag, managed teams: what ``deals_visible_to`` reads; the same as ``deal_count_key``), the current
    time zone (dates in filters) and the filter and ordering values — or ``None`` when a parameter's meaning
    depends on the database."""
    if any(name not in PURE_PARAMS for name in params):
        return None
    filters = tuple(sorted((name, tuple(values)) for name, values in params.lists() if name not in _NOT_IN_SHAPE))
    scope = (user.pk, user.is_superuser, tuple(sorted(managed_team_ids(user=user))))
    return (scope, timezone.get_current_timezone_name(), filters)


# Shapes whose filters were built (and so validated) once: a request of such a shape may skip building them.
_VALIDATED: set[Hashable] = set()
_PAGES: dict[tuple[int, Hashable, int | None, int | None], tuple[BaseDatabaseWrapper, str, Any, SQLCompiler]] = {}


def shape_validated(shape: Hashable | None) -> bool:
    return shape is not None and shape in _VALIDATED


def validated(shape: Hashable | None) -> None:
    """Note that the filters of ``shape`` were built without error (the view builds them first otherwise)."""
    if shape is not None:
        if len(_VALIDATED) >= _MAX_PLANS:
            _VALIDATED.clear()
        _VALIDATED.add(shape)


def _fetch_shaped_page(build: Callable[[], QuerySet[Deal]], shape: Hashable, page: slice) -> list[tuple[Any, ...]]:
    """``fetch_page(build(), page)``, the statement and its parameters remembered per shape and slice (and
    connection: the compiler keeps it). Saves building the scoped, filtered queryset and compiling its ids
    query: ~0.6 ms of Python a request."""
    db = connections[router.db_for_read(Deal)]
    key = (id(db), shape, page.start, page.stop)
    known = _PAGES.get(key)
    if known is not None and known[0] is db:
        return _run(db, known[3], known[1], known[2])
    deals = build()
    db = connections[deals.db]
    try:
        key_sql, params = deals.values_list("pk")[page].query.get_compiler(using=deals.db).as_sql()
    except EmptyResultSet:
        return []
    plan = _wide_plan(db, key_sql, lambda: deal_list_values(deals)[page], tuple(params))
    if plan is None:
        return fetch_rows(deal_list_values(deals)[page])
    sql, compiler = plan
    if len(_PAGES) >= _MAX_PLANS:
        _PAGES.clear()
    _PAGES[(id(db), shape, page.start, page.stop)] = (db, sql, params, compiler)
    return _run(db, compiler, sql, params)


def fetch_page(deals: QuerySet[Deal], page: slice) -> list[tuple[Any, ...]]:
    """``deal_list_values(deals)[page]``, without compiling its 35 columns on every request.

    The ORM compiles the page's ids query (one column: cheap); its SQL text names everything that shapes the
    statement (scope, filters, ordering, slice) and the wide query differs from it only by its constant
    select list, so the wide SQL is compiled once per ids SQL and connection and reused with this request's
    parameters (checked equal to the ids query's when compiled). Saves ~1 ms of Python a page.
    """
    db = connections[deals.db]
    try:
        key_sql, params = deals.values_list("pk")[page].query.get_compiler(using=deals.db).as_sql()
    except EmptyResultSet:
        return []
    plan = _wide_plan(db, key_sql, lambda: deal_list_values(deals)[page], tuple(params))
    if plan is None:  # the wide query takes other parameters: compile it for this request
        return fetch_rows(deal_list_values(deals)[page])
    sql, compiler = plan
    return _run(db, compiler, sql, params)


_PLANS: dict[tuple[int, str], tuple[BaseDatabaseWrapper, tuple[str, SQLCompiler] | None]] = {}
_MAX_PLANS = 256


def _wide_plan(
    db: BaseDatabaseWrapper, key_sql: str, wide: Callable[[], QuerySet[Any]], params: tuple[Any, ...]
) -> tuple[str, SQLCompiler] | None:
    key = (id(db), key_sql)  # a connection object belongs to one thread (the compiler keeps it)
    known = _PLANS.get(key)
    if known is not None and known[0] is db:
        return known[1]
    values = wide()
    compiler = values.query.get_compiler(using=values.db)
    sql, wide_params = compiler.as_sql()
    plan = (sql, compiler) if tuple(wide_params) == params else None
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[key] = (db, plan)
    return plan


def fetch_rows(values: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` queryset (what iterating it gives), read by ``_run``."""
    compiler = values.query.get_compiler(using=values.db)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return []
    return _run(connections[values.db], compiler, sql, params)


def _run(db: BaseDatabaseWrapper, compiler: SQLCompiler, sql: str, params: Any) -> list[tuple[Any, ...]]:
    """Execute on a cursor of our own so that PostgreSQL timestamps are parsed by psycopg's C loader
    (Django's own, pure Python to pin the time zone, took a third of the Python time of a 50-deal page),
    then apply the ORM's converters as iterating the queryset would."""
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            _c_timestamps(cursor.cursor)
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    converters = _converters(compiler)
    if not converters:
        return cast(list[tuple[Any, ...]], rows)
    return [tuple(row) for row in compiler.apply_converters(rows, converters)]


def _converters(compiler: SQLCompiler) -> dict[int, Any]:
    """The converters ``compiler.results_iter`` applies to each row, worked out once per compiler (they depend
    on the selected expressions and the connection only; ~0.2 ms of Python a page to derive them again)."""
    known = getattr(compiler, "_deal_list_converters", None)
    if known is None:
        fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        known = compiler.get_converters(fields)  # type: ignore[arg-type]
        compiler._deal_list_converters = known  # type: ignore[attr-defined]
    return cast(dict[int, Any], known)


def _c_timestamps(cursor: Any) -> None:
    """On this cursor only, psycopg's default ``timestamptz`` loader. It answers aware datetimes in the
    session's time zone (UTC, as Django sets it), the same instants Django's loader gives."""
    import psycopg

    oid = psycopg.postgres.types["timestamptz"].oid
    cursor.adapters.register_loader(oid, psycopg.adapters.get_loader(oid, psycopg.pq.Format.TEXT))


def datetime_renderer(zone: tzinfo) -> Callable[[datetime | None], str | None]:
    """As DRF's DateTimeField renders a value in the current time zone, without its per-call overhead."""

    def render(value: datetime | None) -> str | None:
        if value is None:
            return None
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return render


def money(value: Decimal | None) -> str | None:
    """As DRF's ``DecimalField(max_digits=14, decimal_places=2)`` renders it: a string with two decimals."""
    if value is None:
        return None
    if value.as_tuple().exponent != -2:  # the database answers numeric(14, 2); anything else is normalised
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}"


def deal_list_rows(rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Tuples of ``COLUMNS`` as the API's deal dicts (exactly ``DealSerializer``'s output)."""
    dt = datetime_renderer(timezone.get_current_timezone())
    out = []
    for (
        pk,
        title,
        account_id,
        account_name,
        contact_id,
        contact_name,
        owner_id,
        owner_username,
        team_id,
        team_name,
        stage,
        status,
        stage_entered_at,
        amount,
        currency,
        expected_close_date,
        needs_summary,
        signed_on,
        contract_amount,
        delivery_status,
        source,
        external_id,
        notes,
        lost_reason_code,
        lost_note,
        closed_at,
        last_activity_at,
        is_stale,
        created_at,
        updated_at,
    ) in rows:
        out.append(
            {
                "id": pk,
                "title": title,
                "account": account_id,
                "account_name": account_name,
                "contact": contact_id,
                "contact_name": contact_name if contact_id is not None else None,
                "owner": owner_id,
                "owner_username": owner_username,
                "team": team_id,
                "team_name": team_name,
                "stage": stage,
                "status": status,
                "stage_entered_at": dt(stage_entered_at),
                "amount": money(amount),
                "currency": currency,
                "expected_close_date": None if expected_close_date is None else expected_close_date.isoformat(),
                "needs_summary": needs_summary,
                "signed_on": None if signed_on is None else signed_on.isoformat(),
                "contract_amount": money(contract_amount),
                "delivery_status": delivery_status,
                "source": source,
                "external_id": external_id,
                "notes": notes,
                "lost_reason": lost_reason_code,
                "lost_note": lost_note,
                "closed_at": dt(closed_at),
                "last_activity_at": dt(last_activity_at),
                "is_stale": is_stale,
                "created_at": dt(created_at),
                "updated_at": dt(updated_at),
            }
        )
    return out
