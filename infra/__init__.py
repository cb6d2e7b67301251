"""Outbound adapters: settings, event-store and database configuration, clock, tokens, logging."""
