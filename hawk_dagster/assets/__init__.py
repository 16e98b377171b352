from hawk_dagster.assets.eval_logs import eval_logs
from hawk_dagster.assets.eval_warehouse import eval_warehouse
from hawk_dagster.assets.scan_results import scan_results
from hawk_dagster.assets.scan_warehouse import scan_warehouse

ASSETS = [eval_logs, eval_warehouse, scan_results, scan_warehouse]

__all__ = ["ASSETS", "eval_logs", "eval_warehouse", "scan_results", "scan_warehouse"]
