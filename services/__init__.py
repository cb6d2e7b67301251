"""Application layer: commands per bounded context, authorisation, projections and read-side queries."""
