"""REST controllers under /api/v1 (DESIGN §5)."""
