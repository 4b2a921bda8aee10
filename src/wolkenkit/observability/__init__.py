"""What operators see of a running application: traces, metrics and logs.

- :mod:`~wolkenkit.observability.tracing`: OpenTelemetry, configured by the ``OTEL_*``
  variables, and the trace context that travels with queued messages.
- :mod:`~wolkenkit.observability.metrics`: the Prometheus metrics of one runtime process.
- :mod:`~wolkenkit.observability.logs`: log records as JSON lines or readable lines, each
  carrying the ids of the command and the span it was made for.

Nothing here knows the runtime: it instruments itself with these at its seams.
"""
