"""Each eval set's sandbox namespace on Kubernetes: its name, the objects in it, creating, deleting and sweeping them.

Inspect's Kubernetes sandbox (``k8s_sandbox``) installs each sample's sandbox into ``INSPECT_K8S_DEFAULT_NAMESPACE``.
Giving every eval set its own namespace means the runner's service account needs rights there only (a RoleBinding
to a ClusterRole the chart defines), never cluster-wide, and a NetworkPolicy keeps the sandboxes away from the rest
of the cluster. The launcher creates all three before the run's Job exists, so the namespace is ready when Inspect
starts; the daemon side deletes it when the eval set is deleted, or a grace period after its last run ended.

Plain functions over the official ``kubernetes`` client; no Dagster here (the launcher and the cleanup sensor wire
them in).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hawk_dagster.config.ids import validate_eval_set_id

MAX_NAME_LENGTH = 63
"""Namespace names are DNS-1123 labels."""
_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PREFIX_RE = re.compile(r"^[a-z0-9][-a-z0-9]*$")
MAX_PREFIX_LENGTH = 40
_HASH_LENGTH = 8

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "hawk-dagster"
EVAL_SET_LABEL = "hawk/eval-set-id"
"""On the sandbox namespace and on the eval set's run pods (the NetworkPolicy admits those pods only)."""
RUNS_NAMESPACE_LABEL = "hawk/runs-namespace"
"""Which deployment's runs the namespace serves, so two deployments in one cluster never sweep each other's."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by Kubernetes on every namespace (1.21+): how a NetworkPolicy names one namespace."""
POD_SECURITY_LABEL = "pod-security.kubernetes.io/enforce"
POD_SECURITY_PREFIX = "pod-security.kubernetes.io/"
POD_SECURITY_STANDARDS = ("privileged", "baseline", "restricted")
RESERVED_LABELS = (MANAGED_BY_LABEL, EVAL_SET_LABEL, RUNS_NAMESPACE_LABEL, NAMESPACE_NAME_LABEL)
"""Labels the launcher sets and the sweep trusts: configured namespace labels may not name them."""

ROLE_BINDING_NAME = "hawk-runner"
STATUS_BINDING_NAME = "hawk-status"
NETWORK_POLICY_NAME = "hawk-sandbox"
DEFAULT_DNS_NAMESPACE = "kube-system"
DEFAULT_DNS_POD_LABELS = {"k8s-app": "kube-dns"}
"""Cluster DNS as kubeadm, EKS, GKE and AKS label it (CoreDNS included)."""
DEFAULT_DNS_PORT = 53
PROTOCOLS = ("TCP", "UDP", "SCTP")
PROVIDERS = ("kubernetes",)
"""Sandbox policies are networking.k8s.io/v1 NetworkPolicies, which Cilium enforces too; no CiliumNetworkPolicy (so
no DNS-name destinations) in sandboxes."""


class SandboxError(RuntimeError):
    """The sandbox namespace cannot be used for this eval set (someone else's namespace, or one being deleted)."""


def _check_port(where: str, port: object) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"{where}: port {port!r} is not in 1..65535")
    return port


def _check_protocol(where: str, protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise ValueError(f"{where}: protocol must be one of {', '.join(PROTOCOLS)}, not {protocol!r}")
    return protocol


def _network(where: str, cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise ValueError(f"{where}: {cidr!r} is not a CIDR block ({exc})") from None


@dataclass(frozen=True)
class EgressPort:
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class EgressRule:
    """Sandboxes may open connections to ``cidrs`` (but not ``except_``) on ``ports`` (all ports when empty)."""

    cidrs: tuple[str, ...]
    except_: tuple[str, ...] = ()
    ports: tuple[EgressPort, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        where = f"sandbox egress {self.name or ', '.join(self.cidrs) or '(unnamed)'}"
        if not self.cidrs:
            raise ValueError(
                f"{where}: needs at least one CIDR block (an entry without one would allow everything)"
            )
        networks = [_network(where, cidr) for cidr in self.cidrs]
        for excluded in self.except_:
            inner = _network(where, excluded)
            if not any(inner.version == net.version and inner.subnet_of(net) for net in networks):  # type: ignore[arg-type]
                raise ValueError(f"{where}: except {excluded!r} is inside none of its cidrs")
        for port in self.ports:
            _check_port(where, port.port)
            _check_protocol(where, port.protocol)

    @classmethod
    def from_config(cls, value: Mapping[str, Any]) -> EgressRule:
        return cls(
            cidrs=tuple(str(c) for c in value.get("cidrs") or ()),
            except_=tuple(str(c) for c in value.get("except") or ()),
            ports=tuple(
                EgressPort(port=p["port"], protocol=str(p.get("protocol") or "TCP"))
                for p in value.get("ports") or ()
            ),
            name=str(value.get("name") or ""),
        )

    def ip_blocks(self) -> list[dict[str, Any]]:
        """One ipBlock per CIDR, each with the excepts inside it (Kubernetes refuses an except outside its cidr)."""
        blocks = []
        for cidr in self.cidrs:
            net = ipaddress.ip_network(cidr)
            inside = [
                e
                for e in self.except_
                if ipaddress.ip_network(e).version == net.version and ipaddress.ip_network(e).subnet_of(net)  # type: ignore[arg-type]
            ]
            blocks.append({"ipBlock": {"cidr": cidr, **({"except": inside} if inside else {})}})
        return blocks


@dataclass(frozen=True)
class DnsTarget:
    """The cluster DNS sandboxes may query: pods with ``pod_labels`` in ``namespace``, UDP and TCP ``port``."""

    namespace: str = DEFAULT_DNS_NAMESPACE
    pod_labels: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_DNS_POD_LABELS))
    port: int = DEFAULT_DNS_PORT

    def __post_init__(self) -> None:
        if not _LABEL_RE.match(self.namespace):
            raise ValueError(f"sandbox DNS namespace {self.namespace!r} is not a namespace name")
        _check_port("sandbox DNS", self.port)


@dataclass(frozen=True)
class StatusReader:
    """Who may list the sandbox pods and their events (``hawk status`` in the code location, the API service's status
    route): the launcher binds ``cluster_role`` to these service accounts in each sandbox namespace, so the readers
    hold no cluster-wide rights."""

    cluster_role: str
    service_accounts: tuple[str, ...]
    namespace: str

    def __post_init__(self) -> None:
        if not (
            self.cluster_role and self.service_accounts and all(self.service_accounts) and self.namespace
        ):
            raise ValueError("sandbox status_reader needs cluster_role, service_accounts and namespace")


DEFAULT_SANDBOX_PREFIX = "hawk-sandbox-"
"""The chart's default (sandbox.namespacePrefix), so a launcher configured by hand names namespaces alike."""


@dataclass(frozen=True)
class SandboxPolicy:
    """How sandbox namespaces are named and labelled, and what their NetworkPolicy and RoleBinding allow."""

    prefix: str = DEFAULT_SANDBOX_PREFIX
    runner_cluster_role: str = "hawk-sandbox-runner"
    egress_allow: tuple[EgressRule, ...] = ()
    allow_intra_namespace: bool = True
    """Sandbox pods of the eval set may reach each other (multi-service sandboxes: an agent and its target)."""
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    namespace_annotations: Mapping[str, str] = field(default_factory=dict)
    pod_security_standard: str | None = "baseline"
    """``pod-security.kubernetes.io/enforce`` on the namespace; None: no label (the cluster's default applies)."""
    network_policy: bool = True
    """Put the NetworkPolicy in the namespace (False: the operator's CNI policies decide)."""
    dns: DnsTarget = field(default_factory=DnsTarget)
    status_reader: StatusReader | None = None
    """Bound in each sandbox namespace to list its pods and events; None: nobody is (``hawk status`` says so)."""

    def __post_init__(self) -> None:
        if not _PREFIX_RE.match(self.prefix) or len(self.prefix) > MAX_PREFIX_LENGTH:
            raise ValueError(
                f"sandbox namespace prefix {self.prefix!r} must be 1 to {MAX_PREFIX_LENGTH} lowercase letters, "
                "digits and '-', starting with a letter or digit (e.g. 'hawk-sandbox-')"
            )
        if not self.runner_cluster_role:
            raise ValueError("the sandbox runner ClusterRole name must not be empty")
        if (
            self.pod_security_standard is not None
            and self.pod_security_standard not in POD_SECURITY_STANDARDS
        ):
            raise ValueError(
                f"sandbox pod_security_standard must be one of {', '.join(POD_SECURITY_STANDARDS)}, "
                f"not {self.pod_security_standard!r}"
            )
        for key in self.namespace_labels:
            if key in RESERVED_LABELS or key.startswith(POD_SECURITY_PREFIX):
                raise ValueError(
                    f"sandbox namespace label {key!r} is the launcher's own (set pod_security_standard for "
                    "pod-security.kubernetes.io/enforce)"
                )


def sandbox_namespace(prefix: str, eval_set_id: str) -> str:
    """``<prefix><eval set id>``; cut and suffixed with a hash of the id when that exceeds 63 characters, so two
    long ids never share a namespace."""
    validate_eval_set_id(eval_set_id)
    name = prefix + eval_set_id
    if len(name) > MAX_NAME_LENGTH:
        digest = hashlib.sha256(eval_set_id.encode()).hexdigest()[:_HASH_LENGTH]
        name = name[: MAX_NAME_LENGTH - _HASH_LENGTH - 1].rstrip("-") + "-" + digest
    if not _LABEL_RE.match(name):  # a prefix of dashes cut down to nothing; not reachable with a valid prefix
        raise ValueError(f"sandbox namespace name {name!r} is not a DNS label")
    return name


@dataclass(frozen=True)
class SandboxManifests:
    """The objects of one eval set's sandbox, as the API takes them (no NetworkPolicy when the policy has none)."""

    namespace: dict[str, Any]
    role_binding: dict[str, Any]
    network_policy: dict[str, Any] | None
    status_binding: dict[str, Any] | None = None
    """Lets the policy's status reader list pods and events there (None: no reader configured)."""

    @property
    def name(self) -> str:
        return str(self.namespace["metadata"]["name"])


def sandbox_manifests(
    policy: SandboxPolicy, eval_set_id: str, *, runs_namespace: str, runner_service_account: str
) -> SandboxManifests:
    """The namespace, the RoleBinding that lets the run's service account use the ClusterRole there, and the
    NetworkPolicy: ingress only from the eval set's run pods (and, if allowed, from its own sandboxes), egress only
    to cluster DNS, the allow-list (and, if allowed, its own sandboxes)."""
    name = sandbox_namespace(policy.prefix, eval_set_id)
    labels = {MANAGED_BY_LABEL: MANAGED_BY, EVAL_SET_LABEL: eval_set_id, RUNS_NAMESPACE_LABEL: runs_namespace}
    namespace_labels = {**policy.namespace_labels, **labels}
    if policy.pod_security_standard is not None:
        namespace_labels[POD_SECURITY_LABEL] = policy.pod_security_standard
    namespace_metadata: dict[str, Any] = {"name": name, "labels": namespace_labels}
    if policy.namespace_annotations:
        namespace_metadata["annotations"] = dict(policy.namespace_annotations)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": namespace_metadata}
    role_binding = _role_binding(
        ROLE_BINDING_NAME, name, labels, policy.runner_cluster_role, runner_service_account, runs_namespace
    )
    status_binding = None
    if policy.status_reader is not None:
        reader = policy.status_reader
        status_binding = _role_binding(
            STATUS_BINDING_NAME, name, labels, reader.cluster_role, reader.service_accounts, reader.namespace
        )
    runner_pods = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: runs_namespace}},
        "podSelector": {"matchLabels": {EVAL_SET_LABEL: eval_set_id}},
    }
    same_namespace: dict[str, Any] = {"podSelector": {}}
    ingress: list[dict[str, Any]] = [{"from": [runner_pods]}]
    egress: list[dict[str, Any]] = [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: policy.dns.namespace}},
                    "podSelector": {"matchLabels": dict(policy.dns.pod_labels)},
                }
            ],
            "ports": [
                {"protocol": "UDP", "port": policy.dns.port},
                {"protocol": "TCP", "port": policy.dns.port},
            ],
        }
    ]
    if policy.allow_intra_namespace:
        ingress.append({"from": [same_namespace]})
        egress.append({"to": [same_namespace]})
    for rule in policy.egress_allow:
        allowed: dict[str, Any] = {"to": rule.ip_blocks()}
        if rule.ports:
            allowed["ports"] = [{"protocol": port.protocol, "port": port.port} for port in rule.ports]
        egress.append(allowed)
    if not policy.network_policy:
        return SandboxManifests(namespace, role_binding, None, status_binding)
    network_policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": NETWORK_POLICY_NAME, "namespace": name, "labels": dict(labels)},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }
    return SandboxManifests(namespace, role_binding, network_policy, status_binding)


def _role_binding(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    cluster_role: str,
    accounts: str | tuple[str, ...],
    account_namespace: str,
) -> dict[str, Any]:
    """A RoleBinding in the sandbox namespace granting ``cluster_role`` there to service accounts of one namespace."""
    names = (accounts,) if isinstance(accounts, str) else accounts
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
        "subjects": [{"kind": "ServiceAccount", "name": n, "namespace": account_namespace} for n in names],
    }


def _apis(api_client: Any) -> tuple[Any, Any, Any]:
    import kubernetes.client as k8s

    return (
        k8s.CoreV1Api(api_client),
        k8s.RbacAuthorizationV1Api(api_client),
        k8s.NetworkingV1Api(api_client),
    )


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status", None)
    return status if isinstance(status, int) else None


def ensure_sandbox(api_client: Any, manifests: SandboxManifests) -> None:
    """Create the namespace, RoleBinding and NetworkPolicy, or bring existing ones up to date (a rerun of the eval
    set after a settings change). Raises ``SandboxError`` for a namespace of that name that is not this eval set's,
    or one that is being deleted."""
    from kubernetes.client.rest import ApiException

    core, rbac, networking = _apis(api_client)
    name = manifests.name
    try:
        core.create_namespace(manifests.namespace)
    except ApiException as exc:
        if _status(exc) != 409:
            raise
        _check_existing(core.read_namespace(name, _preload_content=False), manifests)
        # Labels and annotations as configured now (a new Pod Security level reaches a rerun's namespace too).
        core.patch_namespace(name, {"metadata": manifests.namespace["metadata"]})
    objects: list[tuple[Callable[..., Any], Callable[..., Any], dict[str, Any]]] = [
        (rbac.create_namespaced_role_binding, rbac.patch_namespaced_role_binding, manifests.role_binding)
    ]
    if manifests.status_binding is not None:
        objects.append(
            (
                rbac.create_namespaced_role_binding,
                rbac.patch_namespaced_role_binding,
                manifests.status_binding,
            )
        )
    if manifests.network_policy is not None:
        objects.append(
            (
                networking.create_namespaced_network_policy,
                networking.patch_namespaced_network_policy,
                manifests.network_policy,
            )
        )
    for create, patch, body in objects:
        try:
            create(name, body)
        except ApiException as exc:
            if _status(exc) != 409:
                raise
            patch(body["metadata"]["name"], name, body)


def _check_existing(response: Any, manifests: SandboxManifests) -> None:
    existing = json.loads(response.data)
    metadata = existing.get("metadata") or {}
    labels = metadata.get("labels") or {}
    wanted = manifests.namespace["metadata"]["labels"]
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY or labels.get(EVAL_SET_LABEL) != wanted[EVAL_SET_LABEL]:
        raise SandboxError(
            f"namespace {manifests.name!r} exists but is not the sandbox namespace of eval set "
            f"{wanted[EVAL_SET_LABEL]!r} (labels {labels}); refusing to grant the runner rights in it"
        )
    if labels.get(RUNS_NAMESPACE_LABEL) != wanted[RUNS_NAMESPACE_LABEL]:
        raise SandboxError(
            f"sandbox namespace {manifests.name!r} belongs to the deployment running in namespace "
            f"{labels.get(RUNS_NAMESPACE_LABEL)!r}, not {wanted[RUNS_NAMESPACE_LABEL]!r}; use another "
            "sandbox.namespace_prefix for this deployment"
        )
    if metadata.get("deletionTimestamp") or (existing.get("status") or {}).get("phase") == "Terminating":
        raise SandboxError(
            f"sandbox namespace {manifests.name!r} is being deleted (its eval set finished or was deleted); "
            "launch the run again once it is gone"
        )


def delete_sandbox(api_client: Any, name: str) -> bool:
    """Delete a sandbox namespace (and with it everything in it); False when there was none."""
    from kubernetes.client.rest import ApiException

    core, _, _ = _apis(api_client)
    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if _status(exc) == 404:
            return False
        raise
    return True


@dataclass(frozen=True)
class EvalSetActivity:
    """What the Dagster instance knows of an eval set's runs."""

    running: bool
    """A run of the eval set is queued, starting, running or being cancelled."""
    last_finished: dt.datetime | None = None
    """When its latest finished run ended (None: no finished run)."""


@dataclass(frozen=True)
class SweepDecision:
    namespace: str
    eval_set_id: str
    remove: bool
    reason: str


@dataclass
class SweepResult:
    deleted: list[str] = field(default_factory=list)
    kept: list[SweepDecision] = field(default_factory=list)


def sweep_decisions(
    namespaces: Iterable[Mapping[str, Any]],
    *,
    runs_namespace: str,
    activity: Callable[[str], EvalSetActivity],
    grace: dt.timedelta,
    now: dt.datetime,
) -> list[SweepDecision]:
    """Which of the listed namespaces to delete: ours (labels checked here, whatever the server filtered), serving
    this deployment, whose eval set has no unfinished run and whose last run ended ``grace`` ago or more. An eval set
    without any run counts from the namespace's creation."""
    decisions = []
    for namespace in namespaces:
        metadata = namespace.get("metadata") or {}
        labels = metadata.get("labels") or {}
        eval_set_id = labels.get(EVAL_SET_LABEL)
        if (
            labels.get(MANAGED_BY_LABEL) != MANAGED_BY
            or labels.get(RUNS_NAMESPACE_LABEL) != runs_namespace
            or not isinstance(eval_set_id, str)
        ):
            continue
        name = str(metadata.get("name"))
        if metadata.get("deletionTimestamp"):
            decisions.append(SweepDecision(name, eval_set_id, False, "already being deleted"))
            continue
        seen = activity(eval_set_id)
        if seen.running:
            decisions.append(
                SweepDecision(name, eval_set_id, False, "a run of the eval set has not finished")
            )
            continue
        since, what = seen.last_finished, "its last run ended"
        if since is None:
            since, what = _created(metadata), "it was created"
        if since is None:
            decisions.append(SweepDecision(name, eval_set_id, False, "no run and no creation time"))
            continue
        age = now - since
        remove = age >= grace
        decisions.append(SweepDecision(name, eval_set_id, remove, f"{what} {_seconds(age)} s ago"))
    return decisions


def _created(metadata: Mapping[str, Any]) -> dt.datetime | None:
    value = metadata.get("creationTimestamp")
    if not isinstance(value, str):
        return None
    try:
        created = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return created if created.tzinfo else created.replace(tzinfo=dt.UTC)


def _seconds(age: dt.timedelta) -> int:
    return int(age.total_seconds())


def sweep_sandboxes(
    api_client: Any,
    *,
    runs_namespace: str,
    activity: Callable[[str], EvalSetActivity],
    grace: dt.timedelta,
    now: dt.datetime,
) -> SweepResult:
    """Delete the sandbox namespaces whose eval set finished ``grace`` ago (see ``sweep_decisions``)."""
    core, _, _ = _apis(api_client)
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY},{RUNS_NAMESPACE_LABEL}={runs_namespace}"
    listed = json.loads(core.list_namespace(label_selector=selector, _preload_content=False).data)
    result = SweepResult()
    for decision in sweep_decisions(
        listed.get("items") or [], runs_namespace=runs_namespace, activity=activity, grace=grace, now=now
    ):
        if decision.remove and delete_sandbox(api_client, decision.namespace):
            result.deleted.append(decision.namespace)
        elif not decision.remove:
            result.kept.append(decision)
    return result
