"""The IAM documents of the roles CI assumes, installed as package data `provisioner.policies`
(see pyproject.toml) so that the platform program renders these very files
(provisioner/iam_policy.py). AWS reads only the *.json here, once rendered."""
