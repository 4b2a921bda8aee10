"""Store interfaces (one module per kind) and their backends (one package per technology).

Nothing here knows the domain; the domain knows only these interfaces.
"""
