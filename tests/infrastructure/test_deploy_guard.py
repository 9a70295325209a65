"""deploy.yml's plan guard (scripts/deploy_plan_guard.jq), run with jq on plans shaped as
`terraform show -json` writes them: a plain deploy passes, anything the deploy role may not apply is named."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUARD = ROOT / "scripts" / "deploy_plan_guard.jq"
FUNCTION = "module.lambda.aws_lambda_function.this"
TASK = "module.fargate.aws_ecs_task_definition.this"


def _function_update(**after: Any) -> dict[str, Any]:
    before = {
        "function_name": "credit-risk-prod-etl",
        "image_uri": "123.dkr.ecr.eu-west-1.amazonaws.com/etl:aaa",
        "environment": [{"variables": {"ETL_FARGATE_TASK_DEFINITION": "arn:...:7"}}],
        "reserved_concurrent_executions": 10,
        "memory_size": 4096,
        "tags": {"Project": "credit-risk-etl"},
        "last_modified": "2026-11-30T10:00:00.000+0000",
        "version": "$LATEST",
    }
    new = {k: v for k, v in before.items() if k not in ("last_modified", "version")}
    new.update(image_uri="123.dkr.ecr.eu-west-1.amazonaws.com/etl:bbb")
    new["environment"] = [{"variables": {"ETL_FARGATE_TASK_DEFINITION": "arn:...:8"}}]
    new.update(after)
    return {
        "address": FUNCTION,
        "change": {
            "actions": ["update"],
            "before": before,
            "after": new,
            "after_unknown": {"last_modified": True, "version": True},
        },
    }


def _plan(*changes: dict[str, Any]) -> dict[str, Any]:
    replace_task = {
        "address": TASK,
        "change": {"actions": ["delete", "create"], "before": {"revision": 7}, "after": {}, "after_unknown": {}},
    }
    untouched = {
        "address": "module.ingest.aws_sqs_queue.main",
        "change": {"actions": ["no-op"], "before": {}, "after": {}, "after_unknown": {}},
    }
    read = {"address": "data.aws_iam_policy_document.x", "change": {"actions": ["read"]}}
    return {"resource_changes": [*changes, replace_task, untouched, read]}


def _guard(plan: dict[str, Any]) -> list[str]:
    out = subprocess.run(["jq", "-r", "-f", str(GUARD)], input=json.dumps(plan), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_a_plain_deploy_passes() -> None:
    assert _guard(_plan(_function_update())) == []


@pytest.mark.parametrize(
    ("after", "named"),
    [
        ({"reserved_concurrent_executions": 20}, "reserved_concurrent_executions"),  # lambda:PutFunctionConcurrency
        ({"tags": {"Project": "credit-risk-etl", "Team": "risk"}}, "tags"),  # lambda:TagResource
        ({"memory_size": 8192, "tags": {}}, "memory_size, tags"),
    ],
)
def test_another_argument_of_the_function_is_named(after: dict[str, Any], named: str) -> None:
    assert _guard(_plan(_function_update(**after))) == [f"{FUNCTION} (update of {named})"]


def test_other_resources_and_a_replaced_function_are_named() -> None:
    replaced = copy.deepcopy(_function_update())
    replaced["change"]["actions"] = ["delete", "create"]
    queue = {
        "address": "module.ingest.aws_sqs_queue.main",
        "change": {"actions": ["update"], "before": {"delay_seconds": 0}, "after": {"delay_seconds": 5}, "after_unknown": {}},
    }
    assert _guard(_plan(replaced, queue)) == [
        f"{FUNCTION} (delete/create)",
        "module.ingest.aws_sqs_queue.main (update)",
    ]


def test_deploy_yml_runs_this_guard_before_apply() -> None:
    workflow = (ROOT / ".github" / "workflows" / "deploy.yml").read_text(encoding="utf-8")
    guard = workflow.index("jq -r -f ../scripts/deploy_plan_guard.jq")
    assert guard < workflow.index("terraform apply -input=false -no-color tfplan")
