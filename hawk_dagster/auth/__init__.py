"""Sign-in with OpenID Connect: settings, access-token verification (server side), the device-flow login and the
token store (CLI side)."""
