"""Data files shipped with the app (see app.phone_geo)."""
