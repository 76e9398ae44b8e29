"""The deal list's ``count``, cached briefly (the one part of the list that grows with the data).

Counting 20,000 visible deals costs PostgreSQL ~4 ms, more than the rest of the request together, and
an integration paging through the list asks the same question on every page. The count is cached for
``COUNT_TTL`` seconds under the caller's scope (user, admin flag, managed teams), the query string
without paging and ordering (the filters) and a version that every deal write renews
(``pipeline.deal_counts``: saves and deletes through the model signals, the bulk path of lead intake and
CSV imports itself). Writes therefore show at once, unless another request counted while the writing
transaction was still open; then, like ``QuerySet.update`` of the stale flags and changes of the team
tree, within ``COUNT_TTL`` seconds. The rows of the page are never cached. With the default per-process
cache a write renews the version of its own worker only; production shares Redis (``CACHE_URL``) across
workers. The API documents this on the list operation.
"""

from __future__ import annotations

import hashlib

from django.http import QueryDict

from pipeline.deal_counts import deal_count_version
from salesladder.org.models import User
from salesladder.org.selectors import managed_team_ids

COUNT_TTL = 10  # seconds
NOT_FILTERS = {"page", "page_size", "ordering", "format"}


def deal_count_key(*, user: User, params: QueryDict) -> str:
    """The cache key of the count of the deals ``user`` sees with the filters in ``params``."""
    filters = sorted((name, values) for name, values in params.lists() if name not in NOT_FILTERS)
    scope = (user.pk, user.is_superuser, sorted(managed_team_ids(user=user)))
    digest = hashlib.blake2b(repr((scope, filters)).encode(), digest_size=16).hexdigest()
    return f"deal-count:{deal_count_version()}:{digest}"
