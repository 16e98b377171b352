"""``hawk edit-samples``: score edits, invalidations and un-invalidations written into the ``.eval`` logs with
Inspect's own editing API, re-imported at once, and recorded in the ``sample_edit`` audit table.

Plain modules, no Dagster: ``request`` (the file format), ``targets`` (warehouse look-up and access), ``log_edits``
(the edits on one in-memory log), ``log_file`` (the compare-and-swap rewrite), ``audit`` (the table), ``service``
(one request start to end); ``dagster_events`` reports edits to a Dagster instance when there is one.
"""
