"""The notifications clients may subscribe to; none yet.

Each is a model, named after it in camelCase on the wire, with its docstring as its
documentation. Add one as ``Notifications(SomethingHappened, authorize=Everyone)``, and
publish it from a flow or a view with ``await notification.publish(SomethingHappened())``;
the chat template shows how.
"""

from __future__ import annotations

from wolkenkit import Everyone, Notifications

notifications = Notifications(authorize=Everyone)
