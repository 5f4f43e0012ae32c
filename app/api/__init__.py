"""The HTTP edge: thin handlers that parse, call a service, and present."""
