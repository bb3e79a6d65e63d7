"""The tenant and reseller files: models, catalog, loading and cross-file checks."""
