"""What the controller knows of the server's volumes: key -> volume.

Filled by one full listing per server the first time it is needed, then
kept current by the controller's own creates and deletes; a create refused
because the name is taken triggers a fresh listing.  It also tells which
gids are in use (the in-tree plugin kept a gid table per StorageClass; here
a gid is free when no volume on the server has it) and which names have an
operation in flight in this process (a retry arriving while the first call
still runs is answered ABORTED, never served twice).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from pyketi.client import Client, PyketiError
from pyketi.csi.claims import Claims
from pyketi.csi.errors import Code, CsiError
from pyketi.csi.names import key_of


class VolumeIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self._loaded: set[str] = set()
        self._by_key: dict[str, dict[str, dict]] = {}       # url -> key -> volume info
        self._claims = Claims()
        self._reserved_gids: set[int] = set()

    def load(self, url: str, client: Client, force: bool = False) -> None:
        if url in self._loaded and not force:
            return
        with self._loading:                  # concurrent first calls list only once
            if url in self._loaded and not force:
                return
            self._load(url, client)

    def _load(self, url: str, client: Client) -> None:
        found: dict[str, dict] = {}
        for volume_id in client.volume_list()["volumes"]:
            try:
                info = client.volume_info(volume_id)
            except PyketiError as err:
                if err.status == 404:       # deleted meanwhile
                    continue
                raise
            found[key_of(info["name"])] = dict(info)
        with self._lock:
            # merged, not replaced: a volume put by a create that finished meanwhile
            # stays (one deleted behind our back is dropped when a lookup gets 404)
            self._by_key.setdefault(url, {}).update(found)
            self._loaded.add(url)

    def find(self, url: str, key: str) -> dict | None:
        with self._lock:
            return self._by_key.get(url, {}).get(key)

    def put(self, url: str, info: dict) -> None:
        with self._lock:
            self._by_key.setdefault(url, {})[key_of(info["name"])] = dict(info)

    def drop(self, url: str, volume_id: str) -> None:
        with self._lock:
            volumes = self._by_key.get(url, {})
            for key in [k for k, v in volumes.items() if v.get("id") == volume_id]:
                del volumes[key]

    def claim(self, url: str, name: str) -> AbstractContextManager[None]:
        """One operation at a time per (server, volume name or id)."""
        return self._claims.claim((url, name), f"volume {name!r}")

    @contextmanager
    def gid(self, url: str, low: int, high: int) -> Iterator[int]:
        """The lowest gid in ``[low, high]`` no known volume uses, reserved
        while the block runs."""
        with self._lock:
            used = {int(v.get("gid") or 0) for v in self._by_key.get(url, {}).values()}
            used |= self._reserved_gids
            gid = low
            while gid in used and gid <= high:
                gid += 1
            if gid > high:
                raise CsiError(Code.RESOURCE_EXHAUSTED,
                               f"failed to reserve GID from table: range {low}-{high} "
                               "is full")
            self._reserved_gids.add(gid)
        try:
            yield gid
        finally:
            with self._lock:
                self._reserved_gids.discard(gid)
