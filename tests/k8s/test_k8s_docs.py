"""``docs/kubernetes.md`` and its manifests: they parse, the plugin's own
parameter validation accepts every StorageClass, the page shows each file
verbatim, and the manifests provision, expand and delete volumes on pyketi;
plus the plugin's validation texts themselves."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
import yaml
from k8shelp import check_accounting, check_bound
from provisioner import (
    ANN_GID,
    PLUGIN,
    PVC,
    FakeKube,
    ProvisionError,
    go_float_v,
    parse_class_parameters,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGE = DOCS / "kubernetes.md"
MANIFESTS = sorted((DOCS / "kubernetes").glob("*.yaml"))


def load(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DOCS / "kubernetes" / name).read_text()) if d]


def docs_kube() -> FakeKube:
    kube = FakeKube()
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] in ("Secret", "StorageClass"):
                kube.apply(doc)
    return kube


def test_manifests_parse_and_the_page_shows_each_verbatim():
    page = PAGE.read_text()
    assert MANIFESTS, "no manifests"
    blocks = re.findall(r"```yaml\n(.*?)```", page, re.DOTALL)
    for path in MANIFESTS:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert docs and all({"apiVersion", "kind", "metadata"} <= set(d) for d in docs)
        assert path.read_text() in blocks, f"{path.name} is not shown verbatim"
        assert f"docs/kubernetes/{path.name}" in page


def test_storage_classes_pass_the_plugins_validation():
    kube = docs_kube()
    assert set(kube.storage_classes) == {"glusterfs", "glusterfs-ec"}
    ranges = []
    for cls in kube.storage_classes.values():
        assert cls["provisioner"] == PLUGIN
        cfg = parse_class_parameters(cls["parameters"], kube)      # raises on any problem
        assert cfg.secret_value.startswith("REPLACE-WITH-jwt.")    # read from the Secret
        assert cfg.user in ("user", "admin")
        assert cfg.secret_value.endswith(f"jwt.{cfg.user}.key")    # the matching Secret
        ranges.append((cfg.gid_min, cfg.gid_max))
    # the server's own range, from the page's heketi.json
    config = json.loads(re.search(r"```json\n(.*?)```", PAGE.read_text(), re.DOTALL).group(1))
    gid_range = config["glusterfs"]["gid_range"]
    ranges.append((gid_range["min"], gid_range["max"]))
    ranges.sort()
    for (_, hi), (lo, _) in itertools.pairwise(ranges):
        assert hi < lo, f"gid ranges overlap: {ranges}"      # one range per class + server


def test_the_pages_server_config_loads(tmp_path):
    from pyketi.config import load_config
    text = re.search(r"```json\n(.*?)```", PAGE.read_text(), re.DOTALL).group(1)
    path = tmp_path / "heketi.json"
    path.write_text(text)
    cfg = load_config(str(path), env={})
    assert (cfg.gid_min, cfg.gid_max) == (60000, 69999) and cfg.gid_allocation
    assert cfg.user_key and cfg.admin_key and cfg.port == 8080


def claims_from_docs() -> tuple[PVC, list[PVC]]:
    pvc_doc = next(d for d in load("pvc.yaml") if d["kind"] == "PersistentVolumeClaim")
    shared = PVC(pvc_doc["metadata"]["name"], pvc_doc["spec"]["resources"]["requests"]["storage"],
                 pvc_doc["metadata"]["namespace"], pvc_doc["spec"]["storageClassName"],
                 list(pvc_doc["spec"]["accessModes"]))
    sts = next(d for d in load("statefulset.yaml") if d["kind"] == "StatefulSet")
    claims = []
    for ordinal in range(sts["spec"]["replicas"]):
        for tpl in sts["spec"]["volumeClaimTemplates"]:
            claims.append(PVC(f"{tpl['metadata']['name']}-{sts['metadata']['name']}-{ordinal}",
                              tpl["spec"]["resources"]["requests"]["storage"],
                              sts["metadata"]["namespace"], tpl["spec"]["storageClassName"],
                              list(tpl["spec"]["accessModes"])))
    return shared, claims


async def test_the_pages_manifests_work_against_pyketi(k8s):
    env = await k8s(nodes=6)                             # disperse 4+2 needs 6 nodes
    env.kube = docs_kube()
    env.plugin.kube = env.ctl.kube = env.kube
    keys = {"user": env.api.rt.config.user_key, "admin": env.api.rt.config.admin_key}
    for secret in env.kube.secrets.values():
        secret["data"]["key"] = keys["user" if "jwt.user" in secret["data"]["key"] else "admin"]
    for cls in env.kube.storage_classes.values():
        cls["parameters"]["resturl"] = env.url
        if "clusterid" in cls["parameters"]:
            cls["parameters"]["clusterid"] = env.topo["cluster"]
    user = env.kube.storage_classes["glusterfs"]["parameters"]
    page = PAGE.read_text()

    # the claim and the pod's volume: the request body the page shows
    shared, sts_claims = claims_from_docs()
    await env.ctl.provision(shared)
    await check_bound(env, shared, user, 5, (40000, 40000), "k8s")
    shown = re.search(r'`(\{"size":5,"name":"k8s_shop_shared-data_<uuid>".*?\})`', page).group(1)
    sent = env.plugin.wire[0].sent.decode()
    assert re.sub(r"_[0-9a-f-]{36}\"", '_<uuid>"', sent) == shown
    # expanding 5Gi → 8Gi sends the difference
    assert await env.ctl.expand_claim(shared, "8Gi") == "8Gi"
    expand = [w for w in env.plugin.wire if w.path.endswith("/expand")]
    assert [json.loads(w.sent) for w in expand] == [{"expand_size": 3}]
    await env.ctl.delete_claim(shared)

    # the StatefulSet's claims, in order: gids 40000.. again, one volume each
    names = []
    for pvc in sts_claims:
        await env.ctl.provision(pvc)
        vol = await check_bound(env, pvc, user, 1, (40000, 40002), "k8s")
        names.append(vol["name"])
        assert env.kube.pvs[pvc.volume_name].annotations[ANN_GID] == str(vol["gid"])
    assert [n.split("_")[2] for n in names] == ["www-web-0", "www-web-1", "www-web-2"]
    assert [int(env.kube.pvs[p.volume_name].annotations[ANN_GID]) for p in sts_claims] == \
        [40000, 40001, 40002]

    # the dispersed class with the admin key
    ec = env.kube.storage_classes["glusterfs-ec"]["parameters"]
    archive = PVC("archive", "4Gi", "shop", "glusterfs-ec")
    await env.ctl.provision(archive)
    vol = await check_bound(env, archive, ec, 4, (50000, 59999), ep_prefix="gluster-ec")
    assert len(vol["bricks"]) == 6
    await check_accounting(env)
    for pvc in [*sts_claims, archive]:
        await env.ctl.delete_claim(pvc)
    assert await env.volume_ids() == []
    await check_accounting(env)


# -- parseClassParameters: what a StorageClass with a mistake reports ----------

URL = {"resturl": "http://pyketi:8080"}
BAD = [
    ({"restURL": "x", "foo": "1"},
     'invalid option "foo" for volume plugin kubernetes.io/glusterfs'),
    ({}, "StorageClass for provisioner kubernetes.io/glusterfs must contain 'resturl' parameter"),
    ({**URL, "gidMin": "abc"}, 'invalid gidMin value "gidMin" for volume plugin '
                               "kubernetes.io/glusterfs"),
    ({**URL, "GIDMAX": "-5"}, 'invalid gidMax value "GIDMAX" for volume plugin '
                              "kubernetes.io/glusterfs"),
    ({**URL, "gidMin": "1999"}, "gidMin must be >= 2000"),
    ({**URL, "gidMax": "2147483648"}, 'invalid gidMax value "gidMax" for volume plugin '
                                      "kubernetes.io/glusterfs"),
    ({**URL, "gidMin": "3000", "gidMax": "2500"},
     'StorageClass for provisioner "kubernetes.io/glusterfs" must have gidMax value >= gidMin'),
    ({**URL, "volumetype": "replicate:x"}, 'error parsing volumeType "x": failed to parse '
     'volumestring "x": strconv.Atoi: parsing "x": invalid syntax'),
    ({**URL, "volumetype": "replicate:-1"},
     'error parsing volumeType "-1": negative values are not allowed'),
    ({**URL, "volumetype": "disperse:4"}, 'StorageClass for provisioner "kubernetes.io/glusterfs"'
     " must have data:redundancy count set for disperse volumes in storage class option "
     "'volumetype'"),
    ({**URL, "volumetype": "mirror"},
     "error parsing value for option 'volumetype' for volume plugin kubernetes.io/glusterfs"),
    ({**URL, "secretName": "s"}, 'StorageClass for provisioner "kubernetes.io/glusterfs" must '
     "have secretNamespace and secretName either both set or both empty"),
    ({**URL, "secretName": "nope", "secretNamespace": "ns"},
     'failed to get secret ns/nope: secrets "nope" not found'),
    ({**URL, "secretName": "opaque", "secretNamespace": "ns"},
     "failed to get secret ns/opaque: cannot get secret of type kubernetes.io/glusterfs"),
    ({**URL, "volumenameprefix": "my_vol"},
     "Storageclass parameter 'volumenameprefix' should not contain '_' in its value"),
    ({**URL, "snapfactor": "abc"}, 'failed to convert snapfactor abc to float: '
                                   'strconv.ParseFloat: parsing "abc": invalid syntax'),
    ({**URL, "snapfactor": "0.5"},
     "invalid snapshot factor 0.5, the value must be between 1 to 100"),
    ({**URL, "snapfactor": "1e6"},
     "invalid snapshot factor 1e+06, the value must be between 1 to 100"),
    ({**URL, "customepnameprefix": "x" * 27}, "'customepnameprefix' value should be < 26 "
                                              "characters"),
]


@pytest.mark.parametrize("params,error", BAD, ids=[e[:40] for _, e in BAD])
def test_class_parameter_errors(params, error):
    kube = FakeKube()
    kube.add_secret("ns", "opaque", "k", type_="Opaque")
    with pytest.raises(ProvisionError) as exc:
        parse_class_parameters(params, kube)
    assert str(exc.value) == error


def test_class_parameter_defaults_and_parsing():
    kube = FakeKube()
    kube.add_secret("ns", "s", "the-key")
    cfg = parse_class_parameters({"RESTURL": "http://p:8080", "restuser": "admin",
                                  "restuserkey": "clear"}, kube)
    assert (cfg.gid_min, cfg.gid_max) == (2000, 2**31 - 1)
    assert cfg.volume_type == {"type": "replicate", "replicate": {"replica": 3},
                               "disperse": {"data": 0, "redundancy": 0}}
    assert cfg.secret_value == "clear" and cfg.thin_pool_snap_factor == 1.0
    assert cfg.custom_ep_name_prefix == "glusterfs-dynamic" and cfg.volume_options is None
    cfg = parse_class_parameters({**URL, "secretName": "s", "secretNamespace": "ns",
                                  "restuserkey": "ignored", "restuser": "user",
                                  "volumetype": "none", "clusterid": "a,b",
                                  "volumeoptions": "a 1, b 2", "snapfactor": "1.1"}, kube)
    assert cfg.secret_value == "the-key"                   # the Secret wins over restuserkey
    assert cfg.volume_type["type"] == "none" and cfg.cluster_id == "a,b"
    assert cfg.volume_options == ["a 1", " b 2"]           # split, not trimmed
    assert go_float_v(cfg.thin_pool_snap_factor) == "1.100000023841858"   # a float32
    cfg = parse_class_parameters({**URL, "restauthenabled": "false", "restuser": "admin",
                                  "secretName": "s", "secretNamespace": "ns"}, kube)
    assert (cfg.user, cfg.secret_value) == ("", "")       # auth off: no user, no key
    cfg = parse_class_parameters({**URL, "volumetype": "disperse:8:3:x"}, kube)
    assert cfg.volume_type["disperse"] == {"data": 8, "redundancy": 3}
