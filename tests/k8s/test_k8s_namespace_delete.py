"""Deleting a namespace deletes all its claims at once: the plugin's DELETEs
arrive in parallel - here while another namespace's claims are provisioned -
and each must end with 204, leaving nothing behind.

(On PostgreSQL such deletes deadlocked on the devices rows until the lock order
fix of 972e531: most ended with a queue 500 and their volumes stayed busy.)"""

from __future__ import annotations

import asyncio

from k8shelp import check_accounting, check_bound
from provisioner import PVC, ProvisionError


async def test_parallel_claim_deletes_all_end_with_204(k8s):
    env = await k8s(nodes=3, devices=1, max_inflight_operations=64)
    params = env.user_class("g", gidMin="2000", gidMax="2099")
    team_a = [PVC(f"a{i}", "1Gi", "team-a", "g") for i in range(12)]
    team_b = [PVC(f"b{i}", "1Gi", "team-b", "g") for i in range(8)]
    await asyncio.gather(*(env.ctl.provision(pvc) for pvc in team_a))
    assert len(await env.volume_ids()) == 12
    results = await asyncio.gather(*(env.ctl.delete_claim(pvc) for pvc in team_a),
                                   *(env.ctl.provision(pvc) for pvc in team_b),
                                   return_exceptions=True)
    failed = [str(r) for r in results if isinstance(r, ProvisionError)]
    assert failed == [], f"{len(failed)} claims failed, e.g. {failed[0][:300]}"
    assert not any(isinstance(r, BaseException) for r in results), results
    assert sorted(env.kube.pvs) == sorted(f"pvc-{pvc.uid}" for pvc in team_b)
    assert all(ns == "team-b" for ns, _ in env.kube.services)
    assert all(ns == "team-b" for ns, _ in env.kube.endpoints)
    assert len(await env.volume_ids()) == 8
    for pvc in team_b:
        await check_bound(env, pvc, params, 1, (2000, 2099))
    dump = await check_accounting(env)
    assert len(dump["volumeentries"]) == 8 and len(dump["brickentries"]) == 24
