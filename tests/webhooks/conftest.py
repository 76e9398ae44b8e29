import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and the webhook subscription cache live in the cache: start every test clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _local_receiver(settings):
    """The receiver of these tests listens on 127.0.0.1, which production refuses (tested separately)."""
    settings.SALESLADDER_WEBHOOK_ALLOW_PRIVATE = True
