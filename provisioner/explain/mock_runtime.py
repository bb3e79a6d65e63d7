"""Run the program under Pulumi's mock runtime and record what it declares.

Used by the tests and by `provisioner explain`. Options that decide safety (protect,
retain_on_delete, additional_secret_outputs) are read from the RegisterResourceRequest the SDK
sends the monitor, i.e. exactly what the engine would receive; nothing in the program is
instrumented. The monitor also does what the engine does with secrets and the mock runtime
does not: a property is a secret output when its input was a secret or it is listed in
additional_secret_outputs.

Each run happens in a fresh `contextvars.Context`, so runs do not share settings, config or
the root stack, and thousands can run in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import string
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import SETTINGS, get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

PROJECT: Final = "tenants"
ACCOUNT: Final = "123456789012"
REGION: Final = "us-east-1"
_ALNUM: Final = string.ascii_letters + string.digits

DEFAULT_PLATFORM_OUTPUTS: Final[dict[str, Any]] = {
    "hostedZoneId": "ZPLATFORMZONE1",
    "loadBalancerDnsName": "platform-alb-1.us-east-1.elb.amazonaws.com",
    "loadBalancerZoneId": "Z35SXDOTRQ7X7K",
    "sharedDatabaseHost": "platform-mysql.cluster-xyz.us-east-1.rds.amazonaws.com",
    "sharedDatabasePort": 3306,
    "sharedDatabaseAdminSecretArn":
        f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:platform/mysql-admin-XyZ123",
    "kmsKeyId": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-1111-2222-3333-444444444444",
    "dbSubnetGroup": "platform-db",
    "securityGroupIds": ["sg-0123456789abcdef0"],
}


def _is_secret(value: Any) -> bool:
    return bool(rpc.is_rpc_secret(value))


def unwrap(value: Any) -> Any:
    """A property value with every secret marker removed (and protobuf's 32.0 back to 32)."""
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _has_secret(value: Any) -> bool:
    if _is_secret(value):
        return True
    if isinstance(value, dict):
        return any(_has_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secret(v) for v in value)
    return False


@dataclass
class RecordedResource:
    """One resource as the program registered it."""

    type: str
    name: str
    urn: str
    parent_urn: str
    custom: bool
    inputs: dict[str, Any]  # secret markers removed; see secret_inputs
    secret_inputs: frozenset[str]  # top-level input names that were secret
    outputs: dict[str, Any]  # what the mock "engine" returned, secrets unwrapped
    secret_outputs: frozenset[str]
    protect: bool
    retain_on_delete: bool
    additional_secret_outputs: tuple[str, ...]
    provider: str
    read: bool = False  # read (StackReference), not managed
    delete_before_replace: bool = False
    dependencies: tuple[str, ...] = ()  # URNs this resource waits for (depends_on and inputs)
    import_id: str = ""  # ResourceOptions(import_=...): the id the engine would import
    ignore_changes: tuple[str, ...] = ()  # ResourceOptions(ignore_changes=...), engine names

    @property
    def parent_name(self) -> str:
        return self.parent_urn.rsplit("::", 1)[-1] if self.parent_urn else ""

    @property
    def deletion_protection(self) -> bool | None:
        value = self.inputs.get("deletionProtection")
        return None if value is None else bool(value)


@dataclass
class RecordedInvoke:
    token: str
    args: dict[str, Any]


@dataclass
class StackRun:
    """Everything one mock run declared, and how it ended."""

    stack: str
    resources: list[RecordedResource] = field(default_factory=list)
    invokes: list[RecordedInvoke] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)  # stack exports, unwrapped
    secret_outputs: frozenset[str] = frozenset()
    log: list[tuple[str, str]] = field(default_factory=list)  # (level, message)
    error: BaseException | None = None

    @property
    def managed(self) -> list[RecordedResource]:
        """The resources the stack creates (no stack, component or read resources)."""
        return [r for r in self.resources if r.custom and not r.read]

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(f"{len(found)} resources of type {type_} named {name!r}")
        return found[0]

    def __iter__(self) -> Iterator[RecordedResource]:
        return iter(self.resources)


def _fake(seed: str, length: int, alphabet: str = _ALNUM) -> str:
    """Deterministic 'random' text: the same seed always gives the same value."""
    out = ""
    counter = 0
    while len(out) < length:
        digest = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        out += "".join(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return out[:length]


class TenantMocks(pulumi_mocks.Mocks):
    """Outputs a provider would compute, derived only from the resource name, its inputs and
    `seed`: two runs with the same seed see the same 'state'."""

    def __init__(self, *, seed: str = "state-1",
                 platform_outputs: Mapping[str, Any] | None = None,
                 shared_admin_secret: str = '{"username": "admin", "password": "mock-admin"}',
                 rds_instances: Mapping[str, Mapping[str, Any]] | None = None):
        self.seed = seed
        # what aws.rds.get_instance reports, by identifier (existing instances, e.g. adopted)
        self.rds_instances = dict(rds_instances or {})
        self.platform_outputs = dict(DEFAULT_PLATFORM_OUTPUTS if platform_outputs is None
                                     else platform_outputs)
        self.shared_admin_secret = shared_admin_secret

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        plain = unwrap(inputs)
        seed = f"{self.seed}:{args.typ}:{args.name}"
        computed: dict[str, Any] = {}
        if args.typ == "pulumi:pulumi:StackReference":
            return plain.get("name", args.name), {
                "name": plain.get("name"), "outputs": dict(self.platform_outputs),
                "secretOutputNames": []}
        if args.typ in ("random:index/randomPassword:RandomPassword",
                        "random:index/randomString:RandomString"):
            result = _fake(seed, int(plain.get("length", 16)))
            computed = {"result": result}
            if args.typ.endswith("RandomPassword"):
                computed["bcryptHash"] = "$2a$10$" + _fake(seed + ":hash", 53,
                                                           _ALNUM + "./")
        elif args.typ == "random:index/randomId:RandomId":
            computed = {"hex": _fake(seed, 2 * int(plain.get("byteLength", 4)),
                                     "0123456789abcdef")}
        elif args.typ == "aws:secretsmanager/secret:Secret":
            computed = {"arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
                               f"{plain.get('name', args.name)}-{_fake(seed, 6)}"}
        elif args.typ == "aws:secretsmanager/secretVersion:SecretVersion":
            computed = {"arn": plain.get("secretId"), "versionId": _fake(seed, 32)}
        elif args.typ == "aws:rds/instance:Instance":
            address = f"{plain.get('identifier', args.name)}.c0ffee.{REGION}.rds.amazonaws.com"
            computed = {"address": address, "port": 3306, "endpoint": f"{address}:3306",
                        "arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{plain.get('identifier')}"}
        elif args.typ == "pulumi-python:dynamic/app:Step" and "website" in plain.get("steps", []):
            # the app's websites.id (provisioner/app/dynamic.py), one per mock "state"
            computed = {"website_id": 1 + int(_fake(seed, 6, "0123456789"))}
        elif args.typ == "aws:route53/record:Record":
            computed = {"fqdn": plain.get("name")}
        elif args.typ == "aws:route53/zone:Zone":
            computed = {"zoneId": args.resource_id or "Z" + _fake(seed, 12).upper(),
                        "nameServers": [f"ns-{i}.awsdns-mock.net" for i in range(1, 5)]}
        elif args.typ == "aws:kms/key:Key":
            key_id = "-".join(_fake(f"{seed}:{i}", n, "0123456789abcdef")
                              for i, n in enumerate((8, 4, 4, 4, 12)))
            computed = {"keyId": key_id, "arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"}
        elif args.typ == "aws:s3/bucket:Bucket":
            computed = {"arn": f"arn:aws:s3:::{plain.get('bucket', args.name)}"}
        elif args.typ in ("aws:iam/role:Role",
                          "aws:iam/openIdConnectProvider:OpenIdConnectProvider"):
            kind = "role" if args.typ.endswith("Role") else "oidc-provider"
            name = plain.get("name") or plain.get("url", "").removeprefix("https://")
            computed = {"arn": f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"}
        # like AWS, a secret's id is its ARN
        resource_id = computed.get("arn") if args.typ == "aws:secretsmanager/secret:Secret" \
            else f"{args.name}-{_fake(seed, 8).lower()}"
        return str(resource_id), {**inputs, **computed}

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        plain = unwrap(args.args)
        if args.token == "aws:secretsmanager/getSecretVersion:getSecretVersion":
            arn = plain.get("secretId", "")
            return {"arn": arn, "id": arn, "secretId": arn, "secretString":
                    rpc.wrap_rpc_secret(self.shared_admin_secret), "versionId": "v1",
                    "versionStages": ["AWSCURRENT"]}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "id": ACCOUNT, "userId": "AIDAMOCK",
                    "arn": f"arn:aws:iam::{ACCOUNT}:user/mock"}
        if args.token == "aws:index/getRegion:getRegion":
            return {"region": REGION, "name": REGION, "id": REGION,
                    "endpoint": f"ec2.{REGION}.amazonaws.com", "description": "mock"}
        if args.token == "aws:kms/getKey:getKey":
            key = plain.get("keyId", "")
            arn = key if key.startswith("arn:") and ":key/" in key else (
                f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{_fake(key, 8).lower()}")
            return {"arn": arn, "id": arn, "keyId": key}
        if args.token == "aws:rds/getInstance:getInstance":
            identifier = plain.get("dbInstanceIdentifier", "")
            return {"id": identifier, "dbInstanceIdentifier": identifier,
                    **self.rds_instances.get(identifier, {})}
        return {}


_WORKER_LOOPS: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


@contextlib.contextmanager
def _worker_loop() -> Iterator[None]:
    """The SDK calls the monitor from executor threads, where `_ensure_event_loop` makes a loop
    per thread and never closes it: remember it, so `close_event_loop` can."""
    try:
        yield
    finally:
        if threading.current_thread() is not threading.main_thread():
            with contextlib.suppress(RuntimeError):  # outside the main thread: never makes one
                _WORKER_LOOPS.add(asyncio.get_event_loop_policy().get_event_loop())


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, plus a record of each registration and the engine's secret rules."""

    def __init__(self, mocks: TenantMocks, run: StackRun) -> None:
        super().__init__(mocks)
        self.run = run

    def RegisterResource(self, request: Any) -> Any:
        with _worker_loop():
            return self._register(request)

    def _register(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        pulumi_mocks._ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        custom = bool(request.custom)
        if custom:
            args = pulumi_mocks.MockResourceArgs(
                typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
                resource_id=request.importId, custom=True)
            resource_id, state = self.mocks.new_resource(args)
        else:  # components keep no provider state
            resource_id, state = "", {}
        extra_secrets = tuple(request.additionalSecretOutputs)
        state = {k: rpc.wrap_rpc_secret(v) if (k in extra_secrets or _has_secret(inputs.get(k)))
                 and v is not None else v for k, v in state.items()}
        self.run.resources.append(RecordedResource(
            type=request.type, name=request.name, urn=urn, parent_urn=request.parent,
            custom=custom, inputs=unwrap(inputs),
            secret_inputs=frozenset(k for k, v in inputs.items() if _has_secret(v)),
            outputs=unwrap(state),
            secret_outputs=frozenset(k for k, v in state.items() if _has_secret(v)),
            protect=bool(request.protect), retain_on_delete=bool(request.retainOnDelete),
            additional_secret_outputs=extra_secrets, provider=request.provider,
            delete_before_replace=bool(request.deleteBeforeReplace),
            dependencies=tuple(request.dependencies), import_id=request.importId,
            ignore_changes=tuple(request.ignoreChanges)))
        obj = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(
            urn, resource_id, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id, object=obj)

    def ReadResource(self, request: Any) -> Any:
        with _worker_loop():
            response = super().ReadResource(request)
        inputs = rpc.deserialize_properties(request.properties)
        self.run.resources.append(RecordedResource(
            type=request.type, name=request.name, urn=response.urn, parent_urn=request.parent,
            custom=True, inputs=unwrap(inputs), secret_inputs=frozenset(), outputs={},
            secret_outputs=frozenset(), protect=False, retain_on_delete=False,
            additional_secret_outputs=(), provider=request.provider, read=True))
        return response

    def Invoke(self, request: Any) -> Any:
        self.run.invokes.append(RecordedInvoke(
            request.tok, unwrap(rpc.deserialize_properties(request.args))))
        with _worker_loop():
            return super().Invoke(request)


class _LogCollector(logging.Handler):
    def __init__(self, run: StackRun) -> None:
        super().__init__(logging.DEBUG)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        self.run.log.append((record.levelname.lower(), record.getMessage()))


def config_for(values: Mapping[str, str], secrets: Mapping[str, str],
               project: str = PROJECT) -> tuple[dict[str, str], list[str]]:
    """Stack config as the CLI would pass it: `project:key` names, secret keys listed."""
    def full(key: str) -> str:
        return key if ":" in key else f"{project}:{key}"

    config = {full(k): v for k, v in values.items()}
    config.update({full(k): v for k, v in secrets.items()})
    return config, [full(k) for k in secrets]


def run_stack(stack: str, program: Callable[[], Any], *,
              config: Mapping[str, str] | None = None,
              secrets: Mapping[str, str] | None = None,
              mocks: TenantMocks | None = None, project: str = PROJECT,
              preview: bool = False) -> StackRun:
    """Run `program` as stack `stack` of `project` (the tenants' by default), never raising: a
    failure is in `StackRun.error`. `config` and `secrets` are stack config keys without the
    namespace; a key holding ":" (`aws:region`) is given as it is. `preview`: as in
    `pulumi preview` (pulumi.runtime.is_dry_run())."""
    run = StackRun(stack)
    context = contextvars.Context()
    context.run(_run_in_context, run, program, dict(config or {}), dict(secrets or {}),
                mocks or TenantMocks(), project, preview)
    return run


def _run_in_context(run: StackRun, program: Callable[[], Any], config: dict[str, str],
                    secrets: dict[str, str], mocks: TenantMocks, project: str,
                    preview: bool = False) -> None:
    logger = logging.getLogger(f"provisioner.explain.mock_runtime.{id(run)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = _LogCollector(run)
    logger.addHandler(handler)
    try:
        pulumi_mocks.set_mocks(mocks, project=project, stack=run.stack, preview=preview,
                               logger=logger, monitor=RecordingMonitor(mocks, run))
        # set_mocks leaves `outputs` at a process-wide default set: a failed run's pending
        # tasks would be awaited, and re-raised, by the next run
        SETTINGS.outputs = set()
        values, secret_keys = config_for(config, secrets, project)
        pulumi.runtime.set_all_config(values, secret_keys)
        try:
            _sync_await(run_pulumi_func(program))
            _sync_await(_collect_outputs(run))
        except Exception as exc:  # reported in the run, as the engine would show it
            run.error = exc
            _cancel_leftovers()
    finally:
        logger.removeHandler(handler)


def _cancel_leftovers() -> None:
    """A failed program leaves outputs and RPCs pending; cancel them within this run."""
    pending = [t for t in (*SETTINGS.outputs, *SETTINGS.rpc_manager.rpcs)
               if isinstance(t, asyncio.Future) and not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        _sync_await(asyncio.gather(*pending, return_exceptions=True))
    SETTINGS.outputs.clear()
    SETTINGS.rpc_manager.clear()


async def _collect_outputs(run: StackRun) -> None:
    root = get_root_resource()
    outputs: dict[str, Any] = getattr(root, "outputs", {})
    secret: set[str] = set()
    for name, value in outputs.items():
        out = pulumi.Output.from_input(value)
        run.outputs[name] = await out.future()
        if await out.is_secret():
            secret.add(name)
    run.secret_outputs = frozenset(secret)



def close_event_loop() -> None:
    """Close the loops the SDK left open, the main thread's and those its executor threads
    made for the mock monitor: garbage-collected at interpreter exit instead, they can print
    an 'Exception ignored' traceback from a half-finalised selector."""
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        return
    if loop.is_closed() or loop.is_running():
        return
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())  # joins the worker threads
    for worker in list(_WORKER_LOOPS):
        if not worker.is_closed():
            worker.close()
    loop.close()
