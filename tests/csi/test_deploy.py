"""``deploy/kubernetes/csi``: every object validates strictly against
Kubernetes' schemas (kubernetes-validate) for supported releases, and the
pieces agree with each other and with the driver (names, socket paths,
flags the driver parses, StorageClass parameters it accepts)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

kv = pytest.importorskip("kubernetes_validate")
from kubernetes_validate.utils import (SchemaNotFoundError, ValidationError,  # noqa: E402
                                       all_versions)

from pyketi.csi.identity import DRIVER_NAME  # noqa: E402
from pyketi.csi.main import parse_args  # noqa: E402
from pyketi.csi.params import CSI_PREFIX, parse_parameters  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CSI = ROOT / "deploy" / "kubernetes" / "csi"
KNOWN = sorted({".".join(v.split(".")[:2]) for v in all_versions()},
               key=lambda v: tuple(map(int, v.split("."))))
# 1.26: the first release without the in-tree glusterfs plugin; and the two newest known
VERSIONS = sorted({"1.26", *KNOWN[-2:]} & set(KNOWN), key=lambda v: tuple(map(int, v.split("."))))
PROVISIONER_CONSUMED = ("csi.storage.k8s.io/provisioner-secret-",
                        "csi.storage.k8s.io/controller-expand-secret-",
                        "csi.storage.k8s.io/node-stage-secret-",
                        "csi.storage.k8s.io/node-publish-secret-",
                        "csi.storage.k8s.io/fstype")


def load(directory: Path) -> dict[tuple[str, str], dict]:
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    docs = []
    for entry in spec["resources"]:
        docs += [d for d in yaml.safe_load_all((directory / entry).read_text()) if d]
    by_key = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert len(by_key) == len(docs), "duplicate object"
    return by_key


DRIVER = load(CSI)
EXAMPLE = load(CSI / "example")


def containers(kind: str, name: str) -> dict[str, dict]:
    pod = DRIVER[(kind, name)]["spec"]["template"]["spec"]
    return {c["name"]: c for c in pod["containers"]}


def test_versions_cover_supported_releases():
    assert len(VERSIONS) >= 2 and all(tuple(map(int, v.split("."))) >= (1, 26)
                                      for v in VERSIONS)


def test_every_file_is_used():
    used = {CSI / "kustomization.yaml", CSI / "example" / "kustomization.yaml"}
    for d in (CSI, CSI / "example"):
        used |= {d / e for e in yaml.safe_load((d / "kustomization.yaml").read_text())
                 ["resources"]}
    assert set(CSI.rglob("*.yaml")) == used


@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_validate_strictly(version):
    for (kind, name), doc in {**DRIVER, **EXAMPLE}.items():
        try:
            kv.validate(doc, version, strict=True)
        except SchemaNotFoundError as e:
            pytest.fail(e.message)
        except ValidationError as e:
            pytest.fail(f"{kind}/{name} on {version}: {'.'.join(map(str, e.path))}: "
                        f"{e.message}")


@pytest.mark.parametrize("version", VERSIONS)
def test_validation_has_teeth(version):
    doc = json.loads(json.dumps(DRIVER[("DaemonSet", "pyketi-csi-node")]))
    doc["spec"]["template"]["spec"]["containers"][1]["volumeMounts"][1][
        "mountPropagation"] = 3
    with pytest.raises(ValidationError):
        kv.validate(doc, version, strict=True)
    doc = json.loads(json.dumps(DRIVER[("CSIDriver", DRIVER_NAME)]))
    doc["spec"]["attachRequird"] = False
    with pytest.raises(ValidationError):
        kv.validate(doc, version, strict=True)


def test_csidriver():
    spec = DRIVER[("CSIDriver", DRIVER_NAME)]["spec"]
    assert spec["attachRequired"] is False
    assert spec["volumeLifecycleModes"] == ["Persistent"]
    assert spec["fsGroupPolicy"] in ("None", "File")


def test_controller_sidecars_and_driver_flags():
    c = containers("Deployment", "pyketi-csi-controller")
    assert set(c) == {"csi-provisioner", "csi-resizer", "pyketi-csi"}
    assert "--extra-create-metadata" in c["csi-provisioner"]["args"]
    for sidecar in ("csi-provisioner", "csi-resizer"):
        assert "--csi-address=/csi/csi.sock" in c[sidecar]["args"]
    args = parse_args(c["pyketi-csi"]["args"])
    assert (args.mode, args.endpoint) == ("controller", "unix:///csi/csi.sock")
    env = {e["name"]: e for e in c["pyketi-csi"]["env"]}
    assert env["PYKETI_CSI_REST_URL"]["value"] == "http://pyketi.pyketi.svc:8080"
    ref = env["PYKETI_CSI_REST_KEY"]["valueFrom"]["secretKeyRef"]
    assert ("Secret", ref["name"]) in DRIVER
    assert ref["key"] in DRIVER[("Secret", ref["name"])]["stringData"]
    assert "value" not in env["PYKETI_CSI_REST_KEY"]       # never a key in the manifest


def test_node_plugin_mounts_for_kubelet():
    ds = DRIVER[("DaemonSet", "pyketi-csi-node")]["spec"]["template"]["spec"]
    c = containers("DaemonSet", "pyketi-csi-node")
    driver = c["pyketi-csi"]
    assert driver["securityContext"]["privileged"] is True
    mounts = {m["name"]: m for m in driver["volumeMounts"]}
    kubelet = mounts["kubelet-dir"]
    assert kubelet["mountPath"] == "/var/lib/kubelet"
    assert kubelet["mountPropagation"] == "Bidirectional"
    volumes = {v["name"]: v for v in ds["volumes"]}
    assert volumes["kubelet-dir"]["hostPath"]["path"] == "/var/lib/kubelet"
    socket_dir = volumes["socket-dir"]["hostPath"]["path"]
    assert socket_dir == f"/var/lib/kubelet/plugins/{DRIVER_NAME}"
    reg = c["node-driver-registrar"]["args"]
    assert f"--kubelet-registration-path={socket_dir}/csi.sock" in reg
    assert "--csi-address=/csi/csi.sock" in reg
    assert volumes["registration-dir"]["hostPath"]["path"] == \
        "/var/lib/kubelet/plugins_registry"
    args = parse_args(driver["args"])
    assert (args.mode, args.endpoint, args.node_id) == (
        "node", "unix:///csi/csi.sock", "$(NODE_NAME)")
    assert {e["name"] for e in driver["env"]} == {"NODE_NAME"}


def test_service_accounts_and_rbac():
    for kind, name in (("Deployment", "pyketi-csi-controller"),
                       ("DaemonSet", "pyketi-csi-node")):
        sa = DRIVER[(kind, name)]["spec"]["template"]["spec"]["serviceAccountName"]
        assert ("ServiceAccount", sa) in DRIVER
    rules = DRIVER[("ClusterRole", "pyketi-csi-provisioner")]["rules"]
    can = {(r, v) for rule in rules for r in rule["resources"] for v in rule["verbs"]}
    assert {("persistentvolumes", "create"), ("persistentvolumes", "delete"),
            ("secrets", "get"), ("storageclasses", "get")} <= can
    for binding in [d for (k, _), d in DRIVER.items() if k.endswith("Binding")]:
        assert (binding["roleRef"]["kind"], binding["roleRef"]["name"]) in DRIVER
        for s in binding["subjects"]:
            assert ("ServiceAccount", s["name"]) in DRIVER


def test_example_storageclass_is_accepted_by_the_driver():
    sc = EXAMPLE[("StorageClass", "glusterfs-csi")]
    assert sc["provisioner"] == DRIVER_NAME and sc["allowVolumeExpansion"] is True
    params = sc["parameters"]
    # what the external-provisioner passes on: its own keys stripped
    passed = {k: v for k, v in params.items() if not k.startswith(PROVISIONER_CONSUMED)}
    assert not any(k.startswith(CSI_PREFIX) for k in passed)
    parsed = parse_parameters(passed)
    assert parsed.durability.describe() == "replicate:3"
    secret = (params["csi.storage.k8s.io/provisioner-secret-name"],
              params["csi.storage.k8s.io/provisioner-secret-namespace"])
    doc = EXAMPLE[("Secret", secret[0])]
    assert doc["metadata"]["namespace"] == secret[1] and "key" in doc["stringData"]
    pvc = EXAMPLE[("PersistentVolumeClaim", "shared-data")]
    assert pvc["spec"]["storageClassName"] == "glusterfs-csi"
