"""The default templates, installed as package data `provisioner.tenant_templates` (see
pyproject.toml); provisioner/package_data.py finds them with importlib.resources."""
