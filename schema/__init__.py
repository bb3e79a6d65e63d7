"""The JSON Schemas of the spec files, installed as package data `provisioner.schema` (see
pyproject.toml); provisioner/package_data.py finds them with importlib.resources."""
