"""The structured logger every AWS module writes to, and the names CloudWatch knows the service by."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

SERVICE = "credit-risk-etl"
DEFAULT_METRICS_NAMESPACE = "CreditRiskETL"

# POWERTOOLS_SERVICE_NAME, as Powertools documents it (read once per container; an explicit service= would
# override it)
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE)
