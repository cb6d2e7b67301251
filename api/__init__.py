"""Inbound adapters and the composition root: HTTP app, GraphQL, web UI, auth, CLI."""
