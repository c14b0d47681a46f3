"""api package of mailroom."""
