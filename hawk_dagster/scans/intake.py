"""The scan configs folder (``<root>/configs/scans/``) as the shared watcher sees it: accepting a scan resolves its
sources (an unknown eval set refuses it, with an error file) and its global limit, once."""

from __future__ import annotations

from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.loader import LoadedScan
from hawk_dagster.intake.watch import SubmitRefused, WatchedKind
from hawk_dagster.scans.sources import UnknownEvalSetError
from hawk_dagster.scans.submission import ScanResolution, load_scan, submit_scan
from hawk_dagster.storage.root import SCAN_CONFIGS, SCANS, StorageRoot
from hawk_dagster.storage.submissions import Submission


def _submit(storage: StorageRoot, loaded: LoadedScan, submission: Submission) -> ScanResolution:
    try:
        return submit_scan(
            storage,
            loaded,
            scan_id=submission.eval_set_id,
            config_text=submission.config_text,
            created_by=submission.created_by,
            base_dir=submission.base_dir,
        )
    except UnknownEvalSetError as e:
        raise SubmitRefused(f"{submission.source}: transcripts.sources: {e}") from e
    except ConfigError as e:
        raise SubmitRefused(f"the model-groups file cannot be used, so no access groups: {e}") from e


SCAN_CONFIGS_KIND: WatchedKind[LoadedScan, ScanResolution] = WatchedKind(
    label="scan",
    folder=SCAN_CONFIGS,
    submissions=SCANS,
    load=load_scan,
    configured_id=lambda loaded: loaded.config.scan_id,
    submit=_submit,
)
