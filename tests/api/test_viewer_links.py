from __future__ import annotations

from hawk_dagster.api.viewer_links import eval_set_viewer_url, log_path, sample_viewer_url


def test_log_path_is_relative_to_the_evals_folder() -> None:
    assert log_path("/data/evals", "/data/evals/es-1/2026_task.eval") == "es-1/2026_task.eval"
    assert log_path("/data/evals/", "file:///data/evals/es-1/a.eval") == "es-1/a.eval"
    assert log_path("s3://b/p/evals", "s3://b/p/evals/es-1/a.eval") == "es-1/a.eval"
    assert log_path("/data/evals", "/elsewhere/es-1/a.eval") is None


def test_viewer_urls_encode_each_segment() -> None:
    assert eval_set_viewer_url("http://h:1/", "es-1") == "http://h:1/viewer/?inspect_server=true&log_dir=es-1"
    url = sample_viewer_url("http://h:1", "es-1/a b.eval", "id/1", 2)
    assert (
        url
        == "http://h:1/viewer/?inspect_server=true&log_dir=es-1#/logs/es-1/a%20b.eval/samples/sample/id%2F1/2/"
    )
