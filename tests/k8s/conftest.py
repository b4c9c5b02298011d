"""Fixtures for the Kubernetes provisioner replay: a pyketi server (SQLite or
PostgreSQL, via the root ``db_url``), a topology, and the in-tree plugin
(``provisioner.py``) pointed at the server's real HTTP address."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from k8shelp import ADMIN_SECRET, SECRET_NS, USER_SECRET, K8sEnv, add_cluster
from provisioner import Controller, FakeKube, GlusterfsPlugin


@pytest.fixture
async def k8s(db_url, make_api):
    """``env = await k8s(nodes=3, devices=1, device_size_gib=500, executor=None, **config)``."""
    sessions: list[aiohttp.ClientSession] = []
    envs: list[K8sEnv] = []

    async def factory(nodes: int = 3, devices: int = 1, device_size_gib: int = 500,
                      executor: Any = None, clusters: int = 1, **config: Any) -> K8sEnv:
        from pyketi.executors.doubles.mock import MockExecutor
        mock = MockExecutor(device_size_gib=device_size_gib)
        api = await make_api(db_url, executor=executor(mock) if executor else mock, **config)
        topologies = [await api.topology(nodes=nodes, devices=devices)]
        for c in range(1, clusters):
            topologies.append(await add_cluster(api, first=10 * c + 1, nodes=nodes,
                                                devices=devices))
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        sessions.append(session)
        kube = FakeKube()
        kube.add_secret(SECRET_NS, ADMIN_SECRET, api.rt.config.admin_key)
        kube.add_secret(SECRET_NS, USER_SECRET, api.rt.config.user_key)
        plugin = GlusterfsPlugin(kube, session, poll_interval=0.01, retry_delay_scale=0.005)
        url = str(api.client.make_url("")).rstrip("/")
        env = K8sEnv(api=api, kube=kube, plugin=plugin, ctl=Controller(kube, plugin),
                     topo=topologies[0], topologies=topologies, url=url, mock=mock)
        envs.append(env)
        return env

    yield factory
    for env in envs:       # jobs nobody polled end before the database goes away
        await env.api.rt.runner.jobs.wait_idle()
    for session in sessions:
        await session.close()
