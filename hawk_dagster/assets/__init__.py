from hawk_dagster.assets.eval_logs import eval_logs
from hawk_dagster.assets.eval_warehouse import eval_warehouse
from hawk_dagster.assets.scan_results import scan_results

ASSETS = [eval_logs, eval_warehouse, scan_results]

__all__ = ["ASSETS", "eval_logs", "eval_warehouse", "scan_results"]
