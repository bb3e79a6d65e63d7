"""The ResourceProvider gRPC server the three stand-in plugins share.

Served like the SDK's own dynamic provider (pulumi/dynamic/__main__.py): a grpc server on
127.0.0.1:0 whose port is the first line on stdout, then it waits. Each plugin is a `Provider`
with one `Kind` per resource type: which input properties force a replacement (the upstream
Terraform resource's ForceNew / RequiresReplace, cited where the table is), which outputs are
secret (its Sensitive attributes), and create/read/update/delete against a real server.

Secrets: Configure answers acceptSecrets, so secret inputs arrive wrapped in Pulumi's secret
signature; they are unwrapped for the handlers, and every output whose input was secret, or
which the upstream schema marks Sensitive, goes back wrapped, as the bridged providers do.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from threading import Event
from typing import Any

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import plugin_pb2, provider_pb2_grpc
from pulumi.runtime.proto import provider_pb2 as pb

SIG = "4dabf18193072939515e22adb298388d"  # pulumi's special signature key
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # an unknown value in a preview


class NotFound(Exception):
    """The resource no longer exists (Read returns no id, so the engine drops it)."""


def plugin_version(package: str) -> str:
    """The version the SDK package asks the engine for (its pulumi-plugin.json)."""
    from importlib import resources

    data = json.loads(resources.files(package).joinpath("pulumi-plugin.json").read_text())
    return str(data["version"]).removeprefix("v")


def _plain(value: Any) -> Any:
    """Struct values as Python: whole numbers back to int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def unwrap(value: Any) -> tuple[Any, bool]:
    """(plain value, whether any part was secret)."""
    if isinstance(value, dict):
        if value.get(SIG) == SECRET_SIG:
            inner, _ = unwrap(value.get("value"))
            return inner, True
        out, secret = {}, False
        for k, v in value.items():
            out[k], s = unwrap(v)
            secret = secret or s
        return out, secret
    if isinstance(value, list):
        items = [unwrap(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def from_struct(struct: struct_pb2.Struct) -> tuple[dict[str, Any], set[str]]:
    """Properties and the names of the secret ones."""
    from google.protobuf import json_format

    raw = _plain(json_format.MessageToDict(struct))
    props, secrets = {}, set()
    for key, value in raw.items():
        props[key], secret = unwrap(value)
        if secret:
            secrets.add(key)
    return props, secrets


def to_struct(props: Mapping[str, Any], secret: set[str]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update({k: ({SIG: SECRET_SIG, "value": v} if k in secret and v is not None else v)
                for k, v in props.items()})
    return out


def has_unknown(value: Any) -> bool:
    if value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknown(v) for v in value)
    return False


Config = dict[str, Any]
Props = dict[str, Any]
Reader = Callable[[Config, str, Props], tuple[Props, Props]]


@dataclass
class Kind:
    """One resource type: its replacement rules, secret outputs, defaults and handlers."""

    force_new: frozenset[str]
    secret_outputs: frozenset[str] = frozenset()
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # (config, inputs) -> (id, outputs)
    create: Callable[[Config, dict[str, Any]], tuple[str, dict[str, Any]]] | None = None
    # (config, id, state) -> (outputs, inputs) from the real resource; NotFound when gone
    read: Reader | None = None
    # (config, id, old outputs, new inputs) -> outputs
    update: Callable[[Config, str, dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None
    delete: Callable[[Config, str, dict[str, Any]], None] | None = None
    # outputs known before create (in a preview the rest are unknown)
    computed: frozenset[str] = frozenset()


@dataclass
class Provider:
    name: str
    version: str
    kinds: dict[str, Kind]
    invokes: dict[str, Callable[[Config, dict[str, Any]], dict[str, Any]]] = field(
        default_factory=dict)


def _type_of(urn: str) -> str:
    return urn.split("::")[2].split("$")[-1]


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A handler's exception becomes the gRPC error the engine shows as the step's failure."""
    def wrapper(self: Any, request: Any, context: Any) -> Any:
        try:
            return fn(self, request, context)
        except Exception as exc:
            context.abort(grpc.StatusCode.UNKNOWN,
                          f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    return wrapper


class Servicer(provider_pb2_grpc.ResourceProviderServicer):
    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.config: Config = {}

    # -- plumbing -------------------------------------------------------------------------

    def _kind(self, urn: str) -> Kind:
        token = _type_of(urn)
        if token not in self.provider.kinds:
            raise ValueError(f"the {self.provider.name} stand-in has no resource type {token}")
        return self.provider.kinds[token]

    def _outputs(self, kind: Kind, outs: dict[str, Any], secret_inputs: set[str]
                 ) -> struct_pb2.Struct:
        return to_struct(outs, set(kind.secret_outputs) | (secret_inputs & set(outs)))

    # -- provider-level ---------------------------------------------------------------------

    def GetPluginInfo(self, request: Any, context: Any) -> Any:
        return plugin_pb2.PluginInfo(version=self.provider.version)

    def GetSchema(self, request: Any, context: Any) -> Any:
        return pb.GetSchemaResponse(schema="{}")

    def CheckConfig(self, request: Any, context: Any) -> Any:
        return pb.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: Any) -> Any:
        return pb.DiffResponse(changes=pb.DiffResponse.DIFF_NONE)

    def Configure(self, request: Any, context: Any) -> Any:
        args, _ = from_struct(request.args)
        config = dict(args)
        for key, value in request.variables.items():  # "aws:region" -> region
            config.setdefault(key.split(":", 1)[-1], _variable(value))
        self.config = config
        return pb.ConfigureResponse(acceptSecrets=True, supportsPreview=True)

    def Cancel(self, request: Any, context: Any) -> Any:
        return empty_pb2.Empty()

    @_guard
    def Invoke(self, request: Any, context: Any) -> Any:
        fn = self.provider.invokes.get(request.tok)
        if fn is None:
            raise ValueError(f"the {self.provider.name} stand-in has no function {request.tok}")
        args, _ = from_struct(request.args)
        result = fn(self.config, args)
        out = struct_pb2.Struct()
        out.update(result)
        return pb.InvokeResponse(**{"return": out})

    # -- resources ------------------------------------------------------------------------

    @_guard
    def Check(self, request: Any, context: Any) -> Any:
        kind = self._kind(request.urn)
        news, secret = from_struct(request.news)
        inputs = {**kind.defaults, **news}
        return pb.CheckResponse(inputs=to_struct(inputs, secret))

    @_guard
    def Diff(self, request: Any, context: Any) -> Any:
        kind = self._kind(request.urn)
        old_inputs, _ = from_struct(request.old_inputs) if request.HasField("old_inputs") \
            else from_struct(request.olds)
        news, _ = from_struct(request.news)
        ignore = set(request.ignoreChanges)
        changed = sorted(k for k in set(old_inputs) | set(news)
                         if k not in ignore and k != "__defaults"
                         and (has_unknown(news.get(k)) or old_inputs.get(k) != news.get(k)))
        replaces = [k for k in changed if k in kind.force_new]
        detailed = {k: pb.PropertyDiff(
            kind=(pb.PropertyDiff.UPDATE_REPLACE if k in kind.force_new else pb.PropertyDiff.UPDATE)
            if k in old_inputs and k in news else
            (pb.PropertyDiff.ADD_REPLACE if k in kind.force_new else pb.PropertyDiff.ADD)
            if k in news else
            (pb.PropertyDiff.DELETE_REPLACE if k in kind.force_new else pb.PropertyDiff.DELETE),
            inputDiff=True) for k in changed}
        return pb.DiffResponse(
            changes=pb.DiffResponse.DIFF_SOME if changed else pb.DiffResponse.DIFF_NONE,
            replaces=replaces, diffs=changed, detailedDiff=detailed, hasDetailedDiff=True)

    @_guard
    def Create(self, request: Any, context: Any) -> Any:
        kind = self._kind(request.urn)
        inputs, secret = from_struct(request.properties)
        if request.preview:
            outs = {**inputs, **{k: UNKNOWN for k in kind.computed}}
            return pb.CreateResponse(id="", properties=self._outputs(kind, outs, secret))
        assert kind.create is not None
        id_, outs = kind.create(self.config, inputs)
        return pb.CreateResponse(id=id_, properties=self._outputs(kind, {**inputs, **outs},
                                                                  secret))

    @_guard
    def Read(self, request: Any, context: Any) -> Any:
        kind = self._kind(request.urn)
        state, secret = from_struct(request.properties)
        inputs, in_secret = from_struct(request.inputs)
        assert kind.read is not None
        try:
            outs, real_inputs = kind.read(self.config, request.id, state or inputs)
        except NotFound:
            return pb.ReadResponse(id="")
        # a refresh keeps the inputs the program gave, updated where the resource differs;
        # an import (no inputs) takes them from the resource
        new_inputs = {**inputs, **real_inputs} if inputs else real_inputs
        secrets = secret | in_secret
        return pb.ReadResponse(id=request.id,
                               properties=self._outputs(kind, {**state, **outs}, secrets),
                               inputs=to_struct(new_inputs, (secrets | set(kind.secret_outputs))
                                                & set(new_inputs)))

    @_guard
    def Update(self, request: Any, context: Any) -> Any:
        kind = self._kind(request.urn)
        olds, old_secret = from_struct(request.olds)
        news, secret = from_struct(request.news)
        if request.preview:
            return pb.UpdateResponse(properties=self._outputs(kind, {**olds, **news},
                                                              secret | old_secret))
        assert kind.update is not None
        outs = kind.update(self.config, request.id, olds, news)
        return pb.UpdateResponse(properties=self._outputs(kind, {**olds, **news, **outs},
                                                          secret))

    @_guard
    def Delete(self, request: Any, context: Any) -> Any:
        kind = self._kind(request.urn)
        props, _ = from_struct(request.properties)
        if kind.delete is not None:
            kind.delete(self.config, request.id, props)
        return empty_pb2.Empty()


def _variable(text: str) -> Any:
    """Config variables arrive as strings, objects and lists as JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def serve(provider: Provider) -> None:
    """Start on a free loopback port, print it (the engine reads it), wait for the kill."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(Servicer(provider), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    try:
        Event().wait()
    except KeyboardInterrupt:
        server.stop(0)
