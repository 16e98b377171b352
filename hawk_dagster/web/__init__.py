"""The results pages ``hawk serve`` serves at ``/`` (issue 14): server-rendered HTML over the warehouse readers."""
