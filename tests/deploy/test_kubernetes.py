"""``deploy/kubernetes/pyketi``: both variants (PostgreSQL, SQLite on a PVC) validate
against Kubernetes' own schemas (kubernetes-validate, strict) for several versions, hang
together (names, keys, ports, mounts), and the probes they declare answer 200 on a
pyketi server started with the ConfigMap's heketi.json and the pod's environment."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

kv = pytest.importorskip("kubernetes_validate")
from kubernetes_validate.utils import (SchemaNotFoundError, ValidationError,  # noqa: E402
                                       all_versions)

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes" / "pyketi"
VARIANTS = ("postgres", "sqlite")
# 1.25: the last release with the in-tree glusterfs provisioner (docs/kubernetes.md);
# and the two newest releases this kubernetes-validate knows
KNOWN = sorted({".".join(v.split(".")[:2]) for v in all_versions()},
               key=lambda v: tuple(map(int, v.split("."))))
VERSIONS = sorted({"1.25", *KNOWN[-2:]} & set(KNOWN), key=lambda v: tuple(map(int, v.split("."))))


def kustomize(directory: Path) -> list[dict]:
    """The objects of a kustomization (plain ``resources:`` of files and directories)."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert set(spec) <= {"apiVersion", "kind", "resources"}, "only plain resources here"
    out: list[dict] = []
    for entry in spec["resources"]:
        path = (directory / entry).resolve()
        if path.is_dir():
            out += kustomize(path)
        else:
            out += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return out


def objects(variant: str) -> dict[tuple[str, str], dict]:
    docs = kustomize(K8S / variant)
    by_key = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert len(by_key) == len(docs), "duplicate object"
    return by_key


def deployment(variant: str) -> dict:
    return objects(variant)[("Deployment", "pyketi")]


def test_versions_cover_at_least_two_releases():
    assert len(VERSIONS) >= 2, KNOWN
    assert "1.25" in VERSIONS


def test_every_manifest_file_is_in_a_variant():
    used: set[Path] = set()
    for variant in VARIANTS:
        stack = [K8S / variant]
        while stack:
            d = stack.pop()
            used.add(d / "kustomization.yaml")
            for entry in yaml.safe_load((d / "kustomization.yaml").read_text())["resources"]:
                p = (d / entry).resolve()
                if p.is_dir():
                    stack.append(p)
                else:
                    used.add(p)
    assert set(K8S.rglob("*.yaml")) == used


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_manifests_validate_strictly(variant, version):
    for (kind, name), doc in objects(variant).items():
        try:
            kv.validate(doc, version, strict=True)
        except SchemaNotFoundError as e:  # the CLI only warns; here it is a failure
            pytest.fail(e.message)
        except ValidationError as e:
            pytest.fail(f"{kind}/{name} on {version}: {'.'.join(map(str, e.path))}: {e.message}")


@pytest.mark.parametrize("version", VERSIONS)
def test_validation_rejects_a_broken_deployment(version):
    """The check has teeth: a misspelt probe field and a non-integer port are refused."""
    for breakage in ("field", "type"):
        doc = json.loads(json.dumps(deployment("postgres")))
        container = doc["spec"]["template"]["spec"]["containers"][0]
        if breakage == "field":
            container["readinessProbe"]["httpGet"]["pth"] = "/readyz"
        else:
            container["ports"][0]["containerPort"] = "eighty"
        with pytest.raises(ValidationError):
            kv.validate(doc, version, strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
@pytest.mark.parametrize("variant", VARIANTS)
def test_kubectl_kustomize_renders_the_same_objects(variant):
    p = subprocess.run(["kubectl", "kustomize", str(K8S / variant)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    rendered = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(p.stdout) if d}
    assert rendered == set(objects(variant))


@pytest.mark.parametrize("variant", VARIANTS)
def test_objects_refer_to_each_other(variant):
    objs = objects(variant)
    dep = objs[("Deployment", "pyketi")]
    pod = dep["spec"]["template"]
    spec = pod["spec"]
    (container,) = spec["containers"]
    # every object in the one namespace the Namespace object creates
    assert {o["metadata"].get("namespace") for (k, _), o in objs.items()
            if k != "Namespace"} == {"pyketi"}
    assert ("Namespace", "pyketi") in objs
    # Service → pod labels and the named container port
    svc = objs[("Service", "pyketi")]
    assert svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert dep["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    port_names = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert svc["spec"]["ports"][0]["targetPort"] in port_names
    # env from the Secret: keys that exist
    secrets = {name: o for (k, name), o in objs.items() if k == "Secret"}
    for env in container["env"]:
        ref = env["valueFrom"]["secretKeyRef"]
        assert ref["key"] in secrets[ref["name"]]["stringData"], ref
    env_names = {e["name"] for e in container["env"]}
    assert {"HEKETI_ADMIN_KEY", "HEKETI_USER_KEY"} <= env_names
    assert ("PYKETI_DATABASE_URL" in env_names) == (variant == "postgres")
    # volumes: ConfigMap, Secret and PVC that exist
    volumes = {v["name"]: v for v in spec["volumes"]}
    for v in volumes.values():
        if "configMap" in v:
            assert ("ConfigMap", v["configMap"]["name"]) in objs
        if "secret" in v:
            assert ("Secret", v["secret"]["secretName"]) in objs
        if "persistentVolumeClaim" in v:
            assert ("PersistentVolumeClaim", v["persistentVolumeClaim"]["claimName"]) in objs
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    # heketi.json: at the path the container is told, ssh files inside the Secret's mount
    args = container["args"]
    config_path = Path(args[args.index("--config") + 1])
    cm_volume = mounts[str(config_path.parent)]
    cm = objs[("ConfigMap", cm_volume["configMap"]["name"])]
    heketi = json.loads(cm["data"][config_path.name])
    ssh = heketi["glusterfs"]["sshexec"]
    for key in ("keyfile", "known_hosts"):
        path = Path(ssh[key])
        secret = objs[("Secret", mounts[str(path.parent)]["secret"]["secretName"])]
        assert path.name in secret["stringData"], key
    # SQLite: the database file on the PVC
    if variant == "sqlite":
        db_dir = str(Path(heketi["glusterfs"]["db"]).parent)
        assert "persistentVolumeClaim" in mounts[db_dir]
        assert dep["spec"]["replicas"] == 1 and dep["spec"]["strategy"]["type"] == "Recreate"


@pytest.mark.parametrize("variant", VARIANTS)
def test_pod_is_locked_down_with_probes_and_resources(variant):
    spec = deployment(variant)["spec"]["template"]["spec"]
    (c,) = spec["containers"]
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["port"] in {p["name"] for p in c["ports"]}
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert spec["automountServiceAccountToken"] is False
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert "memory" in c["resources"]["limits"]
    # SIGTERM grace: longer than pyketi's default shutdown_timeout (60 s)
    assert spec["terminationGracePeriodSeconds"] > 60


def test_secret_is_a_template_without_real_secrets():
    text = (K8S / "base" / "secret.yaml").read_text()
    assert "PRIVATE KEY" not in text
    for (kind, _name), obj in objects("postgres").items():
        if kind == "Secret":
            assert "data" not in obj  # nothing base64-hidden
            assert all("CHANGE-ME" in v for v in obj["stringData"].values())


# -- the probes against a real server configured like the pod ------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def ssh_files(directory: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = directory / "heketi_key"
    key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()))
    key.chmod(0o600)
    known = directory / "known_hosts"
    known.write_text("")
    return key, known


def test_the_pods_probes_answer_on_a_server_configured_like_the_pod(tmp_path, db_url):
    objs = objects("postgres")
    (c,) = objs[("Deployment", "pyketi")]["spec"]["template"]["spec"]["containers"]
    heketi = json.loads(objs[("ConfigMap", "pyketi-config")]["data"]["heketi.json"])
    key, known = ssh_files(tmp_path)  # the Secret's files, where this test can write them
    heketi["glusterfs"]["sshexec"].update(keyfile=str(key), known_hosts=str(known))
    config = tmp_path / "heketi.json"
    config.write_text(json.dumps(heketi))
    secret = objs[("Secret", "pyketi")]["stringData"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEKETI_", "PYKETI_"))}
    for e in c["env"]:
        env[e["name"]] = secret[e["valueFrom"]["secretKeyRef"]["key"]]
    env["PYKETI_DATABASE_URL"] = db_url  # the test's database instead of the template URL
    port = free_port()
    env["HEKETI_HTTP_PORT"] = str(port)
    args = [a if a != "/etc/heketi/heketi.json" else str(config) for a in c["args"]]
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pyketi", *args, "--bind", "127.0.0.1"],
                                cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = get(base + c["startupProbe"]["httpGet"]["path"])[0]
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200, log.read_text()
        for probe in ("livenessProbe", "readinessProbe"):
            path = c[probe]["httpGet"]["path"]
            assert get(base + path)[0] == 200, (path, log.read_text())  # and no token sent
        assert get(base + "/clusters")[0] == 401  # while the API itself needs one
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
