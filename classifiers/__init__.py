"""classifiers package of mailroom."""
