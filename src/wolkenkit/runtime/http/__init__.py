"""The HTTP API v2 (reference §3): routes per API, one module each, over the runtime."""
