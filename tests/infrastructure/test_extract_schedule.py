"""Scheduled extraction in Terraform (modules/extract_schedule, its variables, its alarms), read with
python-hcl2: optional as a whole, a scheduler role that may start exactly the ETL function or its task, retries
and an encrypted dead-letter queue, the extraction's own permissions (its folders, its secret), the network
path to the source database, and the alarms on the SNS topic. The payload and command the schedules send are
the ones `etl.aws.scheduled` accepts."""

from __future__ import annotations

import json
import re
from typing import Any

from etl.aws.scheduled import EXTRACT_PROGRAM, ExtractRequest, extract_command, parse_extract_event
from etl.settings import Settings

from .hcl import as_list, block, load
from .test_terraform import (
    _dynamic_statements,
    call_argument,
    denies_insecure_transport,
    document_of,
    root,
    statements,
)

MODULE = "modules/extract_schedule"


def _variable(name: str) -> dict[str, Any]:
    variable: dict[str, Any] = root().named("variable")[name]
    return variable


def _conditions(name: str) -> str:
    return " ".join(v["condition"] for v in as_list(_variable(name).get("validation")))


def test_the_variables_are_optional_typed_and_validated() -> None:
    defaults = {
        "extractions": [],
        "source_database_security_group_id": None,
        "source_database_port": 5432,
        "source_database_ingress": True,
        "source_database_secret_arn": None,
        "source_database_secret_kms_key_arn": None,
        "extraction_retry_attempts": 3,
    }
    for name, default in defaults.items():
        assert _variable(name).get("default") == default, name
        assert _variable(name).get("description"), name
    extractions = _variable("extractions")["type"]
    for field in ("name = string", "schedule_expression = string", 'target = optional(string, "lambda")'):
        assert field in re.sub(r"\s+", " ", str(extractions)).replace("${", "").replace("}", ""), field
    checks = _conditions("extractions")
    assert 'contains(["lambda", "fargate"], e.target)' in checks
    assert "length(distinct([for e in var.extractions : e.name])) == length(var.extractions)" in checks
    assert "^(rate|cron|at)\\\\(.+\\\\)$" in checks
    # the names the profile's [[extract]] entries may have (etl.profiles._NAME)
    assert "^[a-z0-9][a-z0-9_-]{0,63}$" in checks
    assert "^sg-[0-9a-f]{8,17}$" in _conditions("source_database_security_group_id")
    assert ":secretsmanager:" in _conditions("source_database_secret_arn")
    assert ":kms:" in _conditions("source_database_secret_kms_key_arn")
    assert "var.source_database_port <= 65535" in _conditions("source_database_port")
    assert "var.extraction_retry_attempts <= 185" in _conditions("extraction_retry_attempts")


def test_nothing_is_created_without_an_extraction() -> None:
    call = root().named("module")["extract_schedule"]
    assert call["count"] == "${local.extraction_enabled ? 1 : 0}"
    assert root().locals["extraction_enabled"] == "${length(var.extractions) > 0}"
    # the alarms too: no schedule group, no extraction alarm
    assert call_argument("monitoring", "extraction_schedule_group") == (
        "${local.extraction_enabled ? local.extraction_name : null}"
    )
    monitoring = load("modules/monitoring")
    assert monitoring.named("variable")["extraction_schedule_group"]["default"] is None
    assert monitoring.locals["extraction_alarms"].startswith("${var.extraction_schedule_group == null ? {} :")


def test_the_scheduler_role_may_start_exactly_the_function_or_the_task_and_use_the_dlq() -> None:
    module = load(MODULE)
    assume = module.data("aws_iam_policy_document")["assume"]
    (trust,) = statements(assume)
    assert block(trust, "principals")["identifiers"] == ["scheduler.amazonaws.com"]
    assert block(trust, "condition")["variable"] == "aws:SourceAccount"
    (policy,) = module.resources("aws_iam_role_policy").values()
    document = document_of(module, policy["policy"])
    dynamic = _dynamic_statements(document)
    assert dynamic["InvokeEtlFunction"]["actions"] == ["lambda:InvokeFunction"]
    assert dynamic["InvokeEtlFunction"]["resources"] == ["${var.function_arn}", "${var.function_arn}:*"]
    assert dynamic["RunEtlTask"]["actions"] == ["ecs:RunTask"]
    assert dynamic["RunEtlTask"]["resources"] == ["${local.task_family_arn}", "${local.task_family_arn}:*"]
    assert block(dynamic["RunEtlTask"], "condition") == {
        "test": "ArnEquals",
        "variable": "ecs:cluster",
        "values": ["${var.cluster_arn}"],
    }
    assert dynamic["PassEtlTaskRoles"]["resources"] == "${var.fargate_role_arns}"
    assert block(dynamic["PassEtlTaskRoles"], "condition")["values"] == ["ecs-tasks.amazonaws.com"]
    # each permission only when a schedule needs it
    assert "local.on_lambda" in dynamic["InvokeEtlFunction"]["for_each"]
    assert "local.on_ecs" in dynamic["RunEtlTask"]["for_each"]
    by_sid = {s["sid"]: s for s in statements(document)}
    assert by_sid["SendToDeadLetterQueue"]["resources"] == ["${aws_sqs_queue.dlq.arn}"]
    assert by_sid["UseDeadLetterQueueKey"]["resources"] == ["${var.kms_key_arn}"]
    # wired to the function, the task family (no revision: a deploy changes no schedule) and its roles
    assert call_argument("extract_schedule", "function_arn") == "${module.lambda.function_arn}"
    assert call_argument("extract_schedule", "task_family") == "${module.fargate.task_definition_family}"
    assert call_argument("extract_schedule", "fargate_role_arns") == call_argument(
        "lambda", "fargate_role_arns"
    )
    assert module.locals["task_family_arn"].endswith("task-definition/${var.task_family}")


def test_schedules_retry_into_an_encrypted_tls_only_dead_letter_queue() -> None:
    module = load(MODULE)
    (queue,) = module.resources("aws_sqs_queue").values()
    assert queue["kms_master_key_id"] == "${var.kms_key_arn}"
    assert queue["message_retention_seconds"] == 1209600
    (queue_policy,) = module.resources("aws_sqs_queue_policy").values()
    assert denies_insecure_transport(document_of(module, queue_policy["policy"]), "sqs:*")
    assert call_argument("extract_schedule", "kms_key_arn") == "${module.kms.key_arn}"
    schedule = module.resources("aws_scheduler_schedule")["this"]
    assert schedule["for_each"] == "${local.by_name}"
    assert schedule["group_name"] == "${aws_scheduler_schedule_group.this.name}"
    target = block(schedule, "target")
    assert target["role_arn"] == "${aws_iam_role.scheduler.arn}"
    assert block(target, "dead_letter_config")["arn"] == "${aws_sqs_queue.dlq.arn}"
    retry = block(target, "retry_policy")
    assert retry["maximum_retry_attempts"] == "${var.maximum_retry_attempts}"
    assert call_argument("extract_schedule", "maximum_retry_attempts") == "${var.extraction_retry_attempts}"
    ecs = as_list(target["dynamic"])[0]["ecs_parameters"]
    content = as_list(ecs["content"])[0]
    assert (
        content["launch_type"] == "FARGATE" and content["task_definition_arn"] == "${local.task_family_arn}"
    )
    assert block(content, "network_configuration")["assign_public_ip"] is False


def test_the_payload_and_the_command_are_the_ones_the_handler_accepts() -> None:
    target = block(load(MODULE).resources("aws_scheduler_schedule")["this"], "target")
    expr = target["input"]
    assert 'jsonencode({etl = \\"extract\\", names = [each.key]})' in expr.replace('"', '\\"') or (
        'jsonencode({etl = "extract", names = [each.key]})' in expr
    )
    # what Terraform's jsonencode makes of it for an extraction named core, read by the handler
    assert parse_extract_event(json.loads('{"etl": "extract", "names": ["core"]}')) == ExtractRequest(
        ("core",)
    )
    command = re.search(r"command = \[([^\]]*)\]", expr)
    assert command is not None
    words = [w.strip().strip('"') for w in command.group(1).split(",")]
    assert tuple(words[:-1]) == EXTRACT_PROGRAM and words[-1] == "each.key"
    assert extract_command(ExtractRequest(("core",))) == [*EXTRACT_PROGRAM, "core"]
    assert "name = var.container_name" in expr
    assert call_argument("extract_schedule", "container_name") == "${module.fargate.container_name}"


def test_the_extraction_may_write_only_its_folders_and_read_only_its_secret() -> None:
    module = load(MODULE)
    document = module.data("aws_iam_policy_document")["extract"]
    (write,) = statements(document)
    assert write["actions"] == ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:PutObject"]
    assert write["resources"] == (
        '${[for name in keys(local.by_name) : "${var.raw_bucket_arn}/${var.raw_prefix}*/${name}/*"]}'
    )
    dynamic = _dynamic_statements(document)
    assert dynamic["ReadSourceDatabaseSecret"]["actions"] == ["secretsmanager:GetSecretValue"]
    assert "var.source_database_secret_arn == null ? []" in dynamic["ReadSourceDatabaseSecret"]["for_each"]
    decrypt = dynamic["DecryptSourceDatabaseSecret"]
    assert decrypt["actions"] == ["kms:Decrypt"]
    assert block(decrypt, "condition")["variable"] == "kms:ViaService"
    (attachment,) = module.resources("aws_iam_role_policy_attachment").values()
    assert attachment["for_each"] == "${toset(var.etl_role_names)}"
    assert call_argument("extract_schedule", "etl_role_names") == [
        "${module.lambda.role_name}",
        "${module.fargate.task_role_name}",
    ]
    # the files go where the function and the task write them: ETL_EXTRACT_OUT, under the same prefix
    assert call_argument("extract_schedule", "raw_prefix") == "incoming/"
    env = root().locals["etl_environment"]
    assert env["ETL_EXTRACT_OUT"] == "s3://${module.raw_bucket.id}/incoming"
    assert "extract_out" in Settings.model_fields


def test_the_source_database_is_reached_by_security_group_references_on_its_port() -> None:
    module = load(MODULE)
    (egress,) = module.resources("aws_vpc_security_group_egress_rule").values()
    (ingress,) = module.resources("aws_vpc_security_group_ingress_rule").values()
    assert egress["count"] == "${var.source_database_security_group_id == null ? 0 : 1}"
    assert egress["security_group_id"] == "${var.workload_security_group_id}"
    assert egress["referenced_security_group_id"] == "${var.source_database_security_group_id}"
    assert ingress["count"] == (
        "${var.source_database_security_group_id != null && var.source_database_ingress ? 1 : 0}"
    )
    assert ingress["security_group_id"] == "${var.source_database_security_group_id}"
    assert ingress["referenced_security_group_id"] == "${var.workload_security_group_id}"
    for rule in (egress, ingress):
        assert (rule["from_port"], rule["to_port"]) == ("${var.source_database_port}",) * 2
        assert rule["ip_protocol"] == "tcp" and "cidr_ipv4" not in rule
    assert call_argument("extract_schedule", "workload_security_group_id") == (
        "${module.network.workload_security_group_id}"
    )


def test_extraction_alarms_watch_the_scheduler_the_dlq_and_the_failure_metric() -> None:
    monitoring = load("modules/monitoring")
    expr = monitoring.locals["extraction_alarms"]
    for needle in (
        'namespace           = "AWS/Scheduler"',
        'metric_name         = "TargetErrorCount"',
        "dimensions          = { ScheduleGroup = var.extraction_schedule_group }",
        'metric_name         = "ApproximateNumberOfMessagesVisible"',
        'metric_name         = "ExtractionsFailed"',
        "dimensions          = { service = var.service_name }",
    ):
        assert needle in expr or needle.replace(" ", "") in expr.replace(" ", ""), needle
    assert "local.extraction_alarms" in monitoring.locals["all_alarms"]
    # the names the monitoring module is given are the ones the schedule module makes
    module = load(MODULE)
    assert module.resources("aws_scheduler_schedule_group")["this"]["name"] == "${var.name}"
    assert module.resources("aws_sqs_queue")["dlq"]["name"] == "${var.name}-dlq"
    assert call_argument("extract_schedule", "name") == "${local.extraction_name}"
    assert call_argument("monitoring", "extraction_dlq_name") == (
        '${local.extraction_enabled ? "${local.extraction_name}-dlq" : null}'
    )
    # the metric the handler counts (etl.aws.scheduled.add_extract_metrics)
    from pathlib import Path

    from etl.aws import scheduled

    assert '"ExtractionsFailed"' in Path(scheduled.__file__).read_text(encoding="utf-8")
