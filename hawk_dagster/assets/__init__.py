from hawk_dagster.assets.eval_logs import eval_logs
from hawk_dagster.assets.eval_warehouse import eval_warehouse

ASSETS = [eval_logs, eval_warehouse]

__all__ = ["ASSETS", "eval_logs", "eval_warehouse"]
