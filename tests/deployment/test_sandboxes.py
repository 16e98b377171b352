"""Sandbox namespaces without a cluster: names, the policy's checks, and which namespaces a sweep removes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from hawk_dagster.deployment.sandboxes import (
    DnsTarget,
    EgressPort,
    EgressRule,
    EvalSetActivity,
    SandboxPolicy,
    StatusReader,
    sandbox_manifests,
    sandbox_namespace,
    sweep_decisions,
)

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
GRACE = dt.timedelta(hours=1)


def test_the_namespace_is_the_prefix_and_the_id_while_it_fits() -> None:
    longest_id = "a" * 43
    assert sandbox_namespace("hawk-sbx-", "grid-1") == "hawk-sbx-grid-1"
    assert sandbox_namespace("hawk-sbx-", longest_id) == "hawk-sbx-" + longest_id  # 52 characters


def test_a_name_too_long_is_cut_and_keeps_ids_apart_by_a_hash() -> None:
    prefix = "a-very-long-sandbox-namespace-prefix-"  # 37 characters
    one = sandbox_namespace(prefix, "x" * 39 + "-one")
    two = sandbox_namespace(prefix, "x" * 39 + "-two")
    assert one != two
    for name in (one, two):
        assert len(name) == 63 and DNS_LABEL.match(name)
        assert name.startswith(prefix + "x")
    assert sandbox_namespace(prefix, "x" * 39 + "-one") == one  # stable


def test_ids_and_prefixes_that_cannot_name_a_namespace_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid eval set id"):
        sandbox_namespace("hawk-sbx-", "Not_An_Id")
    for prefix in ("", "Hawk-", "-hawk", "hawk_sbx", "x" * 41):
        with pytest.raises(ValueError, match="sandbox namespace prefix"):
            SandboxPolicy(prefix=prefix)


def test_egress_rules_are_checked_when_the_launcher_is_configured() -> None:
    assert EgressRule.from_config(
        {"name": "a", "cidrs": ["10.0.0.0/8"], "ports": [{"port": 443}, {"port": 80, "protocol": "UDP"}]}
    ) == EgressRule(("10.0.0.0/8",), (), (EgressPort(443, "TCP"), EgressPort(80, "UDP")), "a")
    assert EgressRule.from_config({"cidrs": ["fd00::/8"], "except": ["fd00:1::/32"]}).except_ == (
        "fd00:1::/32",
    )
    for bad, message in (
        ({"cidrs": ["10.0.0.1/8"]}, "not a CIDR block"),
        ({"cidrs": ["example.com"]}, "not a CIDR block"),
        ({"cidrs": []}, "at least one CIDR block"),
        ({"cidrs": ["10.0.0.0/8"], "except": ["10.0.0.0/7"]}, "inside none of its cidrs"),
        ({"cidrs": ["10.0.0.0/8"], "except": ["fd00::/8"]}, "inside none of its cidrs"),
        ({"cidrs": ["10.0.0.0/8"], "ports": [{"port": 0}]}, "not in 1..65535"),
        ({"cidrs": ["10.0.0.0/8"], "ports": [{"port": 53, "protocol": "ICMP"}]}, "protocol must be one of"),
    ):
        with pytest.raises(ValueError, match=message):
            EgressRule.from_config(bad)


def test_each_cidr_gets_the_excepts_inside_it() -> None:
    rule = EgressRule(
        ("10.0.0.0/8", "192.168.0.0/16", "fd00::/8"), ("10.1.0.0/16", "192.168.1.0/24", "10.2.0.0/16")
    )
    assert rule.ip_blocks() == [
        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}},
        {"ipBlock": {"cidr": "192.168.0.0/16", "except": ["192.168.1.0/24"]}},
        {"ipBlock": {"cidr": "fd00::/8"}},
    ]


def test_without_intra_namespace_traffic_only_runner_pods_dns_and_the_allow_list_remain() -> None:
    policy = SandboxPolicy(
        egress_allow=(EgressRule(("192.0.2.0/24",)),),
        allow_intra_namespace=False,
        dns=DnsTarget(namespace="dns", pod_labels={"app": "coredns"}, port=5353),
    )
    manifests = sandbox_manifests(policy, "grid-1", runs_namespace="runs", runner_service_account="runner")
    assert manifests.network_policy is not None
    spec = manifests.network_policy["spec"]
    assert [rule["from"][0]["podSelector"] for rule in spec["ingress"]] == [
        {"matchLabels": {"hawk/eval-set-id": "grid-1"}}
    ]
    assert spec["egress"][0] == {
        "to": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns"}},
                "podSelector": {"matchLabels": {"app": "coredns"}},
            }
        ],
        "ports": [{"protocol": "UDP", "port": 5353}, {"protocol": "TCP", "port": 5353}],
    }
    assert [rule["to"][0] for rule in spec["egress"]][1:] == [{"ipBlock": {"cidr": "192.0.2.0/24"}}]
    assert "ports" not in spec["egress"][1]  # an entry without ports allows every port


def test_the_status_binding_names_every_status_reader() -> None:
    """The code location (`hawk status`) and the API service list sandbox pods through one binding."""
    policy = SandboxPolicy(status_reader=StatusReader("sandbox-status", ("code-location", "api"), "evals"))
    binding = sandbox_manifests(policy, "g", runs_namespace="runs", runner_service_account="r").status_binding
    assert binding is not None and binding["metadata"]["namespace"] == "hawk-sandbox-g"
    assert binding["roleRef"]["name"] == "sandbox-status"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "code-location", "namespace": "evals"},
        {"kind": "ServiceAccount", "name": "api", "namespace": "evals"},
    ]
    for readers in ((), ("code-location", "")):
        with pytest.raises(ValueError, match="status_reader needs"):
            StatusReader("sandbox-status", readers, "evals")
    no_reader = sandbox_manifests(SandboxPolicy(), "g", runs_namespace="runs", runner_service_account="r")
    assert no_reader.status_binding is None


def test_namespace_labels_annotations_and_pod_security() -> None:
    policy = SandboxPolicy(
        namespace_labels={"team": "evals"}, namespace_annotations={"a": "b"}, pod_security_standard=None
    )
    metadata = sandbox_manifests(policy, "g", runs_namespace="runs", runner_service_account="r").namespace[
        "metadata"
    ]
    assert metadata["labels"] == {
        "team": "evals",
        "app.kubernetes.io/managed-by": "hawk-dagster",
        "hawk/eval-set-id": "g",
        "hawk/runs-namespace": "runs",
    }
    assert metadata["annotations"] == {"a": "b"}
    with pytest.raises(ValueError, match="pod_security_standard must be one of"):
        SandboxPolicy(pod_security_standard="strict")
    assert (
        sandbox_manifests(
            SandboxPolicy(network_policy=False), "g", runs_namespace="runs", runner_service_account="r"
        ).network_policy
        is None
    )


def namespace(
    name: str,
    eval_set_id: str | None,
    *,
    runs: str = "runs",
    managed: bool = True,
    created: str | None = "2026-06-01T09:00:00Z",
    deleting: bool = False,
) -> dict[str, Any]:
    labels = {"hawk/runs-namespace": runs}
    if managed:
        labels["app.kubernetes.io/managed-by"] = "hawk-dagster"
    if eval_set_id is not None:
        labels["hawk/eval-set-id"] = eval_set_id
    metadata: dict[str, Any] = {"name": name, "labels": labels}
    if created is not None:
        metadata["creationTimestamp"] = created
    if deleting:
        metadata["deletionTimestamp"] = "2026-06-01T11:59:00Z"
    return {"metadata": metadata}


def test_a_sweep_removes_only_this_deployments_sandboxes_of_finished_eval_sets_past_their_grace() -> None:
    activity = {
        "running": EvalSetActivity(running=True),
        "recent": EvalSetActivity(running=False, last_finished=NOW - dt.timedelta(minutes=59)),
        "old": EvalSetActivity(running=False, last_finished=NOW - dt.timedelta(minutes=60)),
        "no-runs": EvalSetActivity(running=False),
        "no-runs-new": EvalSetActivity(running=False),
        "no-runs-no-time": EvalSetActivity(running=False),
        "deleting": EvalSetActivity(running=False, last_finished=NOW - dt.timedelta(days=1)),
    }
    listed = [
        namespace("s-running", "running"),
        namespace("s-recent", "recent"),
        namespace("s-old", "old"),
        namespace("s-no-runs", "no-runs"),  # created three hours ago
        namespace("s-no-runs-new", "no-runs-new", created="2026-06-01T11:30:00Z"),
        namespace("s-no-runs-no-time", "no-runs-no-time", created=None),
        namespace("s-deleting", "deleting", deleting=True),
        namespace("s-other-deployment", "old", runs="elsewhere"),
        namespace("s-not-ours", "old", managed=False),
        namespace("s-no-id", None),
    ]
    asked: list[str] = []

    def seen(eval_set_id: str) -> EvalSetActivity:
        asked.append(eval_set_id)
        return activity[eval_set_id]

    decisions = sweep_decisions(listed, runs_namespace="runs", activity=seen, grace=GRACE, now=NOW)
    assert {d.namespace: d.remove for d in decisions} == {
        "s-running": False,
        "s-recent": False,
        "s-old": True,
        "s-no-runs": True,
        "s-no-runs-new": False,
        "s-no-runs-no-time": False,
        "s-deleting": False,
    }
    reasons = {d.namespace: d.reason for d in decisions}
    assert reasons["s-old"] == "its last run ended 3600 s ago"
    assert reasons["s-no-runs"] == "it was created 10800 s ago"
    assert "deleting" not in asked  # a namespace already going is not looked up
