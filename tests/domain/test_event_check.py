"""The check before a deploy reads every stored event as the app will, and says which fail."""

from __future__ import annotations

from pathlib import Path

from tests.application.test_upcasters import with_flow
from wolkenkit.domain.catalog import Catalog
from wolkenkit.domain.event_check import check_events
from wolkenkit.messages import AggregateIdentifier, new_id
from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore
from wolkenkit.testing import build_domain_event
from wolkenkit.testing.contracts._messages import collect


async def test_each_event_that_does_not_fit_is_reported_with_why(tmp_path: Path) -> None:
    # ``sent`` is at version 3 (body became text, then sent_at came along).
    catalog = Catalog(with_flow(tmp_path))
    message = AggregateIdentifier.of("communication", "message", new_id())
    other = AggregateIdentifier.of("communication", "message", new_id())
    removed = AggregateIdentifier.of("communication", "letter", new_id())
    store = InMemoryDomainEventStore()
    await store.store_domain_events(
        [
            build_domain_event(message, "sent", {"body": "Hi"}, version=1),
            build_domain_event(message, "liked", {"likes": 1}, revision=2),
            build_domain_event(other, "sent", {"text": "no body"}, version=1),
            build_domain_event(other, "liked", {"likes": "many"}, revision=2),
            build_domain_event(other, "sent", {"text": "Hi", "sent_at": 1}, revision=3, version=3),
            build_domain_event(other, "sent", {"text": "Hi"}, revision=4, version=5),
            build_domain_event(removed, "written", {}),
        ]
    )
    progress: list[int] = []

    problems = await collect(check_events(store, catalog, progress.append))

    assert [(problem.position, problem.domain_event.metadata.revision) for problem in problems] == [
        (3, 1),
        (4, 2),
        (6, 4),
        (7, 1),
    ]
    upcaster, liked, version, unknown = (problem.problem for problem in problems)
    assert upcaster.startswith("Upcaster 'body_became_text' (")
    assert upcaster.endswith("failed: KeyError: 'body'")
    assert liked == (
        "Its data does not fit Liked: Input should be a valid integer, unable to parse string "
        "as an integer (at likes)."
    )
    assert version == (
        "It is stored at version 5, but this app knows its data up to version 3: a newer "
        "version of the app wrote it."
    )
    assert unknown == "The app defines no such event."
    assert sum(progress) == 7


async def test_an_empty_store_has_nothing_to_report(tmp_path: Path) -> None:
    progress: list[int] = []

    problems = await collect(
        check_events(InMemoryDomainEventStore(), Catalog(with_flow(tmp_path)), progress.append)
    )

    assert (problems, progress) == ([], [])
