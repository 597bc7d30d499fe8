"""The embedded demo: campaign data, the demo customer (a SIP peer process) and generated caches."""
