"""The workspace's widgets and their wiring to the app.workspace services."""
