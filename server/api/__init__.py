"""HTTP layer: one router per area of docs/sync-api.md."""
