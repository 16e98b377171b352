"""Watching an eval set: its status report (``hawk status``) and its log stream (``hawk logs``)."""
