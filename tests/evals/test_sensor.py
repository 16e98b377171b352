"""The eval-set configs sensor, driven through Dagster against a local folder and moto's S3 server."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from hawk_dagster.evals.planning import load_submitted_eval_set, plan_for_eval_set
from hawk_dagster.evals.sensor import eval_set_config_sensor
from hawk_dagster.intake.watch import WatchCursor, list_configs
from hawk_dagster.partitions import eval_sets_partitions
from hawk_dagster.storage.carried import CarriedFile, Manifest, upload_bundle
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.storage.submissions import read_submission
from tests.config.test_yaml_source import laughs

GRID = """\
{id_line}name: {name}
tasks:
  - package: inspect-ai
    items: [{{name: some_task}}]
models:
  - items: [{{name: {model}}}]
"""


def grid(eval_set_id: str | None = None, *, name: str = "demo", model: str = "mockllm/model") -> str:
    id_line = f"eval_set_id: {eval_set_id}\n" if eval_set_id else ""
    return GRID.format(id_line=id_line, name=name, model=model)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class Drop:
    """Writes configs into ``<root>/configs/eval-sets``, controlling modification times where the backend allows.

    Locally every write gets a fake mtime one second after the previous one (far in the future, so it beats the
    ctime the sensor also looks at); on S3 the server stamps ``LastModified`` with 1 s precision, and ``newer=True``
    waits for the next second.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.storage = StorageRoot(root)
        self.dir = self.storage.eval_set_configs
        self.clock = math.floor(time.time()) + 1000.0
        self.last = 0.0
        if self.storage.is_local:
            self.dir.mkdir(parents=True, exist_ok=True)

    def put(self, name: str, text: str, *, newer: bool = False, same_second: bool = False) -> float:
        path = self.dir / name
        if self.storage.is_local:
            if not same_second:
                self.clock += 1
            path.write_text(text)
            os.utime(path.path, (self.clock, self.clock))
        else:
            if newer:
                time.sleep(max(0.0, math.floor(self.last) + 1.05 - time.time()))
            path.write_text(text)
        self.last = max(self.last, self.mtime(name))
        return self.mtime(name)

    def put_other(self, name: str, text: str) -> None:
        """A file that is not a config (hidden, not YAML, an error file): only written."""
        (self.dir / name).write_text(text)

    def mtime(self, name: str) -> float:
        return {f.name: f.mtime for f in list_configs(self.dir)}[name]

    def exists(self, name: str) -> bool:
        return (self.dir / name).exists()

    def read(self, name: str) -> str:
        return (self.dir / name).read_text()

    def source(self, name: str) -> str:
        return self.storage.uri_of("configs", "eval-sets", name)


@pytest.fixture
def drop(storage_root: str) -> Drop:
    return Drop(storage_root)


@pytest.fixture
def instance() -> dg.DagsterInstance:
    """In-memory and fast; enough for direct sensor calls (dynamic partitions and run records included)."""
    return dg.DagsterInstance.ephemeral()


@pytest.fixture
def persistent_instance(dagster_instance: dg.DagsterInstance) -> dg.DagsterInstance:
    """A PostgreSQL-backed instance: ``evaluate_tick`` needs an ``instance_ref``, which an ephemeral one lacks."""
    return dagster_instance


def tick(drop: Drop, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    """One direct sensor evaluation, as a test would run it (raw result, no partition resolution)."""
    with dg.build_sensor_context(instance=instance, cursor=cursor) as ctx:
        result = eval_set_config_sensor(drop.root)(ctx)
    assert isinstance(result, dg.SensorResult | dg.SkipReason)
    return result


def added_keys(result: dg.SensorResult) -> list[str]:
    keys: list[str] = []
    for req in result.dynamic_partitions_requests or []:
        assert isinstance(req, dg.AddDynamicPartitionsRequest)
        assert req.partitions_def_name == "eval_sets"
        keys.extend(req.partition_keys)
    return keys


def apply_partitions(instance: dg.DagsterInstance, result: dg.SensorResult) -> None:
    """Do what the daemon does with the add requests before it launches runs."""
    keys = added_keys(result)
    if keys:
        instance.add_dynamic_partitions("eval_sets", keys)


def test_new_file_registers_partition_and_requests_run(drop: Drop, instance: dg.DagsterInstance) -> None:
    text = grid("es-demo")
    mtime = drop.put("grid.yaml", text)
    drop.put_other(".hidden.yaml", "not: [a config")
    drop.put_other("notes.txt", "not a config")
    drop.put_other("old.yaml.error", "left over")

    result = tick(drop, instance, None)

    assert isinstance(result, dg.SensorResult)
    assert added_keys(result) == ["es-demo"]
    assert result.run_requests is not None and len(result.run_requests) == 1
    req = result.run_requests[0]
    assert req.partition_key == "es-demo"
    assert req.run_key == f"es-demo@{sha(text)[:16]}"
    assert req.tags["hawk/config"] == "grid.yaml"
    assert req.tags["hawk/source"] == "sensor"
    assert req.tags["hawk/created_by"]

    snapshot = drop.storage.path("evals", "es-demo", ".config.yaml")
    assert snapshot.read_text() == text
    submission = read_submission(drop.storage, "es-demo")
    assert submission.source == drop.source("grid.yaml")
    assert submission.base_dir == (None if not drop.storage.is_local else str(drop.dir.path))

    cursor = json.loads(result.cursor or "")
    assert cursor["seen"] == {"grid.yaml": sha(text)}
    assert cursor["ts"] >= mtime
    assert not drop.exists("grid.yaml.error")

    again = tick(drop, instance, result.cursor)
    assert isinstance(again, dg.SkipReason)
    assert "no new eval-set configs in" in (again.skip_message or "")


def test_same_bytes_dropped_again_reuse_the_run_key(drop: Drop, instance: dg.DagsterInstance) -> None:
    """Decision: a re-upload (newer mtime) is re-requested with the identical run key, which Dagster skips."""
    text = grid("es-again")
    drop.put("again.yaml", text)
    first = tick(drop, instance, None)
    assert isinstance(first, dg.SensorResult) and first.run_requests
    apply_partitions(instance, first)

    drop.put("again.yaml", text, newer=True)
    second = tick(drop, instance, first.cursor)

    assert isinstance(second, dg.SensorResult)
    assert [r.run_key for r in second.run_requests or []] == [first.run_requests[0].run_key]
    assert added_keys(second) == []


def _wait_for_fresh_second() -> None:
    time.sleep(1.02 - (time.time() % 1.0))


def test_second_file_in_the_same_second_is_picked_up(drop: Drop, instance: dg.DagsterInstance) -> None:
    for attempt in range(3):  # on S3, retry in the unlikely case the two writes straddle a second boundary
        if not drop.storage.is_local:
            _wait_for_fresh_second()
        a, b = f"first-{attempt}.yaml", f"second-{attempt}.yaml"
        t_a = drop.put(a, grid())
        first = tick(drop, instance, None)
        t_b = drop.put(b, grid(), same_second=True)
        if t_a == t_b:
            break
        (drop.dir / a).unlink()
        (drop.dir / b).unlink()
    assert t_a == t_b, "could not write two files within one second"
    assert isinstance(first, dg.SensorResult)
    assert [r.partition_key for r in first.run_requests or []] == [f"first-{attempt}"]
    assert WatchCursor.parse(first.cursor, root=drop.root).ts == t_a

    second = tick(drop, instance, first.cursor)

    assert isinstance(second, dg.SensorResult)
    assert [r.partition_key for r in second.run_requests or []] == [f"second-{attempt}"]
    assert added_keys(second) == [f"second-{attempt}"]
    assert WatchCursor.parse(second.cursor, root=drop.root).seen.keys() >= {a, b}
    assert isinstance(tick(drop, instance, second.cursor), dg.SkipReason)


def test_edited_file_runs_the_same_partition_again(drop: Drop, instance: dg.DagsterInstance) -> None:
    v1 = grid("es-edit")
    drop.put("edit.yaml", v1)
    first = tick(drop, instance, None)
    assert isinstance(first, dg.SensorResult)
    apply_partitions(instance, first)

    v2 = grid("es-edit", model="mockllm/other")
    drop.put("edit.yaml", v2)  # may land in the same second on S3: the content hash still tells
    second = tick(drop, instance, first.cursor)

    assert isinstance(second, dg.SensorResult)
    assert added_keys(second) == []
    assert [(r.partition_key, r.run_key) for r in second.run_requests or []] == [
        ("es-edit", f"es-edit@{sha(v2)[:16]}")
    ]
    assert first.run_requests and first.run_requests[0].run_key != second.run_requests[0].run_key
    assert read_submission(drop.storage, "es-edit").config_text == v2


def test_invalid_file_gets_an_error_file_until_fixed(drop: Drop, instance: dg.DagsterInstance) -> None:
    broken = grid("es-broken").replace("items: [{name: some_task}]", "items: 3")
    drop.put("broken.yaml", broken)
    drop.put("fine.yaml", grid("es-fine"))

    first = tick(drop, instance, None)

    assert isinstance(first, dg.SensorResult)
    # The bad file stops nothing else.
    assert [r.partition_key for r in first.run_requests or []] == ["es-fine"]
    assert added_keys(first) == ["es-fine"]
    error = drop.read("broken.yaml.error")
    assert error.startswith("# hawk rejected broken.yaml at ")
    assert "tasks[0].items" in error  # the field path
    assert "broken.yaml" in error
    assert not drop.storage.path("evals", "es-broken").exists()

    fixed = grid("es-broken")
    drop.put("broken.yaml", fixed)
    second = tick(drop, instance, first.cursor)

    assert isinstance(second, dg.SensorResult)
    assert [(r.partition_key, r.run_key) for r in second.run_requests or []] == [
        ("es-broken", f"es-broken@{sha(fixed)[:16]}")
    ]
    assert added_keys(second) == ["es-broken"]
    assert not drop.exists("broken.yaml.error")


def test_unknown_top_level_keys_are_refused_unless_the_file_confirms_them(
    drop: Drop, instance: dg.DagsterInstance
) -> None:
    """Nobody is there to confirm a dropped file's pass-through keys; an alias bomb's keys were such keys."""
    drop.put("extra.yaml", grid("es-extra") + "max_tasks: 2\nmodles: oops\n")
    first = tick(drop, instance, None)
    assert isinstance(first, dg.SensorResult) and not first.run_requests
    error = drop.read("extra.yaml.error")
    assert "extra.yaml:8:12: max_tasks: a hawk setting (" in error
    assert "extra.yaml:9:9: modles: a hawk setting (" in error and "did you mean 'models'?" in error
    assert "# hawk-pass-through: max_tasks" in error
    assert not drop.storage.path("evals", "es-extra").exists()

    confirmed = "# hawk-pass-through: max_tasks\n" + grid("es-extra") + "max_tasks: 2\n"
    drop.put("extra.yaml", confirmed, newer=True)
    second = tick(drop, instance, first.cursor)
    assert isinstance(second, dg.SensorResult)
    assert [r.partition_key for r in second.run_requests or []] == ["es-extra"]
    assert not drop.exists("extra.yaml.error")


@pytest.mark.timeout(60)
def test_a_hostile_folder_costs_one_tick_and_launches_only_the_good_config(
    tmp_path: Path, instance: dg.DagsterInstance
) -> None:
    """Pipes, links, a directory and an alias bomb beside a good file: one tick, one run, an error file each."""
    drop = Drop(str(tmp_path / "root"))
    folder = Path(drop.dir.path)
    os.mkfifo(folder / "pipe.yaml")
    (folder / "zero.yaml").symlink_to("/dev/zero")
    (folder / "dir.yaml").mkdir()
    drop.put("bomb.yaml", grid("es-bomb") + laughs(9))
    drop.put("good.yaml", grid("es-good"))

    result = tick(drop, instance, None)
    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == ["es-good"]
    for name in ("pipe.yaml", "zero.yaml", "dir.yaml", "bomb.yaml"):
        assert drop.exists(f"{name}.error"), name
    assert isinstance(tick(drop, instance, result.cursor), dg.SkipReason)


def test_only_invalid_files_advance_the_cursor_without_runs(drop: Drop, instance: dg.DagsterInstance) -> None:
    drop.put("bad.yml", "tasks: [unclosed")
    result = tick(drop, instance, None)

    assert isinstance(result, dg.SensorResult)
    assert not result.run_requests and not result.dynamic_partitions_requests
    assert result.skip_reason is not None and "bad.yml" in (result.skip_reason.skip_message or "")
    assert drop.exists("bad.yml.error")
    assert isinstance(tick(drop, instance, result.cursor), dg.SkipReason)


def test_eval_set_id_from_the_file_name(drop: Drop, instance: dg.DagsterInstance) -> None:
    drop.put("Nightly Run_v2.yml", grid())
    drop.put("___.yaml", grid())

    result = tick(drop, instance, None)

    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == ["nightly-run-v2"]
    assert added_keys(result) == ["nightly-run-v2"]
    error = drop.read("___.yaml.error")
    assert "eval_set_id" in error and "'___'" in error


FILE_TASK_GRID = """\
name: local-tasks
tasks:
  - path: my_tasks.py
    items: [{name: my_task}]
models:
  - items: [{name: mockllm/model}]
"""

MY_TASKS = """\
from inspect_ai import Task, task


@task
def my_task():
    return Task()
"""


def test_file_tasks_resolve_in_a_local_configs_folder_only(drop: Drop, instance: dg.DagsterInstance) -> None:
    drop.put_other("my_tasks.py", MY_TASKS)
    drop.put("file-tasks.yaml", FILE_TASK_GRID)

    result = tick(drop, instance, None)

    assert isinstance(result, dg.SensorResult)
    if drop.storage.is_local:
        assert [r.partition_key for r in result.run_requests or []] == ["file-tasks"]
        assert read_submission(drop.storage, "file-tasks").base_dir == str(drop.dir.path)
    else:  # nothing on this machine to resolve `path:` against
        assert not result.run_requests
        assert "tasks[0].path" in drop.read("file-tasks.yaml.error")


def test_one_file_owns_an_eval_set_id(drop: Drop, instance: dg.DagsterInstance) -> None:
    """First claimant wins, within a tick and across ticks, while the owner file exists and still claims the id."""
    drop.put("a-owner.yaml", grid("es-shared"))  # on S3 both may share a second: then the name orders them
    drop.put("b-copy.yaml", grid("es-shared", name="copy"))
    first = tick(drop, instance, None)

    assert isinstance(first, dg.SensorResult)
    assert [(r.partition_key, r.tags["hawk/config"]) for r in first.run_requests or []] == [
        ("es-shared", "a-owner.yaml")
    ]
    error = drop.read("b-copy.yaml.error")
    assert "already belongs to" in error and "a-owner.yaml" in error
    apply_partitions(instance, first)

    drop.put("later.yaml", grid("es-shared", name="later"))
    second = tick(drop, instance, first.cursor)
    assert not (isinstance(second, dg.SensorResult) and second.run_requests)
    assert drop.exists("later.yaml.error")
    assert read_submission(drop.storage, "es-shared").source == drop.source("a-owner.yaml")

    (drop.dir / "a-owner.yaml").unlink()
    drop.put("later.yaml", grid("es-shared", name="later"), newer=True)
    third = tick(drop, instance, second.cursor)
    assert isinstance(third, dg.SensorResult)
    assert [r.tags["hawk/config"] for r in third.run_requests or []] == ["later.yaml"]
    assert not drop.exists("later.yaml.error")


@dg.asset(name="eval_logs", partitions_def=eval_sets_partitions)
def fake_eval_logs() -> None:
    """Stands in for the real asset: the sensor only needs its key and partitions."""


def evaluate(drop: Drop, instance: dg.DagsterInstance, cursor: str | None):  # -> SensorExecutionData
    """Evaluate a tick as the daemon does: run keys and partition keys resolved against the definitions."""
    sensor = eval_set_config_sensor(drop.root)
    defs = dg.Definitions(assets=[fake_eval_logs], sensors=[sensor])
    with dg.build_sensor_context(
        instance=instance, instance_ref=instance.get_ref(), definitions=defs, cursor=cursor
    ) as ctx:
        return sensor.evaluate_tick(ctx)


def test_daemon_style_tick_resolves_partitions_and_skips_used_run_keys(
    drop: Drop, persistent_instance: dg.DagsterInstance
) -> None:
    instance = persistent_instance
    v1 = grid("es-tick")
    drop.put("tick.yaml", v1)

    data = evaluate(drop, instance, None)

    assert [r.partition_key for r in data.run_requests] == ["es-tick"]
    req = data.run_requests[0]
    assert req.tags["dagster/partition"] == "es-tick"
    assert req.asset_selection == [dg.AssetKey("eval_logs")]
    assert [k for r in data.dynamic_partitions_requests for k in r.partition_keys] == ["es-tick"]

    # The daemon adds the partition, then launches the run under the sensor's name and run key.
    instance.add_dynamic_partitions("eval_sets", ["es-tick"])
    dg.materialize(
        [fake_eval_logs],
        partition_key="es-tick",
        instance=instance,
        tags={"dagster/run_key": req.run_key, "dagster/sensor_name": "eval_set_configs"},
    )

    v2 = grid("es-tick", model="mockllm/other")
    drop.put("tick.yaml", v2)
    edited = evaluate(drop, instance, data.cursor)
    assert [(r.partition_key, r.run_key) for r in edited.run_requests] == [
        ("es-tick", f"es-tick@{sha(v2)[:16]}")
    ]
    assert edited.dynamic_partitions_requests == []

    # Reverting to the version that already ran launches nothing and keeps the snapshot of the last submission.
    drop.put("tick.yaml", v1, newer=True)
    reverted = evaluate(drop, instance, edited.cursor)
    assert reverted.run_requests == []
    assert read_submission(drop.storage, "es-tick").config_text == v2


def test_a_cursor_from_another_storage_root_starts_from_the_beginning(
    instance: dg.DagsterInstance, tmp_path: Path
) -> None:
    # A config already waiting in root B, older than everything the sensor later saw in root A (local folders: the
    # test sets both roots' modification times).
    drop = Drop(str(tmp_path / "root"))
    other = Drop(str(tmp_path / "other-root"))
    other.clock = drop.clock - 500
    other.put("waiting.yaml", grid("waiting"))
    drop.put("first.yaml", grid("first"))
    first = tick(drop, instance, None)
    assert isinstance(first, dg.SensorResult) and first.cursor is not None
    assert WatchCursor.parse(first.cursor, root=drop.root).ts > other.mtime("waiting.yaml")

    switched = tick(other, instance, first.cursor)  # the same instance, after HAWK_STORAGE_ROOT changed
    assert isinstance(switched, dg.SensorResult)
    assert [r.partition_key for r in switched.run_requests or []] == ["waiting"]
    # And back: root A's own cursor is not confused by root B's.
    assert isinstance(tick(drop, instance, first.cursor), dg.SkipReason)


def test_cursors_record_their_root_and_older_ones_are_adopted() -> None:
    cursor = WatchCursor(ts=5.0, seen={"a.yaml": "1"}, root="s3://bucket/a")
    assert WatchCursor.parse(cursor.dumps(), root="s3://bucket/a") == cursor
    assert WatchCursor.parse(cursor.dumps(), root="s3://bucket/b") == WatchCursor(root="s3://bucket/b")
    legacy = '{"ts": 5.0, "seen": {"a.yaml": "1"}}'
    assert WatchCursor.parse(legacy, root="/x") == WatchCursor(ts=5.0, seen={"a.yaml": "1"}, root="/x")


def _carried_task_file(storage: StorageRoot, staged: Path) -> str:
    """Upload MY_TASKS as a bundle (as `hawk eval-set` would) and return its id."""
    data = MY_TASKS.encode()
    manifest = Manifest("", (CarriedFile("my_tasks.py", len(data), hashlib.sha256(data).hexdigest()),))
    staged.mkdir()
    (staged / "my_tasks.py").write_bytes(data)
    upload_bundle(storage, staged, manifest)
    return manifest.bundle_id


def test_carried_files_resolve_on_either_backend(
    drop: Drop, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same `path:` config an S3 configs folder refuses by hand runs once its task file is carried."""
    monkeypatch.chdir(tmp_path)  # an object-store root keeps fetched bundles under ./.hawk
    bundle = _carried_task_file(drop.storage, tmp_path / "staged")
    drop.put("carried.yaml", f"carried_files: {bundle}\n{FILE_TASK_GRID}")

    result = tick(drop, instance, None)

    assert isinstance(result, dg.SensorResult)
    assert [r.partition_key for r in result.run_requests or []] == ["carried"]
    assert not drop.exists("carried.yaml.error")
    # What the run reads back resolves the task file in the bundle, fetched to this machine on S3.
    submitted = load_submitted_eval_set(drop.storage, "carried")
    [cell] = plan_for_eval_set(drop.storage, submitted).cells
    task_file = Path(cell.task.ref.rpartition("@")[0])
    assert task_file.read_text() == MY_TASKS and cell.task.ref.endswith("@my_task")
    expected = drop.storage.local_path if drop.storage.is_local else tmp_path / ".hawk" / "carried"
    assert task_file.is_relative_to(expected) and bundle in task_file.parts


def test_a_config_naming_carried_files_that_are_not_there_is_refused(
    drop: Drop, instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    drop.put("lost.yaml", f"carried_files: {'ab' * 16}\n{FILE_TASK_GRID}")
    result = tick(drop, instance, None)
    assert isinstance(result, dg.SensorResult) and not result.run_requests
    error = drop.read("lost.yaml.error")
    assert "carried_files" in error and f"no carried files {'ab' * 16}" in error
