"""Contract suites: the behaviour every backend of a store kind must show.

Subclass a contract and provide its fixtures to run it against your backend::

    class TestMyDomainEventStore(DomainEventStoreContract):
        @pytest.fixture
        async def store(self) -> AsyncIterator[DomainEventStore]:
            store = MyDomainEventStore(...)
            await store.setup()
            yield store
            await store.destroy()

Each contract's docstring names the fixtures it needs.
"""

import pytest

# The suites live in the package, not in a test directory, so ask pytest to rewrite their
# asserts too; a failing contract then shows the values it compared. This package itself is
# being imported already, so its modules are named one by one.
pytest.register_assert_rewrite(
    *(
        f"{__name__}.{module}"
        for module in (
            "consumer_progress_store",
            "crash_safety",
            "domain_event_store",
            "domain_event_store_queries",
            "file_store",
            "lock_store",
            "priority_queue_store",
            "publish_subscribe",
            "view_store",
        )
    )
)
