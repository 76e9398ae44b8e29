import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and the webhook subscription cache live in the cache: start every test clean."""
    cache.clear()
    yield
    cache.clear()
