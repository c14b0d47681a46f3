"""extraction package of mailroom."""
