"""workers package of mailroom."""
