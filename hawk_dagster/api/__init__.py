"""The HTTP API of a shared deployment (``hawk serve``): FastAPI routes over the same loaders, submission path and
warehouse queries the CLI uses, each behind a declared permission."""
