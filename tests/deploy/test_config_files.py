"""The deployment files hold together: HAProxy's config is valid for HAProxy itself and checks
/readyz with a stickiness cookie; the Kubernetes manifests probe /healthz and /readyz, give a
drain its time, stick browsers to pods and keep /metrics inside the cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from app.config import Settings
from tests.balancer import CONFIG, COOKIE, check_config

KUBERNETES = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"


def manifest(name: str) -> dict[str, Any]:
    return dict(yaml.safe_load((KUBERNETES / name).read_text()))


def test_haproxy_accepts_the_shipped_config():
    checked = check_config()
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_haproxy_sticks_with_a_cookie_and_checks_readiness():
    lines = [line.split("#")[0].split() for line in CONFIG.read_text().splitlines()]
    directives = [words for words in lines if words]
    cookie = next(w for w in directives if w[0] == "cookie")
    assert cookie[:6] == ["cookie", COOKIE, "insert", "indirect", "nocache", "httponly"]
    assert ["http-check", "send", "meth", "GET", "uri", "/readyz"] in directives
    assert ["option", "redispatch"] in directives
    assert any(w[:2] == ["timeout", "tunnel"] for w in directives)  # websockets stay open
    servers = [w for w in directives if w[0] == "server"]
    assert len(servers) >= 2 and all("cookie" in w for w in servers)
    assert len({w[w.index("cookie") + 1] for w in servers}) == len(servers)


def test_the_deployment_probes_health_and_drains_within_its_grace_period():
    spec = manifest("deployment.yaml")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    env = {item["name"]: item for item in container["env"]}
    drain_s = float(env["BICHAT_DRAIN_TIMEOUT_S"]["value"])
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert spec["terminationGracePeriodSeconds"] > float(pre_stop[1]) + drain_s
    assert "secretKeyRef" in env["CHAINLIT_AUTH_SECRET"]["valueFrom"]  # the same on every pod
    for name in env:  # every bichat setting named exists
        if name.startswith("BICHAT_"):
            assert name.removeprefix("BICHAT_").lower() in Settings.model_fields, name


def test_the_ingress_sticks_browsers_to_pods_and_keeps_metrics_inside():
    ingress = manifest("ingress.yaml")
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/session-cookie-name"] == COOKIE
    (rule,) = ingress["spec"]["rules"]
    paths = {p["path"] for p in rule["http"]["paths"]}
    assert {"/chat", "/admin", "/api", "/mcp"} <= paths
    assert not {"/metrics", "/healthz", "/readyz"} & paths and "/" not in {
        p["path"] for p in rule["http"]["paths"] if p["pathType"] == "Prefix"
    }


def test_kustomization_lists_every_manifest_but_the_example_secret():
    listed = set(manifest("kustomization.yaml")["resources"])
    present = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present - {"secret.example.yaml"}
