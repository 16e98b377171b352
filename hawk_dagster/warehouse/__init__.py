"""The PostgreSQL results warehouse: where it is (``engine``, the ``embedded`` server), its ``schema`` (models,
migrations), how logs get in (``ingest``) and how results are read (``read``)."""
