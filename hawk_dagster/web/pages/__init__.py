"""One module per page (or family of pages), each with a ``router`` that ``web.mount`` includes."""
