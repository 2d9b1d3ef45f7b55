"""Hangup notifications: outbox claim, signing, delivery, backoff, dead letters."""
