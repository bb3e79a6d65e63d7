"""The floor of `explain`: a minimal Pulumi program declaring the same resources under the
mock runtime, without the project's logic (no specs, rendering, recording or formatting).

It replays a tenant's declaration: the same resource types (the provider SDK classes the
program uses, pulumi_aws / pulumi_random / pulumi_mysql, given the recorded input properties),
names, parents and counts, under `pulumi.runtime.set_mocks` with mocks that echo the inputs.
Components and the program's dynamic resources are generic `ComponentResource` /
`CustomResource` objects of the same type token (their classes are the project's logic).

As a script it is the one-command floor: a fresh interpreter that imports pulumi and the
SDKs and declares one tenant's resources from a JSON file.

    python bench/explain_floor.py RESOURCES.json
"""

from __future__ import annotations

import contextvars
import importlib
import json
import re
import sys
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

Declared = list[dict[str, Any]]  # {"type", "name", "custom", "parent", "inputs"}


class EchoMocks(pulumi_mocks.Mocks):
    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return {}, []


def declared_of(run: Any) -> Declared:
    """What a recorded project run declared, as plain data (JSON-able)."""
    return [{"type": r.type, "name": r.name, "custom": r.custom, "parent": r.parent_name,
             "inputs": r.inputs} for r in run.resources]


def _snake(value: Any) -> Any:
    if isinstance(value, dict):
        return {re.sub(r"(?<!^)([A-Z])", r"_\1", k).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


SDK_PACKAGES = {"aws": "pulumi_aws", "random": "pulumi_random", "mysql": "pulumi_mysql"}


def sdk_class(token: str) -> Any:
    """The SDK class of a type token (`aws:route53/record:Record`), None for others."""
    parts = token.split(":")
    if parts[0] == "pulumi" and parts[1] == "providers" and parts[2] in SDK_PACKAGES:
        return importlib.import_module(SDK_PACKAGES[parts[2]]).Provider
    if parts[0] not in SDK_PACKAGES:
        return None
    module = parts[1].split("/")[0]
    name = SDK_PACKAGES[parts[0]] + ("" if module == "index" else f".{module}")
    return getattr(importlib.import_module(name), parts[2])


def _program(declared: Declared) -> None:
    made: dict[str, pulumi.Resource] = {}
    for r in declared:
        opts = pulumi.ResourceOptions(parent=made.get(r["parent"]))
        cls = sdk_class(r["type"]) if r["custom"] else None
        if cls is not None:
            made[r["name"]] = cls(r["name"], opts=opts, **_snake(r["inputs"]))
        elif r["custom"]:
            made[r["name"]] = pulumi.CustomResource(r["type"], r["name"], dict(r["inputs"]),
                                                    opts=opts)
        else:
            made[r["name"]] = pulumi.ComponentResource(r["type"], r["name"], None, opts=opts)


def _run(stack: str, declared: Declared) -> None:
    pulumi_mocks.set_mocks(EchoMocks(), project="tenants", stack=stack, preview=False)
    _sync_await(run_pulumi_func(lambda: _program(declared)))


def run_floor(stack: str, declared: Declared) -> None:
    """One stack's declaration, in a fresh context as the project's runs are."""
    contextvars.Context().run(_run, stack, declared)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as fh:
        data = json.load(fh)
    run_floor(data["stack"], data["declared"])
