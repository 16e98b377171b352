"""What a submission carries from this machine: which files, laid out how, and what is refused (naming the field)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from upath import UPath

from hawk_dagster.config.local_files import LocalReference, package_location
from hawk_dagster.intake.carry import (
    CarryError,
    CarryLimits,
    gather,
    stage,
    with_top_level_keys,
    write_atomically,
)
from hawk_dagster.intake.watch import is_config_name

LIMITS = CarryLimits()


def task_ref(written: str, index: int = 0) -> LocalReference:
    return LocalReference(("tasks", index, "path"), written, "task file")


def package_ref(written: str, index: int = 0) -> LocalReference:
    return LocalReference(("packages", index), written, "package")


def write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_task_file_is_carried_with_its_folder_without_caches(tmp_path: Path) -> None:
    config_dir = tmp_path / "cfg"
    tasks = config_dir / "tasks"
    write(tasks / "my_tasks.py")
    write(tasks / "helper.py")
    write(tasks / "data" / "samples.json")
    write(tasks / "__pycache__" / "helper.cpython-311.pyc")
    write(tasks / "stray.pyc")
    write(tasks / ".git" / "HEAD")
    write(tasks / ".venv" / "bin" / "python")
    write(tasks / "node_modules" / "x.js")
    os.symlink(tasks / "data" / "samples.json", tasks / "alias.json")  # inside: carried as a copy
    os.symlink(tmp_path / "nowhere", tasks / "dangling")  # points at nothing: nothing to carry

    base, files, anchor = gather(config_dir, [task_ref("tasks/my_tasks.py")], LIMITS)

    assert base == "" and anchor == config_dir
    assert sorted(files) == [
        "tasks/alias.json",
        "tasks/data/samples.json",
        "tasks/helper.py",
        "tasks/my_tasks.py",
    ]
    assert files["tasks/alias.json"] == (tasks / "data" / "samples.json").resolve()


def test_paths_climbing_out_of_the_config_folder_keep_their_layout(tmp_path: Path) -> None:
    config_dir = tmp_path / "repo" / "configs"
    write(config_dir / "tasks" / "t.py")
    write(tmp_path / "repo" / "packages" / "p" / "pyproject.toml")
    write(tmp_path / "repo" / "policy.yaml")
    refs = [
        task_ref("tasks/t.py"),
        package_ref("../packages/p"),
        LocalReference(("approval",), "../policy.yaml", "approval"),
    ]

    base, files, anchor = gather(config_dir, refs, LIMITS)

    # The config's folder sits at `configs/` in the bundle, so `../packages/p` still resolves from there.
    assert base == "configs" and anchor == tmp_path / "repo"
    assert sorted(files) == ["configs/tasks/t.py", "packages/p/pyproject.toml", "policy.yaml"]
    manifest = stage(base, files, tmp_path / "staged")
    assert (tmp_path / "staged" / "packages" / "p" / "pyproject.toml").read_text() == "x"
    assert {f.path for f in manifest.files} == set(files) and manifest.base == "configs"
    assert len(manifest.bundle_id) == 32


def test_the_same_files_give_the_same_bundle_id(tmp_path: Path) -> None:
    config_dir = tmp_path / "cfg"
    write(config_dir / "tasks" / "t.py", "a")
    first = stage(*gather(config_dir, [task_ref("tasks/t.py")], LIMITS)[:2], tmp_path / "one")
    again = stage(*gather(config_dir, [task_ref("tasks/t.py")], LIMITS)[:2], tmp_path / "two")
    write(config_dir / "tasks" / "t.py", "b")
    edited = stage(*gather(config_dir, [task_ref("tasks/t.py")], LIMITS)[:2], tmp_path / "three")
    assert first.bundle_id == again.bundle_id != edited.bundle_id


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        (task_ref("/abs/tasks/t.py"), "tasks[0].path: '/abs/tasks/t.py' is a location on this machine only"),
        (task_ref("~/tasks/t.py"), "tasks[0].path: '~/tasks/t.py' is a location on this machine only"),
        (package_ref("/opt/pkg", 1), "packages[1]: '/opt/pkg' is a location on this machine only"),
        (package_ref("file:///opt/pkg"), "packages[0]: 'file:///opt/pkg' is a location"),
        (package_ref("pkg @ file:///opt/pkg"), "packages[0]: 'pkg @ file:///opt/pkg' is a location"),
        (package_ref("./missing"), "packages[0]: './missing' must name a file or folder"),
    ],
)
def test_what_cannot_be_carried_is_refused_naming_the_field(
    tmp_path: Path, ref: LocalReference, fragment: str
) -> None:
    with pytest.raises(CarryError) as info:
        gather(tmp_path, [ref], LIMITS)
    assert fragment in str(info.value)


def test_an_absolute_path_under_the_config_folder_gets_the_relative_path_to_write(tmp_path: Path) -> None:
    task = write(tmp_path / "tasks" / "t.py")
    with pytest.raises(CarryError, match=r"write 'tasks/t\.py' instead"):
        gather(tmp_path, [task_ref(str(task))], LIMITS)


def test_a_symlink_out_of_the_carried_folder_is_refused(tmp_path: Path) -> None:
    config_dir = tmp_path / "cfg"
    write(config_dir / "tasks" / "t.py")
    secret = write(tmp_path / "elsewhere" / "id_rsa")
    os.symlink(secret, config_dir / "tasks" / "key")
    with pytest.raises(CarryError) as info:
        gather(config_dir, [task_ref("tasks/t.py")], LIMITS)
    assert info.value.field == "tasks[0].path"
    assert "symbolic link" in str(info.value) and str(secret) in str(info.value)


def test_a_symlinked_folder_looping_back_is_walked_once(tmp_path: Path) -> None:
    config_dir = tmp_path / "cfg"
    write(config_dir / "tasks" / "t.py")
    os.symlink(config_dir / "tasks", config_dir / "tasks" / "loop")
    _, files, _ = gather(config_dir, [task_ref("tasks/t.py")], LIMITS)
    assert sorted(files) == ["tasks/t.py"]


def test_a_task_file_in_a_big_folder_is_refused_with_advice(tmp_path: Path) -> None:
    for i in range(6):
        write(tmp_path / f"notes-{i}.txt")
    write(tmp_path / "t.py")
    with pytest.raises(CarryError) as info:
        gather(tmp_path, [task_ref("t.py")], CarryLimits(max_files=5))
    message = str(info.value)
    assert message.startswith("tasks[0].path: 't.py': ") and "past 5" in message
    assert "folder of its own" in message and "HAWK_CARRY_MAX_FILES" in message


def test_too_many_bytes_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "p" / "blob.bin", "x" * 2048)
    with pytest.raises(CarryError, match=r"packages\[0\]: .* past 1 KiB.*HAWK_CARRY_MAX_MB"):
        gather(tmp_path, [package_ref("./p")], CarryLimits(max_bytes=1024))


def test_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAWK_CARRY_MAX_FILES", "7")
    monkeypatch.setenv("HAWK_CARRY_MAX_MB", "0.5")
    assert CarryLimits.from_env() == CarryLimits(max_files=7, max_bytes=512 * 1024)
    monkeypatch.setenv("HAWK_CARRY_MAX_FILES", "many")
    with pytest.raises(CarryError, match="must be numbers"):
        CarryLimits.from_env()


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        (".", "relative"),
        ("..", "relative"),
        ("./pkgs/p", "relative"),
        ("../p", "relative"),
        ("/opt/p", "absolute"),
        ("~/p", "absolute"),
        ("file:///opt/p", "absolute"),
        ("p @ file:///opt/p", "absolute"),
        ("openai>=1.40", "remote"),
        ("git+https://github.com/org/repo@v1", "remote"),
        ("p @ https://example.com/p.whl", "remote"),
    ],
)
def test_package_locations(spec: str, where: str) -> None:
    assert package_location(spec) == where


def test_top_level_keys_go_first_or_after_a_document_marker() -> None:
    keys = {"eval_set_id": "es", "carried_files": "'abc'"}
    assert (
        with_top_level_keys("# note\nname: x\n", keys)
        == "eval_set_id: es\ncarried_files: 'abc'\n# note\nname: x\n"
    )
    assert with_top_level_keys("%YAML 1.1\n---\nname: x\n", keys) == (
        "%YAML 1.1\n---\neval_set_id: es\ncarried_files: 'abc'\nname: x\n"
    )
    assert (
        with_top_level_keys("eval_set_id: mine\nname: x\n", {"eval_set_id": "es"})
        == "eval_set_id: mine\nname: x\n"
    )


def test_a_local_write_is_a_rename_under_a_name_the_sensor_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = UPath(tmp_path / "configs" / "es.yaml")
    renamed: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(src: str, dst: Path) -> None:
        renamed.append((Path(src).name, Path(dst).name))
        assert not is_config_name(Path(src).name)  # the sensor never reads the half-written file
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    write_atomically(target, "name: x\n", local=True)
    assert Path(target.path).read_text() == "name: x\n"
    assert [dst for _, dst in renamed] == ["es.yaml"]
    assert sorted(p.name for p in (tmp_path / "configs").iterdir()) == ["es.yaml"]
