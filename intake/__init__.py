"""intake package of mailroom."""
