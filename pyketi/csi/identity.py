"""The CSI Identity service (served in every mode)."""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf import wrappers_pb2

from pyketi import __version__
from pyketi.csi.errors import Code, CsiError
from pyketi.csi.proto import csi_pb2 as pb
from pyketi.csi.proto import csi_pb2_grpc as pbg
from pyketi.csi.rpc import rpc

DRIVER_NAME = "pyketi.gluster.org"
Service = pb.PluginCapability.Service
Expansion = pb.PluginCapability.VolumeExpansion


class IdentityService(pbg.IdentityServicer):
    def __init__(self, mode: str, checks: list[Callable[[], str]] | None = None,
                 name: str = DRIVER_NAME) -> None:
        """``checks``: callables returning '' when a dependency is fine, else
        why not (Probe answers FAILED_PRECONDITION with the reasons)."""
        self.mode = mode
        self.name = name
        self.checks = list(checks or [])

    @rpc
    def GetPluginInfo(self, request, context):
        return pb.GetPluginInfoResponse(name=self.name, vendor_version=__version__,
                                        manifest={"mode": self.mode})

    @rpc
    def GetPluginCapabilities(self, request, context):
        # the same set in every mode (contract §7.1)
        return pb.GetPluginCapabilitiesResponse(capabilities=[
            pb.PluginCapability(service=Service(type=Service.CONTROLLER_SERVICE)),
            pb.PluginCapability(volume_expansion=Expansion(type=Expansion.ONLINE)),
        ])

    @rpc
    def Probe(self, request, context):
        problems = [p for p in (check() for check in self.checks) if p]
        if problems:
            raise CsiError(Code.FAILED_PRECONDITION, "; ".join(problems))
        return pb.ProbeResponse(ready=wrappers_pb2.BoolValue(value=True))
