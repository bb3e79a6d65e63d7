"""Tenant provisioner for a multi-tenant Peruvian e-invoicing app."""

__version__ = "0.1.0"
