"""``hawk status`` on Kubernetes against kmock's emulator: a deployment (the chart's launcher config, a real Dagster
instance) launches an eval set's run; its run pod and sandbox pods, as the kubelet would have written them (one
restarting, one OOMKilled after a restart, one OOMKilled for good), and their events are posted to the emulator, and
the report's Kubernetes section is compared field by field. Pods and events of other runs and eval sets are there too
and must not show (the emulator ignores selectors, so the reader's own checks are what is tested)."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes.client
import yaml
from click.testing import CliRunner

from hawk_dagster.cli.main import cli
from hawk_dagster.monitoring.pods import kubernetes_state, state_from_instance
from hawk_dagster.monitoring.report import ContainerState, PodEvent, PodState, status_schema
from hawk_dagster.monitoring.status import build_status
from tests.deployment import test_k8s_launcher
from tests.deployment.k8s_emulator import Emulator
from tests.deployment.test_k8s_launcher import RUNS_NAMESPACE, Deployment, launcher_config

k8s = test_k8s_launcher.deployment
"""The launcher tests' ``deployment`` fixture, as ``k8s`` here."""

EVAL_SET = "pods-grid"
SANDBOXES = f"hawk-sbx-{EVAL_SET}"
T0 = "2026-06-01T10:00:00Z"


def at(minute: int) -> datetime:
    return datetime(2026, 6, 1, 10, minute, tzinfo=UTC)


def _pod(name: str, namespace: str, labels: dict[str, str], status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "creationTimestamp": T0},
        "spec": {"nodeName": "node-1", "containers": [{"name": "main", "image": "x"}]},
        "status": status,
    }


def _event(
    name: str,
    namespace: str,
    pod: str,
    reason: str,
    message: str,
    count: int,
    minute: int,
    kind: str = "Pod",
    type_: str = "Normal",
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace},
        "involvedObject": {"kind": kind, "name": pod, "namespace": namespace},
        "type": type_,
        "reason": reason,
        "message": message,
        "count": count,
        "firstTimestamp": f"2026-06-01T10:{minute - 1 if count > 1 else minute:02d}:00Z",
        "lastTimestamp": f"2026-06-01T10:{minute:02d}:00Z",
    }


def _post(emulator: Emulator, obj: dict[str, Any]) -> None:
    core = kubernetes.client.CoreV1Api(emulator.api_client())
    namespace = obj["metadata"]["namespace"]
    if obj["kind"] == "Pod":
        core.create_namespaced_pod(namespace, obj, _preload_content=False)
    else:
        core.create_namespaced_event(namespace, obj, _preload_content=False)


def _cluster_state(k8s: Deployment, run_id: str, other_run_id: str) -> None:
    """What the kubelet and the scheduler would have written for the eval set, and for another one."""
    run_pod = f"dagster-run-{run_id}-x7k2p"
    objects = [
        _pod(
            run_pod,
            RUNS_NAMESPACE,
            {"dagster/run-id": run_id, "hawk/eval-set-id": EVAL_SET, "job-name": f"dagster-run-{run_id}"},
            {
                "phase": "Running",
                "containerStatuses": [
                    {
                        "name": "dagster",
                        "ready": False,
                        "restartCount": 3,
                        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                        "lastState": {"terminated": {"reason": "Error", "exitCode": 1}},
                    }
                ],
            },
        ),
        _pod(  # another eval set's run: not ours
            f"dagster-run-{other_run_id}-aaaaa",
            RUNS_NAMESPACE,
            {"dagster/run-id": other_run_id, "hawk/eval-set-id": "another"},
            {"phase": "Running"},
        ),
        _pod(  # a sandbox that was OOMKilled once and restarted
            "sandbox-default-0",
            SANDBOXES,
            {"app": "sandbox"},
            {
                "phase": "Running",
                "initContainerStatuses": [
                    {
                        "name": "setup",
                        "ready": True,
                        "restartCount": 0,
                        "state": {"terminated": {"reason": "Completed", "exitCode": 0}},
                    }
                ],
                "containerStatuses": [
                    {
                        "name": "default",
                        "ready": True,
                        "restartCount": 1,
                        "state": {"running": {"startedAt": "2026-06-01T10:05:00Z"}},
                        "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                    }
                ],
            },
        ),
        _pod(  # a sandbox OOMKilled for good
            "sandbox-victim-0",
            SANDBOXES,
            {"app": "sandbox"},
            {
                "phase": "Failed",
                "containerStatuses": [
                    {
                        "name": "victim",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                    }
                ],
            },
        ),
        _pod("elsewhere", "hawk-sbx-another", {}, {"phase": "Running"}),
        _event("e1", RUNS_NAMESPACE, run_pod, "Pulled", "Container image pulled", 1, 2),
        _event(
            "e2",
            RUNS_NAMESPACE,
            run_pod,
            "BackOff",
            "Back-off restarting failed container",
            5,
            9,
            type_="Warning",
        ),
        _event("e3", RUNS_NAMESPACE, f"dagster-run-{other_run_id}-aaaaa", "Started", "other", 1, 3),
        _event(
            "e4",
            RUNS_NAMESPACE,
            f"dagster-run-{run_id}",
            "SuccessfulCreate",
            "the Job's, not the pod's",
            1,
            1,
            kind="Job",
        ),
        _event("e5", SANDBOXES, "sandbox-default-0", "Started", "Started container default", 2, 5),
        _event(
            "e6", SANDBOXES, "sandbox-victim-0", "Killing", "Stopping container victim", 1, 7, type_="Warning"
        ),
    ]
    objects += [  # eleven events on one pod: the oldest drops out
        _event(f"s{i}", SANDBOXES, "sandbox-default-0", "Pulled", f"pull {i}", 1, 10 + i) for i in range(11)
    ]
    for obj in objects:
        _post(k8s.emulator, obj)


def test_the_report_shows_run_and_sandbox_pods_field_by_field(
    k8s: Deployment, dagster_storage: dict[str, Any]
) -> None:
    run = k8s.launch(k8s.submit_eval_set(EVAL_SET))
    other = k8s.launch(k8s.submit_eval_set("another"))
    _cluster_state(k8s, run.run_id, other.run_id)

    report = build_status(k8s.storage, EVAL_SET, instance=k8s.instance, engine=None, kubernetes=True)
    state = report.kubernetes
    assert state is not None
    assert (state.runs_namespace, state.sandbox_namespace, state.detail) == (RUNS_NAMESPACE, SANDBOXES, None)
    assert (state.run_pods_error, state.sandbox_pods_error) == (None, None)
    assert state.run_pods == [
        PodState(
            name=f"dagster-run-{run.run_id}-x7k2p",
            namespace=RUNS_NAMESPACE,
            run_id=run.run_id,
            phase="Running",
            created_at=at(0),
            node="node-1",
            restarts=3,
            oom_killed=False,
            reason="CrashLoopBackOff",
            containers=[
                ContainerState(
                    name="dagster",
                    init=False,
                    state="waiting",
                    ready=False,
                    restarts=3,
                    reason="CrashLoopBackOff",
                    exit_code=None,
                    last_terminated_reason="Error",
                    last_exit_code=1,
                ),
            ],
            events=[
                PodEvent(
                    type="Normal",
                    reason="Pulled",
                    message="Container image pulled",
                    count=1,
                    first_seen=at(2),
                    last_seen=at(2),
                ),
                PodEvent(
                    type="Warning",
                    reason="BackOff",
                    message="Back-off restarting failed container",
                    count=5,
                    first_seen=at(8),
                    last_seen=at(9),
                ),
            ],
        )
    ]
    restarted, victim = state.sandbox_pods
    assert restarted == PodState(
        name="sandbox-default-0",
        namespace=SANDBOXES,
        run_id=None,
        phase="Running",
        created_at=at(0),
        node="node-1",
        restarts=1,
        oom_killed=True,  # the run its restart replaced
        reason=None,  # running now; its completed init container is no reason
        containers=[
            ContainerState(
                name="setup",
                init=True,
                state="terminated",
                ready=True,
                restarts=0,
                reason="Completed",
                exit_code=0,
                last_terminated_reason=None,
                last_exit_code=None,
            ),
            ContainerState(
                name="default",
                init=False,
                state="running",
                ready=True,
                restarts=1,
                reason=None,
                exit_code=None,
                last_terminated_reason="OOMKilled",
                last_exit_code=137,
            ),
        ],
        events=[
            PodEvent(
                type="Normal",
                reason="Pulled",
                message=f"pull {i}",
                count=1,
                first_seen=at(10 + i),
                last_seen=at(10 + i),
            )
            for i in range(1, 11)
        ],  # ten, newest last: e5 at 10:05 and pull 0 at 10:10 are older
    )
    assert victim == PodState(
        name="sandbox-victim-0",
        namespace=SANDBOXES,
        phase="Failed",
        created_at=at(0),
        node="node-1",
        restarts=0,
        oom_killed=True,
        reason="OOMKilled",
        containers=[
            ContainerState(
                name="victim",
                init=False,
                state="terminated",
                ready=False,
                restarts=0,
                reason="OOMKilled",
                exit_code=137,
                last_terminated_reason=None,
                last_exit_code=None,
            ),
        ],
        events=[
            PodEvent(
                type="Warning",
                reason="Killing",
                message="Stopping container victim",
                count=1,
                first_seen=at(7),
                last_seen=at(7),
            ),
        ],
    )
    # The same through `hawk status` on the k8s: an instance from DAGSTER_HOME, HAWK_DEPLOYMENT=kubernetes.
    assert _hawk_status(k8s, dagster_storage)["kubernetes"] == json.loads(state.model_dump_json())


def _hawk_status(k8s: Deployment, dagster_storage: dict[str, Any]) -> dict[str, Any]:
    home = Path(k8s.storage.uri).parent / "dagster_home"
    home.mkdir()
    instance = {
        "storage": dagster_storage,
        "run_launcher": {
            "module": "hawk_dagster.deployment.k8s_launcher",
            "class": "HawkK8sRunLauncher",
            "config": launcher_config(Path(k8s.launcher.kubeconfig_file)),
        },
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance))
    result = CliRunner().invoke(
        cli,
        ["status", EVAL_SET],
        env={
            "DAGSTER_HOME": str(home),
            "HAWK_DEPLOYMENT": "kubernetes",
            "HAWK_STORAGE_ROOT": k8s.storage.uri,
        },
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    jsonschema.validate(report, status_schema())  # what `hawk schema status` publishes
    return report


def test_an_unreachable_api_is_each_sections_error_not_a_crash() -> None:
    nobody = Emulator("http://127.0.0.1:9").api_client()
    state = kubernetes_state(
        nobody,
        run_namespaces={"r1": RUNS_NAMESPACE},
        sandbox_namespace=SANDBOXES,
        runs_namespace=RUNS_NAMESPACE,
    )
    assert state.run_pods == [] and state.sandbox_pods == []
    assert state.run_pods_error is not None and state.run_pods_error.startswith(
        f"cannot list run pods in namespace {RUNS_NAMESPACE}: MaxRetryError: "
    )
    assert state.sandbox_pods_error is not None and state.sandbox_pods_error.startswith(
        f"cannot list sandbox pods in namespace {SANDBOXES}: MaxRetryError: "
    )
    assert "127.0.0.1" in state.sandbox_pods_error


def test_without_the_kubernetes_launcher_the_section_says_why() -> None:
    import dagster as dg

    assert state_from_instance(None, EVAL_SET, []).detail == (
        "no Dagster instance here (set DAGSTER_HOME to the deployment's)"
    )
    with dg.instance_for_test() as instance:
        state = state_from_instance(instance, EVAL_SET, [])
    assert state.detail is not None and "not HawkK8sRunLauncher" in state.detail
    assert (state.run_pods, state.sandbox_pods, state.sandbox_namespace) == ([], [], None)


def test_forbidden_lists_name_the_missing_right() -> None:
    """A service account without the chart's status rights: the API server's 403 Status, named in each section."""
    with _forbidding_api_server() as url:
        state = kubernetes_state(
            Emulator(url).api_client(), run_namespaces={"r1": RUNS_NAMESPACE}, sandbox_namespace=SANDBOXES
        )
    for section, namespace in ((state.run_pods_error, RUNS_NAMESPACE), (state.sandbox_pods_error, SANDBOXES)):
        assert section == (
            f"cannot list {'run' if namespace == RUNS_NAMESPACE else 'sandbox'} pods in namespace {namespace}: "
            f'HTTP 403: pods is forbidden: User "system:serviceaccount:evals:someone" cannot list resource "pods" '
            f'in API group "" in the namespace "{namespace}" (the reader\'s service account lacks the right: see '
            "the chart's RBAC)"
        )


@contextlib.contextmanager
def _forbidding_api_server() -> Iterator[str]:
    """Answers every request as an API server answers a service account without the right (RBAC's 403 Status)."""

    class Forbidden(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            namespace = self.path.split("/namespaces/", 1)[1].split("/", 1)[0]
            body = json.dumps(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "status": "Failure",
                    "message": 'pods is forbidden: User "system:serviceaccount:evals:someone" cannot list resource '
                    f'"pods" in API group "" in the namespace "{namespace}"',
                    "reason": "Forbidden",
                    "code": 403,
                }
            ).encode()
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forbidden)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join(10)
