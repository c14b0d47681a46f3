"""sample_docs package of mailroom."""
