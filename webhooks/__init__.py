"""Webhooks to the DMS: signing and sending (``sender``), subscriptions, the outbox delivery loop (``delivery``)."""
