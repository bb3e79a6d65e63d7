"""Rendering a tenant's app configuration from `tenant_templates/`."""
