"""Who may see and do what: principals, model groups and the one visibility rule (owned by the `access` branch)."""
