"""``wk dev`` keeps an app's view tables in SQLite under ``.wolkenkit/`` too, in the file of the
flows' progress, so a restart, which keeps the events and the progress, keeps the rows the flows
wrote. An app's ``views.db`` of an earlier version is moved into that file."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from tests.application.app_files import write_app
from tests.application.table_app import FILES
from tests.cli.helpers import wait_until
from tests.cli.test_dev_persistence import dev, messages, post


def test_a_tables_rows_survive_a_restart(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", FILES)

    with dev(app) as port:
        post(port, "/command/v2/communication/message/send", {"text": "Persisted"})
        wait_until(lambda: len(messages(port)) == 1)

    with dev(app) as port:
        assert [message["text"] for message in messages(port)] == ["Persisted"]

    assert (app / ".wolkenkit" / "wolkenkit.db").is_file()
    assert not (app / ".wolkenkit" / "views.db").exists()


def _move_table_out(data: Path, table: str) -> None:
    """Lay the table out as earlier versions did: in views.db, apart from the progress."""
    with contextlib.closing(sqlite3.connect(data / "views.db")) as views:
        views.execute("ATTACH DATABASE ? AS stores", (str(data / "wolkenkit.db"),))
        schema = views.execute(
            "SELECT sql FROM stores.sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
            "ORDER BY type DESC",  # the table before its indexes
            (table,),
        ).fetchall()
        for (statement,) in schema:
            views.execute(statement)  # unqualified: in views.db
        views.execute(f'INSERT INTO main."{table}" SELECT * FROM stores."{table}"')
        views.execute(f'DROP TABLE stores."{table}"')
        views.commit()


def test_the_view_tables_of_an_earlier_views_db_are_moved_in(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", FILES)
    with dev(app) as port:
        post(port, "/command/v2/communication/message/send", {"text": "Earlier"})
        wait_until(lambda: len(messages(port)) == 1)
    _move_table_out(app / ".wolkenkit", "view_messages")

    with dev(app) as port:
        assert [message["text"] for message in messages(port)] == ["Earlier"]
        post(port, "/command/v2/communication/message/send", {"text": "Later"})
        wait_until(lambda: len(messages(port)) == 2)

    assert not (app / ".wolkenkit" / "views.db").exists()
