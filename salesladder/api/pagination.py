from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page
from django.core.paginator import Paginator as DjangoPaginator
from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """``?page=N&page_size=M`` (M at most 500)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ListPage(Page):
    """A page iterated as its list of rows (``Page`` is a ``Sequence``: iterating it calls ``__getitem__`` and
    its checks once per row)."""

    def __iter__(self) -> Any:
        if not isinstance(self.object_list, list):
            self.object_list = list(self.object_list)
        return iter(self.object_list)


class CachedCountPaginator(DjangoPaginator):
    """Counts ``count_queryset`` (the same rows as the page, without what is added for display; or a function
    returning it, called only when the count is not cached), and keeps the number in the cache for
    ``timeout`` seconds under ``key``, which must name everything the rows depend on (the caller's scope and
    filters).
    """

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *,
        count_queryset: QuerySet | Callable[[], QuerySet],
        key: str,
        timeout: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self._count_queryset = count_queryset
        self._key = key
        self._timeout = timeout

    def _get_page(self, *args: Any, **kwargs: Any) -> Page:
        return ListPage(*args, **kwargs)

    @cached_property
    def count(self) -> int:
        count = cache.get(self._key)
        if count is None:
            queryset = self._count_queryset
            count = (queryset if isinstance(queryset, QuerySet) else queryset()).count()
            cache.set(self._key, count, timeout=self._timeout)
        return count
