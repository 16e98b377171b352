"""``hawk web`` and ``hawk view-sample``: the URLs they print in remote mode (``HAWK_API_URL``) and locally (the
warehouse read directly, ``hawk serve``'s default address), each answered by a running server: the viewer URL names a
log Inspect's log API serves and a sample in it; unknown and hidden ids exit 2; a browser is started when there is
one (``BROWSER``), the URL printed when there is none."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest
from click.testing import CliRunner, Result

from hawk_dagster.api.app import create_app
from hawk_dagster.api.links import LOCAL_BASE_URL, viewer_log
from hawk_dagster.cli.main import cli
from hawk_dagster.cli.state import remember_eval_set
from hawk_dagster.storage.root import StorageRoot
from tests.api.conftest import EVAL_SETS, Deployment, MakeSettings, serving, signed_in_server


def hawk(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def server(make_settings: MakeSettings) -> Iterator[str]:
    """The local-mode API (what `hawk serve` runs) on a loopback port."""
    with serving(create_app(make_settings())) as base_url:
        yield base_url


@pytest.fixture
def remote(server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("HAWK_API_URL", server)
    for name in ("HAWK_OIDC_ISSUER", "HAWK_WAREHOUSE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HAWK_STORAGE_ROOT", str(tmp_path / "not-used"))  # nothing local is read
    return server


@pytest.fixture
def local(deployment: Deployment, storage: StorageRoot, monkeypatch: pytest.MonkeyPatch) -> StorageRoot:
    monkeypatch.delenv("HAWK_API_URL", raising=False)
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", deployment.warehouse_url)
    monkeypatch.setenv("HAWK_STORAGE_ROOT", storage.uri)
    return storage


def printed(*args: str) -> str:
    result = hawk(*args, "--print")
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def assert_viewer_shows(server: str, url: str, deployment: Deployment, sample_uuid: str) -> None:
    """The viewer page answers, and its fragment names a log Inspect's API serves holding that sample."""
    parts = urlsplit(url)
    page = httpx.get(f"{server}{parts.path}?{parts.query}", timeout=30)
    assert page.status_code == 200 and "Inspect View" in page.text
    (log_dir,) = parse_qs(parts.query)["log_dir"]
    route = parts.fragment.removeprefix("/logs/")
    file, _, rest = route.partition("/samples/sample/")
    sample_id, epoch, empty = rest.split("/")
    assert empty == ""  # the trailing slash the viewer's routes write
    assert file.startswith(f"{log_dir}/")  # named from the evals folder, as the viewer's log API names logs
    log = httpx.get(f"{server}/api/logs/{unquote(file)}", timeout=30)
    assert log.status_code == 200, log.text
    (sample,) = [
        s for s in log.json()["samples"] if str(s["id"]) == unquote(sample_id) and s["epoch"] == int(epoch)
    ]
    assert sample["uuid"] == sample_uuid and log_dir in deployment.sample_uuids


def test_remote_urls_answer_through_the_server(remote: str, deployment: Deployment) -> None:
    assert printed("web", "es-alpha") == f"{remote}/eval-sets/es-alpha"
    for eval_set_id in EVAL_SETS:
        uuid = deployment.sample_uuids[eval_set_id][1]
        url = printed("view-sample", uuid)
        assert url.startswith(
            f"{remote}/viewer/?inspect_server=true&log_dir={eval_set_id}#/logs/{eval_set_id}/"
        )
        assert "/samples/sample/%2B" in url and url.endswith("/1/")  # ids like "+2" encoded; epoch 1
        assert_viewer_shows(remote, url, deployment, uuid)
    answer = httpx.get(f"{remote}/api/v1/samples/{deployment.sample_uuids['es-beta'][0]}", timeout=30).json()
    eval_set_id, file = answer["log"].split("/")  # no server path: the eval set and the file
    assert eval_set_id == "es-beta" and file.endswith(".eval")


def test_local_urls_are_on_hawk_serves_address_and_answer_there(
    local: StorageRoot, server: str, deployment: Deployment
) -> None:
    assert printed("web", "es-beta") == f"{LOCAL_BASE_URL}/eval-sets/es-beta"
    uuid = deployment.sample_uuids["es-gamma"][0]
    url = printed("view-sample", uuid)
    assert url.startswith(f"{LOCAL_BASE_URL}/viewer/?inspect_server=true&log_dir=es-gamma#/logs/es-gamma/")
    # The same app `hawk serve` runs, on a test port instead of 8080 (which other processes may hold).
    assert_viewer_shows(server, url.replace(LOCAL_BASE_URL, server), deployment, uuid)


def test_remote_and_local_links_agree(
    remote: str, deployment: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    uuid = deployment.sample_uuids["es-alpha"][2]
    through_api = printed("view-sample", uuid)
    monkeypatch.delenv("HAWK_API_URL")
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", deployment.warehouse_url)
    monkeypatch.setenv("HAWK_STORAGE_ROOT", str(deployment.root))
    assert printed("view-sample", uuid).replace(LOCAL_BASE_URL, remote) == through_api


def test_the_default_eval_set_is_the_last_one_run_here(local: StorageRoot) -> None:
    none_yet = hawk("web", "--print")
    assert none_yet.exit_code == 2 and "no EVAL_SET_ID given" in none_yet.output
    remember_eval_set(local.uri, "es-gamma")
    assert printed("web") == f"{LOCAL_BASE_URL}/eval-sets/es-gamma"


@pytest.mark.parametrize("mode", ["remote", "local"])
def test_unknown_ids_exit_2_and_print_no_url(mode: str, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(mode)
    for args, message in (
        (("web", "no-such-set"), "no such eval set" if mode == "remote" else "no eval set 'no-such-set'"),
        (
            ("view-sample", "0123456789abcdefghijkl"),
            "no such sample" if mode == "remote" else "no sample with uuid '0123456789abcdefghijkl'",
        ),
    ):
        result = hawk(*args, "--print")
        assert result.exit_code == 2, result.output
        assert message in result.output and "http" not in result.stdout
    bad = hawk("web", "Not_An_Id", "--print")
    assert bad.exit_code == 2 and "EVAL_SET_ID" in bad.output


def test_ids_another_user_may_not_see_exit_2(
    make_settings: MakeSettings,
    oidc_provider: Any,
    deployment: Deployment,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    with signed_in_server(
        make_settings, oidc_provider, monkeypatch, tmp_path, "web-bob", ["model-access-beta"]
    ) as base_url:
        assert printed("web", "es-beta") == f"{base_url}/eval-sets/es-beta"
        assert printed("view-sample", deployment.sample_uuids["es-beta"][0]).startswith(f"{base_url}/viewer/")
        hidden = hawk("web", "es-alpha", "--print")
        assert hidden.exit_code == 2 and "no such eval set" in hidden.output and "http" not in hidden.stdout
        hidden_sample = hawk("view-sample", deployment.sample_uuids["es-alpha"][0], "--print")
        assert hidden_sample.exit_code == 2 and "no such sample" in hidden_sample.output


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hawk_dagster.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_browser_is_started_when_there_is_one_and_the_url_printed_when_not(
    local: StorageRoot, deployment: Deployment, tmp_path: Path
) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser"
    browser.write_text(f'#!/bin/sh\nprintf "%s\\n" "$1" >> {opened}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    uuid = deployment.sample_uuids["es-alpha"][0]

    with_browser = _run(["view-sample", uuid], {**env, "BROWSER": f"{browser} %s"})
    assert with_browser.returncode == 0, with_browser.stderr
    url = opened.read_text().strip()
    assert url.startswith(f"{LOCAL_BASE_URL}/viewer/?inspect_server=true&log_dir=es-alpha#/logs/es-alpha/")
    assert with_browser.stdout == "" and f"opened {url}" in with_browser.stderr

    broken = _run(["web", "es-alpha"], {**env, "BROWSER": str(tmp_path / "no-such-browser")})
    assert broken.returncode == 0, broken.stderr
    assert broken.stdout.strip() == f"{LOCAL_BASE_URL}/eval-sets/es-alpha"  # could not start it: printed

    printed_only = _run(["web", "es-alpha", "--print"], {**env, "BROWSER": f"{browser} %s"})
    assert printed_only.stdout.strip() == f"{LOCAL_BASE_URL}/eval-sets/es-alpha"
    assert opened.read_text().strip() == url  # --print started no browser


def test_a_log_outside_the_evals_folder_is_named_by_its_file() -> None:
    assert viewer_log("/r/evals", "es-a", "/r/evals/es-a/x.eval") == "es-a/x.eval"
    assert viewer_log("/r/evals", "es-a", "/copy/evals/es-a/x.eval") == "es-a/x.eval"


def test_the_results_page_answers_once_the_pages_are_served(remote: str) -> None:
    """The eval set page is another part's (hawk_dagster.web); once it is in the build, `hawk web`'s URL answers."""
    pytest.importorskip("hawk_dagster.web")
    url = printed("web", "es-alpha")
    page = httpx.get(url, timeout=30)
    assert page.status_code == 200 and "es-alpha" in page.text
