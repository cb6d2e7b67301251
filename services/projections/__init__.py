"""Projections: events -> read-model tables, each event applied exactly once with its tracking position."""
