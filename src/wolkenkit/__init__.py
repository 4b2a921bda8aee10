"""wolkenkit: CQRS and event sourcing for Python."""
