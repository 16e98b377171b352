"""``hawk status`` on Kubernetes: the eval set's run pods and sandbox pods, as the cluster sees them now.

Run pods are dagster-k8s's Job pods, labelled ``dagster/run-id`` (one Job per run, in the run's namespace); sandbox
pods are whatever Inspect's sandboxes made in the eval set's own namespace (``deployment.sandboxes``). For each pod:
its phase, its containers' restarts and states, whether one was OOMKilled (now, or in the run a restart replaced),
and its most recent events. Each section is read on its own: a namespace that cannot be listed (no rights, the API
unreachable) gives that section an error and the report still prints.

Selectors go to the API server, and every listed object is checked again here: what the server returns decides
nothing (a test emulator, for one, ignores selectors). Plain functions over the official client, raw JSON objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from hawk_dagster.monitoring.report import ContainerState, KubernetesState, PodEvent, PodState

if TYPE_CHECKING:
    import dagster as dg
    from dagster._core.storage.dagster_run import DagsterRun

RUN_ID_LABEL = "dagster/run-id"
"""dagster-k8s labels each run's Job and pod with it."""
RECENT_RUNS = 20
"""Run pods are looked for among the newest runs only (older ones' Jobs are long gone: dagster-k8s keeps a finished
Job a day by default)."""
EVENTS_PER_POD = 10
REQUEST_TIMEOUT_SECONDS = 10
OOM_KILLED = "OOMKilled"


def kubernetes_state(
    api_client: Any,
    *,
    run_namespaces: Mapping[str, str],
    sandbox_namespace: str | None,
    runs_namespace: str | None = None,
) -> KubernetesState:
    """The pods of the runs ``run_namespaces`` names (run id -> the namespace its Job runs in) and of the sandbox
    namespace."""
    from kubernetes.client import CoreV1Api

    core = CoreV1Api(api_client)
    run_pods: list[PodState] = []
    run_error: str | None = None
    by_namespace: dict[str, list[str]] = {}
    for run_id, namespace in run_namespaces.items():
        by_namespace.setdefault(namespace, []).append(run_id)
    for namespace, run_ids in sorted(by_namespace.items()):
        try:
            run_pods.extend(_run_pods(core, namespace, run_ids))
        except Exception as ex:
            run_error = _describe(f"run pods in namespace {namespace}", ex)
            break
    sandbox_pods: list[PodState] = []
    sandbox_error: str | None = None
    if sandbox_namespace is not None:
        try:
            sandbox_pods = _sandbox_pods(core, sandbox_namespace)
        except Exception as ex:
            sandbox_error = _describe(f"sandbox pods in namespace {sandbox_namespace}", ex)
    return KubernetesState(
        runs_namespace=runs_namespace,
        run_pods=run_pods,
        run_pods_error=run_error,
        sandbox_namespace=sandbox_namespace,
        sandbox_pods=sandbox_pods,
        sandbox_pods_error=sandbox_error,
    )


def state_from_instance(
    instance: dg.DagsterInstance | None, eval_set_id: str, runs: Sequence[DagsterRun]
) -> KubernetesState:
    """Through the instance's launcher (``HawkK8sRunLauncher``): its cluster connection (in-cluster or kubeconfig,
    as dagster-k8s loaded it), each run's namespace and the sandbox namespace's name."""
    from hawk_dagster.deployment.k8s_launcher import HawkK8sRunLauncher
    from hawk_dagster.deployment.sandboxes import sandbox_namespace

    if instance is None:
        return _unavailable("no Dagster instance here (set DAGSTER_HOME to the deployment's)")
    try:
        launcher = instance.run_launcher
    except Exception as ex:
        return _unavailable(f"the instance's run launcher could not be loaded: {_first_line(ex)}")
    if not isinstance(launcher, HawkK8sRunLauncher):
        return _unavailable(
            f"the instance's run launcher is {type(launcher).__name__}, not HawkK8sRunLauncher: no pods to show"
        )
    run_namespaces: dict[str, str] = {}
    for run in runs[:RECENT_RUNS]:
        try:
            run_namespaces[run.run_id] = str(launcher.get_container_context_for_run(run).namespace)
        except Exception:
            run_namespaces[run.run_id] = launcher.job_namespace
    sandbox = (
        sandbox_namespace(launcher.sandbox_policy.prefix, eval_set_id) if launcher.sandbox.enabled else None
    )
    return kubernetes_state(
        launcher.sandbox_api_client,
        run_namespaces=run_namespaces,
        sandbox_namespace=sandbox,
        runs_namespace=launcher.job_namespace,
    )


def _unavailable(detail: str) -> KubernetesState:
    return KubernetesState(run_pods=[], sandbox_namespace=None, sandbox_pods=[], detail=detail)


def _run_pods(core: Any, namespace: str, run_ids: list[str]) -> list[PodState]:
    wanted = set(run_ids)
    selector = f"{RUN_ID_LABEL} in ({','.join(sorted(wanted))})"
    pods = [
        pod
        for pod in _items(core.list_namespaced_pod(namespace, label_selector=selector, **_raw()))
        if _labels(pod).get(RUN_ID_LABEL) in wanted and _namespace(pod) in (namespace, None)
    ]
    states = []
    for pod in pods:
        name = _name(pod)
        selector = f"involvedObject.kind=Pod,involvedObject.name={name}"
        events = _items(core.list_namespaced_event(namespace, field_selector=selector, **_raw()))
        states.append(_pod_state(pod, namespace, _events_of(events, name), run_id=_labels(pod)[RUN_ID_LABEL]))
    return sorted(
        states, key=lambda p: (p.created_at or datetime.min.replace(tzinfo=UTC), p.name), reverse=True
    )


def _sandbox_pods(core: Any, namespace: str) -> list[PodState]:
    pods = [
        p for p in _items(core.list_namespaced_pod(namespace, **_raw())) if _namespace(p) in (namespace, None)
    ]
    events = _items(core.list_namespaced_event(namespace, field_selector="involvedObject.kind=Pod", **_raw()))
    return sorted(
        (_pod_state(pod, namespace, _events_of(events, _name(pod))) for pod in pods), key=lambda p: p.name
    )


def _raw() -> dict[str, Any]:
    return {"_preload_content": False, "_request_timeout": REQUEST_TIMEOUT_SECONDS}


def _items(response: Any) -> list[dict[str, Any]]:
    items = json.loads(response.data).get("items") or []
    return [item for item in items if isinstance(item, dict)]


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    labels = _metadata(obj).get("labels")
    return labels if isinstance(labels, Mapping) else {}


def _name(obj: Mapping[str, Any]) -> str:
    return str(_metadata(obj).get("name") or "")


def _namespace(obj: Mapping[str, Any]) -> str | None:
    namespace = _metadata(obj).get("namespace")
    return str(namespace) if namespace else None


def _pod_state(
    pod: Mapping[str, Any], namespace: str, events: list[PodEvent], *, run_id: str | None = None
) -> PodState:
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    containers = [_container(entry, init=True) for entry in status.get("initContainerStatuses") or []] + [
        _container(entry, init=False) for entry in status.get("containerStatuses") or []
    ]
    oom = any(OOM_KILLED in (c.reason, c.last_terminated_reason) for c in containers)
    stuck = next(
        (c.reason for c in containers if c.reason and c.state != "running" and c.reason != "Completed"), None
    )
    return PodState(
        name=_name(pod),
        namespace=_namespace(pod) or namespace,
        run_id=run_id,
        phase=status.get("phase"),
        created_at=_time(_metadata(pod).get("creationTimestamp")),
        node=spec.get("nodeName"),
        restarts=sum(c.restarts for c in containers),
        oom_killed=oom,
        reason=status.get("reason") or stuck,
        containers=containers,
        events=events,
    )


def _container(entry: Mapping[str, Any], *, init: bool) -> ContainerState:
    current = entry.get("state") or {}
    last = (entry.get("lastState") or {}).get("terminated") or {}
    state: Literal["waiting", "running", "terminated", "unknown"] = "unknown"
    detail: Mapping[str, Any] = {}
    for key in ("terminated", "waiting", "running"):  # at most one is set
        if current.get(key) is not None:
            state, detail = key, current[key] or {}
            break
    return ContainerState(
        name=str(entry.get("name") or ""),
        init=init,
        state=state,
        ready=bool(entry.get("ready")),
        restarts=int(entry.get("restartCount") or 0),
        reason=detail.get("reason"),
        exit_code=detail.get("exitCode"),
        last_terminated_reason=last.get("reason"),
        last_exit_code=last.get("exitCode"),
    )


def _events_of(events: Iterable[Mapping[str, Any]], pod: str) -> list[PodEvent]:
    mine = [
        event
        for event in events
        if (event.get("involvedObject") or {}).get("kind") == "Pod"
        and (event.get("involvedObject") or {}).get("name") == pod
    ]
    parsed = [
        PodEvent(
            type=event.get("type"),
            reason=event.get("reason"),
            message=event.get("message"),
            count=int(event.get("count") or 1),
            first_seen=_time(event.get("firstTimestamp") or event.get("eventTime")),
            last_seen=_time(
                event.get("lastTimestamp")
                or event.get("eventTime")
                or _metadata(event).get("creationTimestamp")
            ),
        )
        for event in mine
    ]
    parsed.sort(key=lambda e: e.last_seen or datetime.min.replace(tzinfo=UTC))
    return parsed[-EVENTS_PER_POD:]


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _describe(what: str, ex: BaseException) -> str:
    status = getattr(ex, "status", None)
    if isinstance(status, int) and status:
        said = _api_message(getattr(ex, "body", None)) or str(getattr(ex, "reason", "") or "")
        hint = (
            " (the reader's service account lacks the right: see the chart's RBAC)" if status == 403 else ""
        )
        return f"cannot list {what}: HTTP {status}: {said}{hint}"
    return f"cannot list {what}: {_first_line(ex)}"


def _api_message(body: object) -> str | None:
    """The ``message`` of the API server's ``Status`` body (it names the user and the missing verb)."""
    try:
        message = json.loads(body).get("message") if isinstance(body, str | bytes) else None
    except (ValueError, AttributeError):
        return None
    return str(message) if message else None


def _first_line(ex: BaseException) -> str:
    text = str(ex).strip().splitlines()
    return f"{type(ex).__name__}: {text[0]}" if text else type(ex).__name__
