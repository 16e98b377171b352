"""The container image (deploy/docker/Dockerfile), built here without a Docker daemon and run as the chart runs it.

buildah builds it as root with vfs storage and chroot isolation. No base image can be pulled, so a minimal Debian
bookworm with bookworm's python3.11 is made with debootstrap from the machine's Debian mirror and stands in for the
slim Python base (``BASE_IMAGE``); the uv binary of this project's lock stands in for astral's uv image
(``UV_IMAGE``); ``INSTALL_HELM=false`` skips the one download that is not from a package registry. The host's uv cache
is bind-mounted into the build so packages already downloaded are not fetched again.

Then the image runs the chart's commands: the code location's gRPC server of ``hawk_dagster.definitions`` answers
``dagster api grpc-health-check`` on a PostgreSQL-backed instance mounted read-only at DAGSTER_HOME (like the chart's
ConfigMap), the migrate hook's two steps migrate real databases, the runner runs an eval, and a per-eval-set
environment is made with uv, all as the image's non-root user.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import psycopg
import pytest
import yaml
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
VALUES = yaml.safe_load((ROOT / "deploy" / "helm" / "hawk" / "values.yaml").read_text())
SUITE = "bookworm"
IMAGE = "localhost/hawk-dagster:test"
# What the build host's CA bundle is called, bind-mounted into the build so downloads trust what the host trusts.
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("image"),
    # debootstrap, the build and the first container take several minutes on 2 busy cores.
    pytest.mark.timeout(1800),
]


def _missing() -> str | None:
    if os.geteuid() != 0:
        return "needs root (buildah's vfs storage and chroot isolation, debootstrap)"
    tools = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if tools:
        return f"{' and '.join(tools)} not installed (apt-get install buildah debootstrap; .ci/run does)"
    return None


if (reason := _missing()) is not None:
    pytest.skip(reason, allow_module_level=True)


def debian_mirror() -> str:
    """The Debian archive apt uses here (deb822 ``.sources`` or one-line ``sources.list``), not the security one."""
    files = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in files:
        for stanza in path.read_text().split("\n\n"):
            fields = dict(
                line.split(":", 1) for line in stanza.splitlines() if ":" in line and not line.startswith("#")
            )
            suites = fields.get("Suites", "").split()
            if fields.get("Types", "deb").split()[0] == "deb" and SUITE in suites:
                return fields["URIs"].split()[0].strip()
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        if path.is_file():
            for line in path.read_text().splitlines():
                parts = line.split()
                if (
                    len(parts) >= 3
                    and parts[0] == "deb"
                    and parts[2] == SUITE
                    and not parts[1].startswith("[")
                ):
                    return parts[1]
    raise AssertionError(f"no apt source for Debian {SUITE} in /etc/apt: debootstrap needs a mirror")


class Buildah:
    """buildah on a storage of its own (vfs), so the test neither sees nor leaves images in the machine's."""

    def __init__(self, root: Path) -> None:
        self.args = ["buildah", "--root", str(root / "storage"), "--runroot", str(root / "run")]
        self.args += ["--storage-driver", "vfs"]

    def __call__(self, *args: str, log: Path | None = None, timeout: float = 900) -> str:
        if log is None:
            proc = subprocess.run([*self.args, *args], capture_output=True, text=True, timeout=timeout)
            output = proc.stdout + proc.stderr
        else:
            with log.open("w") as out:
                proc = subprocess.run(
                    [*self.args, *args], stdout=out, stderr=subprocess.STDOUT, text=True, timeout=timeout
                )
            output = log.read_text()
        assert proc.returncode == 0, (
            f"buildah {' '.join(args[:2])} failed ({proc.returncode}):\n{output[-6000:]}"
        )
        return proc.stdout if log is None else output


@pytest.fixture(scope="session")
def buildah(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Buildah]:
    root = tmp_path_factory.mktemp("buildah")
    tool = Buildah(root)
    yield tool
    # Several GB of vfs layers (no mounts: vfs layers are plain folders, chroot runs mount in their own namespace);
    # rm is several times faster than shutil.rmtree on hundreds of thousands of files.
    subprocess.run(["rm", "-rf", str(root)], check=False, timeout=900)


@pytest.fixture(scope="session")
def debian_base(buildah: Buildah, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A minimal Debian bookworm with python3.11, made once a session: the stand-in for python:3.11-slim-bookworm."""
    rootfs = tmp_path_factory.mktemp("debootstrap") / SUITE
    mirror = debian_mirror()
    proc = subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            "--include=python3.11,ca-certificates",
            SUITE,
            str(rootfs),
            mirror,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"debootstrap failed:\n{(proc.stdout + proc.stderr)[-4000:]}"
    for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (rootfs / leftovers).glob("*"):
            if path.is_file():
                path.unlink()
    container = buildah("from", "scratch").strip()
    buildah("copy", "--quiet", container, str(rootfs), "/")
    buildah("config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", container)
    buildah("commit", "--quiet", "--rm", container, f"localhost/hawk-test-base:{SUITE}")
    shutil.rmtree(rootfs)
    return f"localhost/hawk-test-base:{SUITE}"


@pytest.fixture(scope="session")
def uv_image(buildah: Buildah) -> str:
    """An image holding only /uv, this project's locked uv (the uv package installs it): the stand-in for UV_IMAGE."""
    from uv import find_uv_bin

    container = buildah("from", "scratch").strip()
    buildah("copy", "--quiet", container, find_uv_bin(), "/uv")
    buildah("commit", "--quiet", "--rm", container, "localhost/hawk-test-uv:lock")
    return "localhost/hawk-test-uv:lock"


def uv_cache_dir() -> str:
    from uv import find_uv_bin

    return subprocess.run(
        [find_uv_bin(), "cache", "dir"], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="session")
def image(buildah: Buildah, debian_base: str, uv_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The image, built from the repository with the Dockerfile; its build time is printed (pytest -s shows it)."""
    cache = Path(uv_cache_dir())
    cache.mkdir(parents=True, exist_ok=True)
    volumes = ["--volume", f"{cache}:/root/.cache/uv"]
    if HOST_CA_BUNDLE.is_file():
        volumes += ["--volume", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"]
    log = tmp_path_factory.mktemp("build") / "build.log"
    started = time.monotonic()
    buildah(
        "build",
        "--isolation",
        "chroot",
        "--file",
        str(DOCKERFILE),
        "--build-arg",
        f"BASE_IMAGE={debian_base}",
        "--build-arg",
        f"UV_IMAGE={uv_image}",
        "--build-arg",
        "INSTALL_HELM=false",
        *volumes,
        "--tag",
        IMAGE,
        str(ROOT),
        log=log,
        timeout=1500,
    )
    print(f"\nimage built in {time.monotonic() - started:.0f} s")
    return IMAGE


@pytest.fixture(scope="session")
def image_config(buildah: Buildah, image: str) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(buildah("inspect", "--type", "image", image))["OCIv1"]["config"]
    return config


@pytest.fixture(scope="session")
def container(buildah: Buildah, image: str) -> str:
    """One working container of the image for every check (each copy of a 1 GB image costs vfs a minute)."""
    return buildah("from", "--quiet", "--name", f"hawk-image-test-{uuid.uuid4().hex[:8]}", image).strip()


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def run(buildah: Buildah, container: str) -> Run:
    """Run a shell script in the container as the image's own user (``buildah run`` uses the image's USER)."""

    def run_in_image(
        script: str, *, volumes: tuple[str, ...] = (), env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        args = [*buildah.args, "run", "--isolation", "chroot"]
        for volume in volumes:
            args += ["--volume", volume]
        for name, value in (env or {}).items():
            args += ["--env", f"{name}={value}"]
        return subprocess.run(
            [*args, container, "--", "sh", "-c", script], capture_output=True, text=True, timeout=timeout
        )

    return run_in_image


def test_image_runs_as_the_charts_non_root_user_in_its_paths(image_config: dict[str, Any], run: Run) -> None:
    """The image's user, HOME/working directory and DAGSTER_HOME are the chart's (values.yaml), and no ENTRYPOINT
    stands before the commands the chart and dagster-k8s give (run pods get only args)."""
    uid = VALUES["podSecurityContext"]["runAsUser"]
    assert image_config["User"] == f"{uid}:{VALUES['podSecurityContext']['runAsGroup']}"
    assert not image_config.get("Entrypoint")
    assert image_config["WorkingDir"] == VALUES["workDir"]
    env = dict(item.split("=", 1) for item in image_config["Env"])
    assert env["DAGSTER_HOME"] == VALUES["global"]["dagsterHome"]
    assert env["HOME"] == VALUES["workDir"]
    assert env["PATH"].startswith("/opt/hawk/venv/bin:")

    proc = run(
        'id -u; id -g; pwd; test -w "$HOME" && echo home-writable; test -w /opt/hawk/venv || echo code-read-only'
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [str(uid), str(uid), VALUES["workDir"], "home-writable", "code-read-only"]


def test_image_has_the_charts_commands_and_no_helm_when_turned_off(run: Run) -> None:
    proc = run(
        "for c in dagster dagster-webserver dagster-daemon hawk uv python; do command -v $c || exit 1; done; "
        "hawk --help >/dev/null && dagster-webserver --help >/dev/null && dagster-daemon --help >/dev/null; "
        "command -v helm || echo no-helm"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.split()[-1] == "no-helm"  # INSTALL_HELM=false
    # Code is byte-compiled at build time: under a read-only root nothing could write it later.
    proc = run(
        "python -c 'import hawk_dagster.definitions as d, sys; print(d.__cached__)' && "
        "ls /opt/hawk/venv/lib/python3.11/site-packages/hawk_dagster/__pycache__ | head -1"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1].endswith(".pyc")


def test_uv_builds_a_per_eval_set_environment_with_the_images_runner(run: Run) -> None:
    """execution/environments.py installs "the very runner this process runs": in the image that is a wheel kept
    at a path that exists at run time. uv makes the venv from the image's Python, in HOME, without downloading one."""
    from uv import find_uv_bin

    host_uv = subprocess.run([find_uv_bin(), "--version"], capture_output=True, text=True, check=True).stdout
    proc = run(
        "uv --version; "
        "req=$(python -c 'from hawk_dagster.execution.environments import runner_requirement as r; print(r([\"scan\"]))'); "
        'echo "$req"; '
        "uv venv --quiet --python 3.11 envs/smoke && "
        'uv pip install --quiet --offline --no-deps --python envs/smoke/bin/python "$req" && '
        "envs/smoke/bin/python -c 'import hawk_runner, importlib.metadata as m; print(m.version(\"hawk-runner\"))'"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == host_uv.strip()  # the image's uv is the locked one
    assert lines[1].startswith("hawk-runner[scan] @ file:///opt/hawk/wheels/hawk_runner-")
    assert lines[-1] == "0.1.0"


def test_runner_runs_an_eval(run: Run, tmp_path: Path) -> None:
    """``python -m hawk_runner PLAN.json``: the runner process a run pod starts, on a tiny offline task."""
    from hawk_runner.plan import GridCell, ModelSpec, RunPlan, TaskSource

    shutil.copy(ROOT / "configs" / "examples" / "tasks" / "arithmetic.py", tmp_path / "arithmetic.py")
    log_dir = f"{VALUES['workDir']}/logs/image-smoke"
    plan = RunPlan(
        eval_set_id="image-smoke",
        log_dir=log_dir,
        cells=[
            GridCell(
                name="addition-careful",
                task=TaskSource(kind="file", ref="/plans/arithmetic.py@addition", args={"n": 2}),
                task_label="addition",
                model=ModelSpec(name="hawk-mock/careful"),
                model_label="careful",
            )
        ],
    )
    (tmp_path / "plan.json").write_text(plan.model_dump_json())
    tmp_path.chmod(0o755)
    proc = run(f"python -m hawk_runner /plans/plan.json && ls {log_dir}", volumes=(f"{tmp_path}:/plans:ro",))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "hawk-runner 0.1.0 on /opt/hawk/venv/bin/python" in proc.stdout
    assert "check all_cells_succeeded: passed" in proc.stdout
    assert any(line.endswith(".eval") for line in proc.stdout.splitlines())


# Where the embedded server's socket appears in the container. Its own folder (the server's data directory) is closed
# to other users, so only the socket file is bind-mounted, into a folder the image's user may enter.
SOCKET_DIR = "/pg-socket"


def _socket_mount(url: str) -> tuple[str, int]:
    """A ``--volume`` for the embedded server's socket (``<dir>/.s.PGSQL.<port>``) and its port."""
    directory = Path(str(make_url(url).query["host"]))
    sockets = sorted(directory.glob(".s.PGSQL.*"))
    assert sockets, f"no PostgreSQL socket in {directory}"
    return f"{sockets[0]}:{SOCKET_DIR}/{sockets[0].name}", int(sockets[0].name.rsplit(".", 1)[1])


def _in_container(url: str, port: int) -> str:
    """The same database's URL as the container reaches it."""
    return make_url(url).set(port=port, query={"host": SOCKET_DIR}).render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Instance(NamedTuple):
    """A DAGSTER_HOME with the chart's storage shape (dagster-postgres, the password from DAGSTER_PG_PASSWORD) on a
    fresh database, a fresh warehouse database, and what the container needs to reach and read them."""

    dagster_url: str
    warehouse_url: str
    volumes: tuple[str, ...]
    env: dict[str, str]


@pytest.fixture
def instance(make_database: Callable[..., str], tmp_path: Path) -> Instance:
    dagster_url = make_database(migrated=False)
    warehouse_url = make_database(migrated=False)
    socket_volume, port = _socket_mount(dagster_url)
    postgres = VALUES["postgresql"]
    postgres_db = {
        "username": make_url(dagster_url).username,
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": "localhost",  # overridden by params.host: libpq takes the socket folder from there
        "db_name": make_url(dagster_url).database,
        "port": port,
        "scheme": postgres["postgresqlScheme"],
        "params": {"host": SOCKET_DIR},
    }
    home = tmp_path / "dagster_home"
    home.mkdir()
    config = {"storage": {"postgres": {"postgres_db": postgres_db}}, "telemetry": {"enabled": False}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    tmp_path.chmod(0o755)
    return Instance(
        dagster_url=dagster_url,
        warehouse_url=warehouse_url,
        # Read-only at DAGSTER_HOME, like the chart's ConfigMap.
        volumes=(f"{home}:{VALUES['global']['dagsterHome']}:ro", socket_volume),
        env={
            "DAGSTER_PG_PASSWORD": "unused-by-trust-auth",
            "HAWK_WAREHOUSE_URL": _in_container(warehouse_url, port),
        },
    )


def test_migrate_hook_steps_migrate_real_databases(run: Run, instance: Instance) -> None:
    """The hook Job's commands: the warehouse's Alembic migrations, then Dagster's own, on PostgreSQL."""
    from hawk_dagster.warehouse.schema.migrate import HEAD_REVISION

    proc = run(
        "python -m hawk_dagster.warehouse.schema.migrate && dagster instance migrate",
        volumes=instance.volumes,
        env=instance.env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"-> {HEAD_REVISION}" in proc.stdout
    for url, table in ((instance.warehouse_url, "alembic_version"), (instance.dagster_url, "runs")):
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo) as conn:
            assert conn.execute("SELECT to_regclass(%s)::text", (table,)).fetchone() == (table,)


def test_code_location_serves_the_definitions(run: Run, instance: Instance) -> None:
    """The chart's code location command (values' dagsterApiGrpcArgs) serves hawk_dagster.definitions: the gRPC
    health check the chart's probes use answers, on the PostgreSQL instance, with HAWK_DEPLOYMENT=kubernetes."""
    migrated = run("dagster instance migrate", volumes=instance.volumes, env=instance.env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    grpc_args = " ".join(VALUES["dagster-user-deployments"]["deployments"][0]["dagsterApiGrpcArgs"])
    port = _free_port()
    # The server runs as a background job of sh, where SIGTERM is ignored (Dagster maps it to SIGINT's handler):
    # stop it with SIGKILL. In a pod it is PID 1 and SIGTERM stops it.
    proc = run(
        f"dagster api grpc {grpc_args} --host=127.0.0.1 --port={port} & server=$!; "
        f"for i in $(seq 180); do dagster api grpc-health-check --port={port} >/dev/null 2>&1 && break; sleep 1; done; "
        f"dagster api grpc-health-check --port={port}; status=$?; kill -9 $server; exit $status",
        volumes=instance.volumes,
        env={
            **instance.env,
            "HAWK_DEPLOYMENT": "kubernetes",
            "HAWK_STORAGE_ROOT": f"{VALUES['workDir']}/storage",
        },
        timeout=400,
    )
    output = proc.stdout + proc.stderr  # buildah's chroot runs may send both streams to stdout
    assert proc.returncode == 0, output[-6000:]
    assert "Started Dagster code server for module hawk_dagster.definitions" in output
    assert "gRPC connection successful" in output
