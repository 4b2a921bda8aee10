"""pydantic's validation and JSON dumping, called the short way (see ``wolkenkit._pydantic``,
where every use of pydantic's internals lives).

``validated(Model, data)`` is ``Model.model_validate(data)``, ``json_object(model)`` is
``model.model_dump(mode="json")`` and ``json_text(model)`` is ``model.model_dump_json()``; the
engine and the stores make several such calls for every command and event.
"""

from __future__ import annotations

from wolkenkit._pydantic import json_object, json_text, validated

__all__ = ["json_object", "json_text", "validated"]
