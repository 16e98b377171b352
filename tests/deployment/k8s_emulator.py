"""A Kubernetes API server for tests: kmock's stateful emulator on loopback, run in a thread, with a kubeconfig.

The launcher and dagster-k8s talk to it through the official ``kubernetes`` client exactly as to a cluster (objects
are stored as posted, listed, read, patched and deleted; nothing schedules pods). Tests read objects back as the raw
JSON the server holds, which is what ``kubernetes-validate`` checks.

One fix to kmock 0.8's URL parser: it reads ``/api/v1/namespaces`` and ``/api/v1/namespaces/<name>`` as a namespace
prefix with no resource (and fails on the first), so namespaces themselves, a cluster-scoped resource, could not be
created or read. ``patched_parse_path`` treats those two shapes as the ``namespaces`` resource, as Kubernetes does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kmock
import kubernetes.client
import yaml
from kmock._internal import parsing

RESOURCES = [
    "v1/namespaces",
    "v1/pods",
    "v1/events",
    "batch/v1/jobs",
    "rbac.authorization.k8s.io/v1/rolebindings",
    "networking.k8s.io/v1/networkpolicies",
]
"""Declared up front so listing a resource that has no object yet answers an empty list, not 404."""

_original_parse_path = parsing.parse_path


def patched_parse_path(path: str) -> parsing.ParsedPath:
    parts = path.strip("/").split("/")
    if len(parts) in (3, 4) and parts[0] == "api" and parts[2] == "namespaces":
        return parsing.ParsedPath(
            group="", version=parts[1], plural="namespaces", name=parts[3] if len(parts) == 4 else None
        )
    return _original_parse_path(path)


@dataclass
class Emulator:
    url: str

    def write_kubeconfig(self, path: Path) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": "test-token"}}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "tester"}}],
            "current-context": "emulator",
        }
        path.write_text(yaml.safe_dump(config))
        return path

    def api_client(self) -> kubernetes.client.ApiClient:
        configuration = kubernetes.client.Configuration()
        configuration.host = self.url
        return kubernetes.client.ApiClient(configuration)

    def read(self, path: str) -> dict[str, Any] | None:
        """The raw object at an API path (``/api/v1/namespaces/x``), or None when there is none."""
        client = self.api_client()
        try:
            response = client.call_api(path, "GET", _preload_content=False, auth_settings=[])
        except kubernetes.client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        data: dict[str, Any] = json.loads(response.data)
        return data


@contextlib.contextmanager
def kubernetes_emulator() -> Iterator[Emulator]:
    """Start the emulator on 127.0.0.1 (a free port) in a background thread; stop it on exit."""
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        async with kmock.KubernetesEmulator() as emulator, kmock.Server(emulator) as server:
            for resource in RESOURCES:
                emulator.resources[resource] = {}
            state.update(url=str(server.url).rstrip("/"), stop=stop, loop=asyncio.get_running_loop())
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            asyncio.run(serve())
        except BaseException as exc:  # surfaced by the waiting test instead of a silent thread death
            state["error"] = exc
            ready.set()

    thread = threading.Thread(target=run, name="kmock-emulator", daemon=True)
    thread.start()
    if not ready.wait(30) or "error" in state:
        raise RuntimeError(f"the Kubernetes emulator did not start: {state.get('error')!r}")
    try:
        yield Emulator(state["url"])
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(10)
