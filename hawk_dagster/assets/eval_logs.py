"""``eval_logs``: one eval set's grid run by Inspect into ``<root>/evals/<eval_set_id>/``."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from hawk_runner.run import missing_secrets, secrets_error_message

from hawk_dagster.partitions import eval_sets_partitions
from hawk_dagster.planning import plan_for_eval_set
from hawk_dagster.resources.runner import EvalRunnerResource
from hawk_dagster.resources.storage import StorageResource

ALL_CELLS_SUCCEEDED = "all_cells_succeeded"


@dg.asset(
    partitions_def=eval_sets_partitions,
    group_name="evals",
    kinds={"inspect"},
    check_specs=[
        dg.AssetCheckSpec(
            ALL_CELLS_SUCCEEDED,
            asset="eval_logs",
            description="Every task x model cell of the grid ended with status success.",
        )
    ],
    description="Runs the eval set's task x solver/agent x model grid with inspect_ai.eval_set (resuming what a "
    "previous attempt left) and keeps the .eval logs under evals/<eval_set_id>/ in the storage root.",
)
def eval_logs(
    context: dg.AssetExecutionContext, storage: StorageResource, eval_runner: EvalRunnerResource
) -> Iterator[Any]:
    submission, plan = plan_for_eval_set(storage.storage, context.partition_key)
    missing = missing_secrets(plan)
    if missing:
        raise dg.Failure(description=secrets_error_message(missing))
    context.log.info(
        f"eval set {plan.eval_set_id}: {len(plan.cells)} cell(s) from {submission.source}, logs in {plan.log_dir}"
    )
    yield from eval_runner.run(context, plan)
