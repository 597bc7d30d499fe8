"""Data files shipped with the app (see core.phone_geo)."""
