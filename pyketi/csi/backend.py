"""How the driver reaches the pyketi (heketi) server.

``RestConfig`` is the driver's default (flags / environment); a request's
StorageClass ``resturl``/``restuser``/``restuserkey`` and the provisioner
secret's ``key`` override it for that request only.  ``open_client`` makes a
``pyketi.client.Client`` whose waits for asynchronous jobs are logged with
the job's queue path, and which gives up quickly on ``429`` so the sidecar
(not this process) does the backing off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from pyketi.client import Client, PollPolicy, RetryPolicy
from pyketi.client.http import Reply, Transport
from pyketi.csi.params import ClassParameters
from pyketi.csi.reqlog import log

SECRET_KEY = "key"              # the entry of heketi users' kubernetes.io/glusterfs Secret
SECRET_USER = "user"
BUSY_RETRY = RetryPolicy(attempts=2, min_delay=0.2, max_delay=1.0)
POLL = PollPolicy(initial=0.01, maximum=0.25)


@dataclass(frozen=True)
class RestConfig:
    url: str = ""
    user: str = ""
    key: str = field(default="", repr=False)
    timeout: float = 30.0

    def for_request(self, params: ClassParameters | None = None,
                    secrets: Mapping[str, str] | None = None) -> RestConfig:
        cfg = self
        if params is not None:
            other = bool(params.rest_url) and params.rest_url != self.url
            cfg = replace(cfg, url=params.rest_url or cfg.url,
                          user=params.rest_user or cfg.user,
                          # this driver's key is for its own server only
                          key=params.rest_key or ("" if other else cfg.key))
        if secrets:
            cfg = replace(cfg, key=secrets.get(SECRET_KEY, cfg.key),
                          user=secrets.get(SECRET_USER, cfg.user))
        return cfg


    def for_volume(self, server: str, secrets: Mapping[str, str] | None = None) -> RestConfig:
        """The connection for a volume made on ``server`` ('' = this default).
        This driver's own key is sent to its own server only; for another one
        the request's secret must carry the credentials."""
        if server and server != self.url:
            return replace(self, url=server, key="").for_request(None, secrets)
        return self.for_request(None, secrets)


MAX_HANDLE = 128


def volume_handle(volume_id: str, server: str, default_server: str) -> str:
    """The CSI ``volume_id``: the heketi id, plus ``@<server URL>`` when the
    volume lives on a server other than the driver's default (a StorageClass
    ``resturl``), since DeleteVolume and the others carry no parameters."""
    if not server or server == default_server:
        return volume_id
    handle = f"{volume_id}@{server}"
    if len(handle.encode()) > MAX_HANDLE:
        raise ValueError(f"resturl {server!r} is too long to be kept in a volume id "
                         f"(at most {MAX_HANDLE - 33} bytes)")
    return handle


def parse_handle(handle: str) -> tuple[str, str]:
    """(heketi id, server URL or '') of a ``volume_id``."""
    volume_id, _, server = handle.partition("@")
    return volume_id, server


class JobLoggingTransport(Transport):
    """Names the pyketi job (``/queue/<id>``) an RPC waits for."""

    def _wait(self, location: str) -> Reply:
        log.info("waiting for pyketi job %s", location)
        return super()._wait(location)


def open_client(cfg: RestConfig) -> Client:
    client = Client(cfg.url, cfg.user, cfg.key, timeout=cfg.timeout, retry=BUSY_RETRY,
                    poll=POLL)
    client.transport = JobLoggingTransport(cfg.url, cfg.user, cfg.key, timeout=cfg.timeout,
                                           retry=BUSY_RETRY, poll=POLL)
    return client
