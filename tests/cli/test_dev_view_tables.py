"""``wk dev`` keeps an app's view tables in SQLite under ``.wolkenkit/`` too, so a restart,
which keeps the events and the flows' progress, keeps the rows the flows wrote."""

from __future__ import annotations

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

    assert (app / ".wolkenkit" / "views.db").is_file()
