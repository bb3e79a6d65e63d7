"""CI's backend on the real engine: the state in an S3 bucket and the secrets provider a KMS key
(awskms://), both served by moto; a tenant applied, a second apply with 0 changes, and no
secret in the state objects or the output."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from provisioner.orchestrate.local import client
from tests.engine_world import World, engine_world

pytestmark = [pytest.mark.engine, pytest.mark.timeout(900)]
TENANT = "contaapi"


@pytest.fixture(scope="module")
def world(engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with engine_world(tmp_path_factory.mktemp("engine-s3"), [TENANT], s3=True) as w:
        yield w


def test_a_tenant_on_the_s3_backend_with_kms_secrets(world: World) -> None:
    world.prepare_stack(TENANT)
    settings = (world.repo / f"Pulumi.{TENANT}.yaml").read_text()
    assert "secretsprovider: awskms://" in settings and "encryptionsalt" not in settings
    printed = []
    for _ in range(2):
        proc = world.provisioner("apply", "--all", "--format", "json")
        printed += [proc.stdout, proc.stderr]
        assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-3000:])
    first, second = (json.loads(p) for p in printed[::2])
    assert first["totals"]["create"] >= 20 and second["totals"] == {
        "create": 0, "update": 0, "replace": 0, "delete": 0}
    s3 = client("s3", world.moto)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="tenant-state")["Contents"]]
    stack_key = f".pulumi/stacks/tenants/{TENANT}.json"
    assert stack_key in keys
    state = json.loads(s3.get_object(Bucket="tenant-state", Key=stack_key)["Body"].read())
    assert state["checkpoint"]["latest"]["secrets_providers"]["type"] == "cloud"
    blobs = [s3.get_object(Bucket="tenant-state", Key=k)["Body"].read() for k in keys]
    text = "\n".join(printed)
    for value in world.every_secret():
        assert not any(value.encode() in b for b in blobs), value[:6]
        assert value not in text, value[:6]
