"""The wrapper every RPC handler runs in: request id, logging, status."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

import grpc

from pyketi.csi.errors import CsiError
from pyketi.csi.reqlog import describe, log, new_request_id, request_id


# called periodically by sidecars and kubelet: their successes are logged at DEBUG
QUIET = frozenset({"Probe", "GetPluginInfo", "GetPluginCapabilities",
                   "ControllerGetCapabilities", "NodeGetCapabilities", "NodeGetInfo",
                   "NodeGetVolumeStats", "ListVolumes", "GetCapacity", "ControllerGetVolume"})


def rpc(method: Callable[..., Any]) -> Callable[..., Any]:
    name = method.__name__
    level = logging.DEBUG if name in QUIET else logging.INFO

    @functools.wraps(method)
    def handler(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        token = request_id.set(new_request_id())
        started = time.monotonic()
        if log.isEnabledFor(level):
            log.log(level, "%s %s", name, describe(request))
        try:
            response = method(self, request, context)
        except CsiError as err:
            log.warning("%s -> %s: %s", name, err.code.name, err.message)
            context.abort(err.code, err.message)
        except Exception:  # a bug: say so without a traceback on the wire
            log.exception("%s failed", name)
            context.abort(grpc.StatusCode.INTERNAL,
                          f"{name}: internal error in pyketi-csi (see its log, "
                          f"request {request_id.get()})")
        else:
            log.log(level, "%s -> OK (%.1f ms)", name, (time.monotonic() - started) * 1000)
            return response
        finally:
            request_id.reset(token)

    return handler


def unimplemented(what: str) -> CsiError:
    return CsiError(grpc.StatusCode.UNIMPLEMENTED, f"{what} is not supported by pyketi-csi")
