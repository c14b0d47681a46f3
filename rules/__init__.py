"""rules package of mailroom."""
