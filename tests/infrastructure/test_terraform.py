"""Structural invariants of infrastructure/ that checkov does not (or cannot, across modules) check.

Everything is read with python-hcl2; numbers are resolved from variable defaults and envs/*.tfvars.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from etl.aws.events import ObjectRef
from etl.aws.events import task_command
from etl.aws.fargate import run_task_request
from etl.model.marts import MARTS
from etl.settings import Settings

from .hcl import (
    INFRA,
    Scope,
    TfModule,
    all_modules,
    as_list,
    block,
    hcl_string_literals,
    load,
    module_dirs,
    parse_file,
    reference,
    tf_files,
    tfvars,
)

ENVS = ["dev", "prod"]
ROOT_OUTPUTS = [
    "raw_bucket_name",
    "lake_bucket_name",
    "ecr_repository_url",
    "ecr_repository_name",
    "lambda_function_name",
    "redshift_workgroup_name",
    "redshift_database_name",
    "redshift_secret_arn",
    "deploy_role_arn",
    "sns_topic_arn",
    "glue_database_name",
    "sqs_queue_url",
    "dlq_url",
    "ecs_cluster_name",
    "fargate_task_definition_arn",
]
MART_VIEWS = {mart.name for mart in MARTS}  # the real views; columns: test_quicksight_datasets.py
# Actions that AWS does not let a policy scope to a resource: only these may use Resource "*".
UNSCOPABLE_ACTIONS = {
    "cloudwatch:DescribeAlarmsForMetric",
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:GetMetricWidgetImage",
    "cloudwatch:ListMetrics",
    "ecr:GetAuthorizationToken",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "redshift-data:DescribeStatement",
    "redshift-data:GetStatementResult",
    # no resource types in the Service Authorization Reference: a task-definition ARN is never matched
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
}
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}


def root() -> TfModule:
    return load(".")


def modules_with(type_name: str) -> list[tuple[TfModule, str, dict[str, Any]]]:
    return [(m, name, body) for m in all_modules() for name, body in m.resources(type_name).items()]


def policy_documents() -> list[tuple[TfModule, str, dict[str, Any]]]:
    return [
        (m, name, body) for m in all_modules() for name, body in m.data("aws_iam_policy_document").items()
    ]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in as_list(document.get("statement")) if isinstance(s, dict)]


def denies_insecure_transport(document: dict[str, Any], actions: str) -> bool:
    for st in statements(document):
        conditions = as_list(st.get("condition"))
        if (
            st.get("effect") == "Deny"
            and actions in as_list(st.get("actions"))
            and any(p.get("identifiers") == ["*"] for p in as_list(st.get("principals")))
            and any(
                c.get("test") == "Bool"
                and c.get("variable") == "aws:SecureTransport"
                and c.get("values") == ["false"]
                for c in conditions
            )
        ):
            return True
    return False


def document_of(module: TfModule, expr: str) -> dict[str, Any]:
    ref = reference(expr)
    match = re.fullmatch(r"data\.aws_iam_policy_document\.([A-Za-z0-9_]+)\.json", ref)
    assert match, f"{module.name}: policy must come from an aws_iam_policy_document, got {expr}"
    return module.data("aws_iam_policy_document")[match.group(1)]


def call_argument(module_call: str, argument: str) -> Any:
    return root().named("module")[module_call][argument]


# ------------------------------------------------------------------------------------------------
# Parsing, versions, backend, providers
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", tf_files(), ids=lambda p: p.relative_to(INFRA).as_posix())
def test_every_tf_file_parses(path: Any) -> None:
    assert parse_file(path), f"{path} is empty"


def test_all_local_modules_are_used_by_the_root_or_the_bootstrap() -> None:
    sources = {call["source"] for d in (".", "bootstrap") for call in load(d).named("module").values()}
    used = {s.removeprefix("./").removeprefix("../") for s in sources}
    local = {d for d in module_dirs() if d.startswith("modules/")}
    assert local == used, f"unused or missing modules: {local ^ used}"
    assert not any(s.startswith(("git::", "github.com", "registry")) or "//" in s for s in sources)


def test_versions_pin_terraform_and_the_aws_provider() -> None:
    terraform = [b for b in root().terraform_blocks() if "required_version" in b]
    assert len(terraform) == 1
    assert terraform[0]["required_version"] == ">= 1.10.0, < 2.0.0"
    aws = (
        terraform[0]["required_providers"][0]["aws"]
        if isinstance(terraform[0]["required_providers"], list)
        else terraform[0]["required_providers"]["aws"]
    )
    assert aws == {"source": "hashicorp/aws", "version": "~> 5.100"}


def test_backend_is_partial_s3_with_lockfile() -> None:
    backends = [b["backend"] for b in root().terraform_blocks() if "backend" in b]
    assert len(backends) == 1
    s3 = as_list(backends[0])[0]["s3"]
    assert s3["use_lockfile"] is True
    assert s3["encrypt"] is True
    assert not {"bucket", "key", "region", "dynamodb_table"} & set(s3), (
        "bucket/key/region come from -backend-config"
    )


def test_provider_sets_default_tags() -> None:
    providers = root().blocks["provider"]
    aws = next(p["aws"] for p in providers if "aws" in p)
    assert aws["region"] == "${var.aws_region}"
    assert block(aws, "default_tags")["tags"] == "${local.default_tags}"
    tags_expr = root().locals["default_tags"]
    for key in ("Project = var.project", "Environment = var.environment", 'ManagedBy = "terraform"'):
        assert key in tags_expr


# ------------------------------------------------------------------------------------------------
# Variables, outputs, tfvars
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("directory", module_dirs())
def test_every_variable_is_typed_and_described(directory: str) -> None:
    for name, variable in load(directory).named("variable").items():
        assert variable.get("type"), f"{directory}: var.{name} has no type"
        assert len(variable.get("description", "")) > 10, f"{directory}: var.{name} has no description"


@pytest.mark.parametrize("directory", module_dirs())
def test_every_output_is_described(directory: str) -> None:
    for name, output in load(directory).named("output").items():
        assert len(output.get("description", "")) > 5, f"{directory}: output {name} has no description"


def test_root_variables_with_validation() -> None:
    variables = root().named("variable")
    required = {
        "project": "credit-risk-etl",
        "environment": None,
        "aws_region": "eu-west-1",
        "image_tag": None,
        "github_repository": None,
        "lambda_memory_mb": 3072,
        "lambda_timeout_seconds": 900,
        "lambda_reserved_concurrency": None,
        "sqs_max_concurrency": 5,
        "log_retention_days": 365,
        "redshift_base_capacity": 8,
        "redshift_usage_limit_rpu_hours": 100,
        "alarm_email": None,
        "slack_workspace_id": None,
        "slack_channel_id": None,
        "quicksight_enabled": False,
        "quicksight_principal_arn": None,
        "fargate_min_bytes": 1 << 30,
    }
    for name, default in required.items():
        assert name in variables, f"missing variable {name}"
        assert variables[name].get("default") == default, name
    for name in (
        "environment",
        "image_tag",
        "github_repository",
        "lambda_memory_mb",
        "lambda_timeout_seconds",
        "sqs_max_concurrency",
        "log_retention_days",
    ):
        assert variables[name].get("validation"), f"var.{name} has no validation block"
    assert variables["quicksight_enabled"]["type"] == "bool"


def _conditions(name: str) -> list[str]:
    return [v["condition"] for v in as_list(root().named("variable")[name]["validation"])]


def test_validation_rules_hold_the_documented_limits() -> None:
    assert 'contains(["dev", "prod"], var.environment)' in _conditions("environment")[0]
    assert (
        "var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240" in _conditions("lambda_memory_mb")[0]
    )
    assert "var.lambda_timeout_seconds <= 900" in _conditions("lambda_timeout_seconds")[0]
    assert "var.sqs_max_concurrency >= 2" in _conditions("sqs_max_concurrency")[0]
    assert "length(trimspace(var.image_tag)) > 0" in _conditions("image_tag")[0]
    allowed = re.search(r"contains\(\[([0-9, ]+)\]", _conditions("log_retention_days")[0])
    assert allowed is not None
    cloudwatch = {
        1,
        3,
        5,
        7,
        14,
        30,
        60,
        90,
        120,
        150,
        180,
        365,
        400,
        545,
        731,
        1096,
        1827,
        2192,
        2557,
        2922,
        3288,
        3653,
    }
    assert {int(x) for x in allowed.group(1).split(",")} == cloudwatch


def test_github_repository_regex_accepts_owner_name_only() -> None:
    (pattern,) = hcl_string_literals(_conditions("github_repository")[0], "regex")
    assert re.fullmatch(pattern, "example-org/credit-risk-etl")
    assert re.fullmatch(pattern, "Owner_1/repo.name")
    for bad in (
        "credit-risk-etl",
        "org/repo/extra",
        "org/",
        "/repo",
        "org/re po",
        "https://github.com/org/repo",
    ):
        assert not re.search(pattern, bad), bad


def test_root_outputs_the_workflow_reads() -> None:
    outputs = root().named("output")
    missing = [name for name in ROOT_OUTPUTS if name not in outputs]
    assert not missing


@pytest.mark.parametrize("env", ENVS)
def test_tfvars_set_known_variables_and_their_environment(env: str) -> None:
    values = tfvars(env)
    declared = set(root().named("variable"))
    assert set(values) <= declared, set(values) - declared
    assert values["environment"] == env
    assert values["log_retention_days"] in {30, 365}
    reserved = values["lambda_reserved_concurrency"]
    assert 2 <= values["sqs_max_concurrency"] <= (reserved if reserved is not None else 1000)
    assert values["quicksight_enabled"] is False


def _state_key_prefix(env: str) -> str:
    """local.state_key_prefix for an env file: coalesce(var.terraform_state_key_prefix, "<project>/<env>/")."""
    assert root().locals["state_key_prefix"] == (
        '${coalesce(var.terraform_state_key_prefix, "${var.project}/${var.environment}/")}'
    )
    scope = Scope.root(env)
    return scope.var("terraform_state_key_prefix") or f"{scope.var('project')}/{scope.var('environment')}/"


def test_dev_and_prod_state_live_under_separate_prefixes() -> None:
    # One shared prefix let dev's deploy role write prod's state and the other way round.
    assert root().named("variable")["terraform_state_key_prefix"]["default"] is None
    prefixes = {env: _state_key_prefix(env) for env in ENVS}
    assert prefixes == {"dev": "credit-risk-etl/dev/", "prod": "credit-risk-etl/prod/"}
    assert call_argument("github_oidc", "state_key_prefix") == "${local.state_key_prefix}"
    for env in ENVS:
        example = parse_file(INFRA / "envs" / f"{env}.s3.tfbackend.example")
        assert example["key"] == f"{prefixes[env]}terraform.tfstate"
        other = next(e for e in ENVS if e != env)
        assert not example["key"].startswith(prefixes[other])
    workflows = INFRA.parent / ".github" / "workflows"
    for name, job_name in (("deploy.yml", "deploy"), ("plan.yml", "plan")):
        job = yaml.safe_load((workflows / name).read_text(encoding="utf-8"))["jobs"][job_name]
        assert job["env"]["TF_STATE_KEY"] == (
            "${{ vars.TF_STATE_KEY || '" + prefixes["prod"] + "terraform.tfstate' }}"
        ), name


def test_state_is_encrypted_with_the_bootstrap_key() -> None:
    # encrypt = true without kms_key_id makes the S3 backend write the state with SSE-S3, not the key the
    # bootstrap made for it. kms_key_id comes with the partial backend configuration.
    variable = root().named("variable")["terraform_state_kms_key_arn"]
    assert "default" not in variable, "required: the backend and both CI roles need it"
    (pattern,) = hcl_string_literals(as_list(variable["validation"])[0]["condition"], "regex")
    for env in ENVS:
        assert re.fullmatch(pattern, tfvars(env)["terraform_state_kms_key_arn"]), env
        example = parse_file(INFRA / "envs" / f"{env}.s3.tfbackend.example")
        assert re.fullmatch(pattern, example["kms_key_id"]), env
    assert not re.fullmatch(pattern, "alias/credit-risk-etl-tfstate")
    workflows = INFRA.parent / ".github" / "workflows"
    for name in ("deploy.yml", "plan.yml"):
        text = (workflows / name).read_text(encoding="utf-8")
        assert '-backend-config="kms_key_id=${TF_STATE_KMS_KEY_ARN}"' in text, name
        assert "TF_STATE_KMS_KEY_ARN: ${{ vars.TF_STATE_KMS_KEY_ARN }}" in text, name
    # the roles may use that key: the deploy role to write (the backend's documented needs), plan to read
    oidc = load("modules/github_oidc")
    deploy = {s["sid"]: s for s in statements(oidc.data("aws_iam_policy_document")["deploy"])}
    assert (deploy["UseTerraformStateKey"]["actions"], deploy["UseTerraformStateKey"]["resources"]) == (
        ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
        ["${var.state_kms_key_arn}"],
    )
    plan = {s["sid"]: s for s in statements(oidc.data("aws_iam_policy_document")["plan"])}
    assert (plan["DecryptTerraformState"]["actions"], plan["DecryptTerraformState"]["resources"]) == (
        ["kms:Decrypt"],
        ["${var.state_kms_key_arn}"],
    )
    assert "default" not in oidc.named("variable")["state_kms_key_arn"]
    assert call_argument("github_oidc", "state_kms_key_arn") == "${var.terraform_state_kms_key_arn}"
    bootstrap = load("bootstrap").named("output")["state_kms_key_arn"]
    assert bootstrap["value"] == "${module.kms.key_arn}"


# ------------------------------------------------------------------------------------------------
# S3 buckets
# ------------------------------------------------------------------------------------------------
def _companions(module: TfModule, type_name: str, bucket: str) -> list[dict[str, Any]]:
    target = f"${{aws_s3_bucket.{bucket}.id}}"
    return [body for body in module.resources(type_name).values() if body.get("bucket") == target]


def test_every_bucket_is_private_versioned_kms_encrypted_and_owner_enforced() -> None:
    buckets = modules_with("aws_s3_bucket")
    assert buckets, "no buckets found"
    for module, name, body in buckets:
        where = f"{module.name}: aws_s3_bucket.{name}"
        assert body.get("force_destroy") in ("${var.force_destroy}", False), where
        (pab,) = _companions(module, "aws_s3_bucket_public_access_block", name)
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert pab[flag] is True, f"{where}: {flag}"
        (versioning,) = _companions(module, "aws_s3_bucket_versioning", name)
        assert block(versioning, "versioning_configuration")["status"] == "Enabled", where
        (sse,) = _companions(module, "aws_s3_bucket_server_side_encryption_configuration", name)
        rule = block(sse, "rule")
        default = block(rule, "apply_server_side_encryption_by_default")
        assert default["sse_algorithm"] == "aws:kms", where
        assert default["kms_master_key_id"].startswith("${"), where
        assert rule["bucket_key_enabled"] is True, where
        (ownership,) = _companions(module, "aws_s3_bucket_ownership_controls", name)
        assert block(ownership, "rule")["object_ownership"] == "BucketOwnerEnforced", where
        (policy,) = _companions(module, "aws_s3_bucket_policy", name)
        assert denies_insecure_transport(document_of(module, policy["policy"]), "s3:*"), (
            f"{where}: not TLS-only"
        )


def test_every_bucket_has_cost_bounding_lifecycle_rules() -> None:
    for module, name, _ in modules_with("aws_s3_bucket"):
        (lifecycle,) = _companions(module, "aws_s3_bucket_lifecycle_configuration", name)
        rules = {r["id"]: r for r in as_list(lifecycle["rule"])}
        abort = rules["abort-incomplete-multipart-uploads"]
        assert abort["status"] == "Enabled" and abort["filter"] == [{}]
        assert block(abort, "abort_incomplete_multipart_upload")["days_after_initiation"]
        noncurrent = rules["expire-noncurrent-versions"]
        assert block(noncurrent, "noncurrent_version_expiration")["noncurrent_days"]


def test_bucket_instances_use_the_stack_key_and_the_lake_expires_staging_after_one_day() -> None:
    calls = {n: c for n, c in root().named("module").items() if c["source"] == "./modules/s3_bucket"}
    assert set(calls) == {"raw_bucket", "lake_bucket"}
    for call in calls.values():
        assert call["kms_key_arn"] == "${module.kms.key_arn}"
        assert "force_destroy" not in call
    rules = {r["prefix"]: r for r in call_argument("lake_bucket", "expiration_rules")}
    assert rules["staging/"]["days"] == 1
    assert "lake/quarantine/" in rules
    assert "lake/curated/" not in rules, "curated data must not expire"


def test_raw_bucket_notifies_the_queue_for_every_key_under_incoming() -> None:
    ingest = load("modules/ingest")
    (notification,) = ingest.resources("aws_s3_bucket_notification").values()
    queue = block(notification, "queue")
    assert queue["events"] == ["s3:ObjectCreated:*"]
    assert queue["queue_arn"] == "${aws_sqs_queue.main.arn}"
    assert call_argument("ingest", "filter_prefix") == "incoming/"
    # No suffix filter: ".csv" would not match June.CSV, which would never arrive; the function skips
    # keys that are not CSV (etl.aws.events.route_source), with a log line.
    assert "filter_suffix" not in root().named("module")["ingest"]
    assert load("modules/ingest").named("variable")["filter_suffix"]["default"] is None
    assert call_argument("ingest", "bucket_id") == "${module.raw_bucket.id}"


# ------------------------------------------------------------------------------------------------
# Queues, function, timeouts
# ------------------------------------------------------------------------------------------------
def test_queues_are_kms_encrypted_tls_only_and_redrive_to_the_dlq() -> None:
    ingest = load("modules/ingest")
    queues = ingest.resources("aws_sqs_queue")
    assert set(queues) == {"main", "dlq"}
    for name, queue in queues.items():
        assert queue["kms_master_key_id"] == "${var.kms_key_arn}", name
        (policy,) = [p for p in ingest.resources("aws_sqs_queue_policy").values() if name in p["queue_url"]]
        assert denies_insecure_transport(document_of(ingest, policy["policy"]), "sqs:*"), name
    redrive = queues["main"]["redrive_policy"]
    assert "deadLetterTargetArn = aws_sqs_queue.dlq.arn" in redrive
    assert queues["dlq"]["message_retention_seconds"] == 1209600


@pytest.mark.parametrize("env", [None, *ENVS], ids=["defaults", *ENVS])
def test_sqs_visibility_timeout_is_at_least_six_times_the_function_timeout(env: str | None) -> None:
    scope = Scope.root(env)
    ingest, function = scope.child("ingest"), scope.child("lambda")
    visibility = ingest.evaluate(
        load("modules/ingest").resources("aws_sqs_queue")["main"]["visibility_timeout_seconds"]
    )
    timeout = function.evaluate(load("modules/lambda").resources("aws_lambda_function")["this"]["timeout"])
    assert isinstance(visibility, int | float) and isinstance(timeout, int | float)
    assert 1 <= timeout <= 900
    assert visibility >= 6 * timeout, f"{env}: visibility {visibility} < 6 x {timeout}"
    assert visibility <= 43200


@pytest.mark.parametrize("env", [None, *ENVS], ids=["defaults", *ENVS])
def test_function_sizing_and_duration_alarm(env: str | None) -> None:
    scope = Scope.root(env)
    function = scope.child("lambda")
    body = load("modules/lambda").resources("aws_lambda_function")["this"]
    memory = function.evaluate(body["memory_size"])
    reserved = function.evaluate(body["reserved_concurrent_executions"])
    assert 2048 <= memory <= 10240, "the benchmark files need at least 2 GB"
    # no reservation by default (a new account's quota may not allow one): the event source caps concurrency
    assert reserved is None
    assert 2 <= scope.var("sqs_max_concurrency") <= 5
    monitoring = scope.child("monitoring")
    alarm = load("modules/monitoring").locals["alarms"]["lambda_duration"]
    threshold_ms = monitoring.evaluate(alarm["threshold"])
    timeout_ms = 1000 * function.evaluate(body["timeout"])
    assert 0.5 * timeout_ms <= threshold_ms < timeout_ms


def test_reserved_concurrency_is_optional_and_checked_against_the_account_quota() -> None:
    # Lambda keeps 100 of the account's concurrency unreserved; a new account's quota (often 10 or 50)
    # makes any reservation fail at apply. Off by default, validated when set, checked against the quota.
    variable = root().named("variable")["lambda_reserved_concurrency"]
    assert variable["default"] is None
    (validation,) = as_list(variable["validation"])
    assert validation["condition"].startswith("${var.lambda_reserved_concurrency == null ? true :")
    for env in ENVS:
        assert tfvars(env)["lambda_reserved_concurrency"] is None, env
    conditions = _conditions("sqs_max_concurrency")
    assert (
        "${var.lambda_reserved_concurrency == null ? true : var.sqs_max_concurrency <= var.lambda_reserved_concurrency}"
        in conditions
    )
    assert call_argument("lambda", "reserved_concurrency") == "${var.lambda_reserved_concurrency}"
    lam = load("modules/lambda")
    assert lam.named("variable")["reserved_concurrency"]["default"] is None
    body = lam.resources("aws_lambda_function")["this"]
    assert body["reserved_concurrent_executions"] == "${var.reserved_concurrency}"  # null = the provider's -1
    name = "lambda_reserved_concurrency_fits_the_account_quota"
    (check,) = [c[name] for c in root().blocks["check"] if name in c]
    quota = block(check, "data")["aws_servicequotas_service_quota"]["lambda_concurrent_executions"]
    assert (quota["service_code"], quota["quota_code"]) == ("lambda", "L-B99A9384")
    assert block(check, "assert")["condition"] == (
        "${var.lambda_reserved_concurrency == null ? true : "
        "data.aws_servicequotas_service_quota.lambda_concurrent_executions.value >= 100 + var.lambda_reserved_concurrency}"
    )


def test_lambda_function_from_the_image_is_hardened() -> None:
    lam = load("modules/lambda")
    body = lam.resources("aws_lambda_function")["this"]
    assert body["package_type"] == "Image"
    assert block(body, "image_config")["command"] == ["etl.handler.lambda_handler"]
    assert block(body, "tracing_config")["mode"] == "Active"
    assert block(body, "dead_letter_config")["target_arn"] == "${var.dlq_arn}"
    assert block(body, "vpc_config")["subnet_ids"] == "${var.subnet_ids}"
    assert body["kms_key_arn"] == "${var.kms_key_arn}"
    assert block(body, "logging_config")["log_group"] == "${aws_cloudwatch_log_group.this.name}"
    assert call_argument("lambda", "image_uri") == "${local.image_uri}"
    assert root().locals["image_uri"] == "${module.ecr.repository_url}:${var.image_tag}"
    assert call_argument("lambda", "subnet_ids") == "${module.network.private_subnet_ids}"
    (esm,) = lam.resources("aws_lambda_event_source_mapping").values()
    assert esm["function_response_types"] == ["ReportBatchItemFailures"]
    assert block(esm, "scaling_config")["maximum_concurrency"] == "${var.max_concurrency}"
    assert call_argument("lambda", "max_concurrency") == "${var.sqs_max_concurrency}"


def test_lambda_environment_matches_the_interface_and_holds_no_secrets() -> None:
    etl_env = root().locals["etl_environment"]
    assert isinstance(etl_env, dict)
    env_expr = " ".join(f"{k} = {v}" for k, v in etl_env.items()) + root().locals["lambda_environment"]
    for name in (
        "ETL_LAKE",
        "ETL_WAREHOUSE_URL",
        "ETL_GLUE_DATABASE",
        "ETL_SNS_TOPIC_ARN",
        "ETL_LOG_LEVEL",
        "ETL_FARGATE_CLUSTER",
        "ETL_FARGATE_TASK_DEFINITION",
        "ETL_FARGATE_CONTAINER",
        "ETL_FARGATE_SUBNETS",
        "ETL_FARGATE_SECURITY_GROUPS",
        "ETL_FARGATE_MIN_BYTES",
    ):
        assert re.search(rf"\b{name}\s*=", env_expr), name
    assert etl_env["ETL_LAKE"] == "s3://${module.lake_bucket.id}/lake"
    # the profile in the raw bucket, outside incoming/ (validated), readable by exactly that key; empty: none
    assert etl_env["ETL_PROFILE"] == (
        '${var.profile_key == null ? "" : "s3://${module.raw_bucket.id}/${var.profile_key}"}'
    )
    assert call_argument("etl_iam", "profile_key") == "${var.profile_key}"
    assert etl_env["POWERTOOLS_SERVICE_NAME"] == "${local.service_name}"
    assert etl_env["POWERTOOLS_METRICS_NAMESPACE"] == "${local.metrics_namespace}"
    assert (root().locals["service_name"], root().locals["metrics_namespace"]) == ("credit-risk-etl", "CreditRiskETL")
    # no Slack webhook: the VPC has no route to Slack (AWS Chatbot reads the SNS topic instead)
    assert "SLACK" not in env_expr
    assert 'join(",", module.network.private_subnet_ids)' in env_expr
    assert "ETL_FARGATE_CONTAINER = module.fargate.container_name" in env_expr
    assert (
        "redshift://%s:%d/%s?secret_arn=%s&iam_role=%s&staging=s3://%s/staging/"
        in root().locals["warehouse_url"]
    )
    keys = re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", env_expr)
    for key in keys:
        assert not re.search(r"PASSWORD|TOKEN|WEBHOOK_URL|SECRET(?!_ARN)", key), f"{key} looks like a secret"
    assert call_argument("lambda", "environment") == "${local.lambda_environment}"
    assert call_argument("fargate", "environment") == "${local.etl_environment}"


def test_fargate_task_runs_the_same_image_with_the_same_data_permissions() -> None:
    fargate = load("modules/fargate")
    (task,) = fargate.resources("aws_ecs_task_definition").values()
    assert task["requires_compatibilities"] == ["FARGATE"]
    assert task["network_mode"] == "awsvpc"
    assert task["task_role_arn"] == "${aws_iam_role.task.arn}"
    assert task["execution_role_arn"] == "${aws_iam_role.execution.arn}"
    assert "readonlyRootFilesystem = true" in task["container_definitions"]
    assert call_argument("fargate", "image_uri") == call_argument("lambda", "image_uri")
    scope = Scope.root(None)
    assert (scope.var("fargate_cpu"), scope.var("fargate_memory_mb")) == (4096, 16384)
    policy = "${module.etl_iam.data_access_policy_arn}"
    assert (
        call_argument("fargate", "data_access_policy_arn")
        == call_argument("lambda", "data_access_policy_arn")
        == policy
    )
    for directory, role in (("modules/fargate", "task"), ("modules/lambda", "this")):
        attachments = load(directory).resources("aws_iam_role_policy_attachment").values()
        assert any(
            a["role"] == f"${{aws_iam_role.{role}.name}}"
            and a["policy_arn"] == "${var.data_access_policy_arn}"
            for a in attachments
        ), directory


def test_the_ecs_service_linked_role_is_made_once_per_account_and_checked_by_the_stack() -> None:
    # RunTask (awsvpc) needs AWSServiceRoleForECS; a new account may not have it yet, and it exists once
    # per account (creating it twice fails), so the bootstrap makes it, optionally, and the stack checks.
    bootstrap = load("bootstrap")
    role = bootstrap.resources("aws_iam_service_linked_role")["ecs"]
    assert role["count"] == "${var.create_ecs_service_linked_role ? 1 : 0}"
    assert role["aws_service_name"] == "ecs.amazonaws.com"
    assert bootstrap.named("variable")["create_ecs_service_linked_role"]["default"] is True
    creating = [(m.name, n) for m in all_modules() for n in m.resources("aws_iam_service_linked_role")]
    assert creating == [("bootstrap", "ecs")]
    fargate = load("modules/fargate")
    (check,) = [c["ecs_service_linked_role_exists"] for c in fargate.blocks["check"]]
    lookup = block(check, "data")["aws_iam_role"]["ecs_service_linked_role"]
    assert lookup == {"name": "AWSServiceRoleForECS"}
    assert block(check, "assert")["condition"] == (
        '${data.aws_iam_role.ecs_service_linked_role.path == "/aws-service-role/ecs.amazonaws.com/"}'
    )


def test_fargate_entry_point_runs_the_command_the_handler_sends() -> None:
    # etl.handler.run_task_request overrides the container's command with etl.aws.events.task_command:
    # ["python", "-m", "etl.handler", "--bucket", B, "--key", K, ...]. The task definition must run that as
    # it is: entry point /usr/bin/env (the image's own is the Lambda runtime's), no `command` of its own,
    # and the image's LAMBDA_TASK_ROOT (where the Dockerfile puts etl/ and its dependencies) as the
    # working directory, so `python -m etl.handler` imports them.
    (task,) = load("modules/fargate").resources("aws_ecs_task_definition").values()
    definitions = task["container_definitions"]
    assert definitions.count("name = local.container_name") == 1, "the handler overrides the first container"
    assert 'entryPoint = ["/usr/bin/env"]' in definitions
    assert 'workingDirectory = "/var/task"' in definitions
    assert not re.search(r"\bcommand\s*=", definitions), "RunTask supplies the command"
    ref = ObjectRef("raw", "incoming/bank_statements/big file.csv", 2**31, '"abc"', "v1", None)
    command = task_command(ref)
    assert command[:3] == ["python", "-m", "etl.handler"]
    assert command[3:] == ["--bucket", "raw", "--key", ref.key, "--version-id", "v1", "--etag", '"abc"', "--attempt", "1"]
    override = run_task_request(ref, Settings(fargate_cluster="c", fargate_task_definition="t"), "etl")
    assert override["overrides"]["containerOverrides"] == [{"name": "etl", "command": command}]
    dockerfile = (INFRA.parent / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY etl/ ${LAMBDA_TASK_ROOT}/etl/" in dockerfile
    assert '--target "${LAMBDA_TASK_ROOT}"' in dockerfile
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:", dockerfile, re.M), "LAMBDA_TASK_ROOT=/var/task"


def test_stopped_fargate_tasks_come_back_to_the_functions_queue() -> None:
    # The function acknowledges an object's message once RunTask succeeds; the task's STOPPED event is
    # what lets it run a task that did not finish again (etl.handler._follow_up), or dead-letter it.
    from etl.aws.log import SERVICE

    fargate = load("modules/fargate")
    rule = fargate.resources("aws_cloudwatch_event_rule")["task_stopped"]
    pattern = rule["event_pattern"]
    for part in (
        'source = ["aws.ecs"]',
        '"detail-type" = ["ECS Task State Change"]',
        "clusterArn = [aws_ecs_cluster.this.arn]",
        'lastStatus = ["STOPPED"]',
        "startedBy = [var.started_by]",
    ):
        assert part in pattern, part
    assert fargate.named("variable")["started_by"]["default"] == SERVICE  # RunTask's startedBy
    target = fargate.resources("aws_cloudwatch_event_target")["task_stopped"]
    assert target["rule"] == "${aws_cloudwatch_event_rule.task_stopped.name}"
    assert target["arn"] == "${var.task_events_queue_arn}"
    assert block(target, "dead_letter_config")["arn"] == "${var.task_events_dead_letter_arn}"
    assert call_argument("fargate", "task_events_queue_arn") == "${module.ingest.queue_arn}"
    assert call_argument("fargate", "task_events_dead_letter_arn") == "${module.ingest.dlq_arn}"
    # both queues let that rule (and only it) send
    assert call_argument("ingest", "event_rule_arns") == ["${module.fargate.task_stopped_rule_arn}"]
    ingest = load("modules/ingest")
    for document, sid, queue in (("main", "AllowEventRules", "main"), ("dlq", "AllowUndeliveredRuleEvents", "dlq")):
        st = _dynamic_statements(ingest.data("aws_iam_policy_document")[document])[sid]
        assert (st["actions"], st["resources"]) == (["sqs:SendMessage"], [f"${{aws_sqs_queue.{queue}.arn}}"])
        assert block(st, "principals")["identifiers"] == ["events.amazonaws.com"]
        condition = block(st, "condition")
        assert (condition["test"], condition["variable"], condition["values"]) == (
            "ArnEquals",
            "aws:SourceArn",
            "${var.event_rule_arns}",
        )
    # the queues are encrypted with the stack key: EventBridge may use it (test below: without a condition)
    kms = load("modules/kms").data("aws_iam_policy_document")["key"]
    eventbridge = {s["sid"]: s for s in statements(kms)}["EventBridgeToEncryptedQueues"]
    assert block(eventbridge, "principals")["identifiers"] == ["events.amazonaws.com"]


def test_lambda_may_run_only_the_task_and_pass_only_its_roles() -> None:
    lam = load("modules/lambda")
    document = lam.data("aws_iam_policy_document")["function"]
    by_sid = {s["sid"]: s for s in statements(document)}
    run = by_sid["RunLargeFilesOnFargate"]
    assert run["actions"] == ["ecs:RunTask"]
    assert run["resources"][0].endswith("task-definition/${var.fargate_task_family}:*")
    pass_role = by_sid["PassFargateRoles"]
    assert pass_role["actions"] == ["iam:PassRole"]
    assert pass_role["resources"] == "${var.fargate_role_arns}"
    assert block(pass_role, "condition")["values"] == ["ecs-tasks.amazonaws.com"]
    roles = call_argument("lambda", "fargate_role_arns")
    assert roles == ["${module.fargate.task_role_arn}", "${module.fargate.execution_role_arn}"]


# ------------------------------------------------------------------------------------------------
# Warehouse
# ------------------------------------------------------------------------------------------------
def test_redshift_is_private_tls_only_encrypted_and_capped() -> None:
    redshift = load("modules/redshift")
    (workgroup,) = redshift.resources("aws_redshiftserverless_workgroup").values()
    assert workgroup["publicly_accessible"] is False
    assert workgroup["enhanced_vpc_routing"] is True
    params = {p["parameter_key"]: p["parameter_value"] for p in as_list(workgroup["config_parameter"])}
    assert params["require_ssl"] == "true"
    assert params["enable_user_activity_logging"] == "true"
    (namespace,) = redshift.resources("aws_redshiftserverless_namespace").values()
    assert namespace["manage_admin_password"] is True
    assert "admin_user_password" not in namespace
    assert namespace["kms_key_id"] == "${var.kms_key_arn}"
    assert namespace["admin_password_secret_kms_key_id"] == "${var.kms_key_arn}"
    assert namespace["log_exports"] == "${local.log_exports}"
    assert redshift.locals["log_exports"] == ["connectionlog", "useractivitylog", "userlog"]
    (limit,) = redshift.resources("aws_redshiftserverless_usage_limit").values()
    assert limit["usage_type"] == "serverless-compute"
    assert limit["amount"] == "${var.usage_limit_rpu_hours}"
    assert call_argument("redshift", "usage_limit_rpu_hours") == "${var.redshift_usage_limit_rpu_hours}"
    assert Scope.root(None).var("redshift_database_name") == "credit_risk"


def test_redshift_workgroup_ignores_parameters_the_pinned_provider_cannot_express() -> None:
    # AWS returns enable_large_strings_opt_in in the workgroup's parameters; provider 5.100 rejects that key
    # (hashicorp/terraform-provider-aws#49939), so a listed config_parameter block diffs forever, stops every
    # deploy at the plan guard and fails the administrator's apply. Ignored after create, watched by a check.
    redshift = load("modules/redshift")
    (workgroup,) = redshift.resources("aws_redshiftserverless_workgroup").values()
    assert block(workgroup, "lifecycle")["ignore_changes"] == ["config_parameter"]
    keys = [p["parameter_key"] for p in as_list(workgroup["config_parameter"])]
    assert "enable_large_strings_opt_in" not in keys, "provider 5.100 refuses this key at validate"
    assert {"require_ssl", "enable_user_activity_logging"} <= set(keys), "still sent on create"
    (check,) = [c["redshift_workgroup_security_parameters"] for c in redshift.blocks["check"]]
    condition = block(check, "assert")["condition"]
    assert 'for key in ["require_ssl", "enable_user_activity_logging"]' in condition
    assert 'p.parameter_key == key && p.parameter_value == "true"' in condition
    assert "aws_redshiftserverless_workgroup.this.config_parameter" in condition


def test_redshift_exports_its_audit_logs_into_groups_terraform_manages() -> None:
    # Redshift Serverless exports to /aws/redshift/<namespace>/<log type> and uses an existing group of that
    # name; left to itself it creates one that never expires and is not encrypted with the stack key.
    redshift = load("modules/redshift")
    groups = redshift.resources("aws_cloudwatch_log_group")["exports"]
    assert groups["for_each"] == "${toset(local.log_exports)}"
    assert groups["name"] == "/aws/redshift/${var.name}/${each.value}"
    assert (groups["retention_in_days"], groups["kms_key_id"]) == ("${var.log_retention_days}", "${var.kms_key_arn}")
    (namespace,) = redshift.resources("aws_redshiftserverless_namespace").values()
    assert namespace["namespace_name"] == "${var.name}", "the groups are named after the namespace"
    assert namespace["depends_on"] == ["${aws_cloudwatch_log_group.exports}"], "made before exports start"
    assert redshift.named("output")["log_group_names"]["value"] == (
        "${[for log_type in local.log_exports : aws_cloudwatch_log_group.exports[log_type].name]}"
    )
    # for prod: /aws/redshift/credit-risk-etl-prod/useractivitylog etc.
    assert call_argument("redshift", "name") == "${local.name}"
    assert root().locals["name"] == "${var.project}-${var.environment}"


def test_no_public_redshift_anywhere() -> None:
    for module, name, body in modules_with("aws_redshiftserverless_workgroup") + modules_with(
        "aws_redshift_cluster"
    ):
        assert body.get("publicly_accessible") is False, f"{module.name}: {name}"


def test_copy_role_reads_only_the_lake_staging_prefix() -> None:
    redshift = load("modules/redshift")
    document = redshift.data("aws_iam_policy_document")["copy"]
    for st in statements(document):
        for resource in as_list(st["resources"]):
            assert resource in (
                "${var.lake_bucket_arn}",
                "${var.lake_bucket_arn}/${var.staging_prefix}*",
                "${var.kms_key_arn}",
            )
        if "s3:ListBucket" in st["actions"]:
            assert block(st, "condition")["values"] == ["${var.staging_prefix}*"]
    assert call_argument("redshift", "staging_prefix") == "staging/"
    assert call_argument("redshift", "lake_bucket_arn") == "${module.lake_bucket.arn}"


# ------------------------------------------------------------------------------------------------
# IAM
# ------------------------------------------------------------------------------------------------
def _kms_key_policy_documents() -> set[tuple[str, str]]:
    found = set()
    for module, _, key in modules_with("aws_kms_key"):
        found.add((module.name, reference(key["policy"]).split(".")[2]))
    return found


def test_iam_statements_name_their_actions_and_resources() -> None:
    key_policies = _kms_key_policy_documents()
    assert key_policies == {("modules/kms", "key")}
    checked = 0
    for module, name, document in policy_documents():
        for st in statements(document):
            if st.get("effect", "Allow") != "Allow":
                continue
            checked += 1
            where = f"{module.name}: {name}/{st.get('sid')}"
            actions = as_list(st.get("actions"))
            assert "not_actions" not in st and "not_resources" not in st, where
            is_key_admin = (module.name, name) in key_policies and st.get(
                "sid"
            ) == "AccountRootKeyAdministration"
            for action in actions:
                assert action != "*", where
                if not is_key_admin:
                    assert not action.endswith(":*") and "*" not in action, (
                        f"{where}: wildcard action {action}"
                    )
            resources = as_list(st.get("resources"))
            if "sts:AssumeRole" in actions or "sts:AssumeRoleWithWebIdentity" in actions:
                continue  # trust policies have principals, not resources
            assert resources, f"{where}: no resources"
            if "*" in resources and (module.name, name) not in key_policies:
                assert set(actions) <= UNSCOPABLE_ACTIONS, (
                    f"{where}: Resource * for {set(actions) - UNSCOPABLE_ACTIONS}"
                )
    assert checked > 40


def test_kms_key_policy_limits_services_to_this_account() -> None:
    document = load("modules/kms").data("aws_iam_policy_document")["key"]
    by_sid = {s["sid"]: s for s in statements(document)}
    assert block(by_sid["AccountRootKeyAdministration"], "principals")["identifiers"] == ["${local.root_arn}"]
    services = by_sid["ServicePublishersInThisAccount"]
    assert block(services, "principals")["identifiers"] == [
        "s3.amazonaws.com",
        "cloudwatch.amazonaws.com",
        "sns.amazonaws.com",
    ]
    condition = block(services, "condition")
    assert (condition["test"], condition["variable"], condition["values"]) == (
        "StringEquals",
        "aws:SourceAccount",
        ["${local.account_id}"],
    )
    assert set(services["actions"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    (key,) = load("modules/kms").resources("aws_kms_key").values()
    assert key["enable_key_rotation"] is True


def test_eventbridge_may_use_the_queue_key_without_a_source_condition() -> None:
    # EventBridge sends no aws:SourceAccount / aws:SourceArn when it delivers to an encrypted queue: with
    # one in the key policy, the Fargate STOPPED events reached neither the queue nor the DLQ. The queue
    # policies (aws:SourceArn = the rule) are what limit EventBridge to this stack.
    document = load("modules/kms").data("aws_iam_policy_document")["key"]
    by_sid = {s["sid"]: s for s in statements(document)}
    eventbridge = by_sid["EventBridgeToEncryptedQueues"]
    assert block(eventbridge, "principals") == {"type": "Service", "identifiers": ["events.amazonaws.com"]}
    assert sorted(eventbridge["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "condition" not in eventbridge
    # and no other statement names events.amazonaws.com (with a condition it would only mislead)
    named = [sid for sid, st in by_sid.items() if "events.amazonaws.com" in str(st.get("principals"))]
    assert named == ["EventBridgeToEncryptedQueues"]


def test_eventbridge_rule_deliveries_are_alarmed() -> None:
    monitoring = load("modules/monitoring")
    (alarm,) = monitoring.resources("aws_cloudwatch_metric_alarm").values()
    assert alarm["for_each"] == "${local.all_alarms}"
    assert monitoring.locals["all_alarms"] == (
        "${merge(local.alarms, local.event_rule_alarms, local.freshness_alarms, local.extraction_alarms)}"
    )
    expr = re.sub(r"\s+", " ", monitoring.locals["event_rule_alarms"])
    settings = (
        'statistic = "Sum", period = 300, evaluation_periods = 1, datapoints_to_alarm = 1, '
        'comparison_operator = "GreaterThanThreshold", threshold = 0, treat_missing_data = "notBreaching"'
    )
    for part in (
        "for rule in var.event_rule_names",
        'namespace = "AWS/Events", metric_name = "FailedInvocations", dimensions = {RuleName = rule}, ' + settings,
        'namespace = "AWS/Events", metric_name = "InvocationsFailedToBeSentToDlq", dimensions = {RuleName = rule}, '
        + settings,
    ):
        assert part in expr, part
    assert call_argument("monitoring", "event_rule_names") == ["${module.fargate.task_stopped_rule_name}"]
    output = load("modules/fargate").named("output")["task_stopped_rule_name"]
    assert output["value"] == "${aws_cloudwatch_event_rule.task_stopped.name}"


def test_every_role_policy_comes_from_a_policy_document() -> None:
    for type_name in (
        "aws_iam_role_policy",
        "aws_iam_policy",
        "aws_s3_bucket_policy",
        "aws_sqs_queue_policy",
        "aws_sns_topic_policy",
    ):
        for module, _name, body in modules_with(type_name):
            document_of(module, body["policy"])  # asserts the reference form
    for module, name, role in modules_with("aws_iam_role"):
        document = document_of(module, role["assume_role_policy"])
        principals = [p for s in statements(document) for p in as_list(s.get("principals"))]
        assert principals and all(p["identifiers"] != ["*"] for p in principals), f"{module.name}: {name}"


def test_github_oidc_trust_is_this_repositorys_production_environment_only() -> None:
    oidc = load("modules/github_oidc")
    trust = oidc.data("aws_iam_policy_document")["trust"]
    (st,) = statements(trust)
    assert st["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    assert block(st, "principals")["type"] == "Federated"
    conditions = {c["variable"]: c for c in as_list(st["condition"])}
    aud = conditions["${local.oidc_host}:aud"]
    assert (aud["test"], aud["values"]) == ("StringEquals", ["sts.amazonaws.com"])
    sub = conditions["${local.oidc_host}:sub"]
    assert sub["test"] == "StringEquals", "a StringLike subject would admit other branches"
    assert sub["values"] == "${local.subjects}"
    assert oidc.locals["oidc_host"] == "token.actions.githubusercontent.com"
    subjects = oidc.locals["subjects"]
    # Not ref:refs/heads/main too: a job on main without the environment would skip its reviewers.
    assert subjects == ["repo:${var.github_repository}:environment:production"]
    deploy = yaml.safe_load((INFRA.parent / ".github/workflows/deploy.yml").read_text(encoding="utf-8"))
    assuming = [name for name, job in deploy["jobs"].items() if "AWS_DEPLOY_ROLE_ARN" in str(job)]
    assert assuming == ["deploy"]
    assert deploy["jobs"]["deploy"]["environment"]["name"] == "production"
    assert call_argument("github_oidc", "github_repository") == "${var.github_repository}"


def test_the_github_oidc_provider_is_made_once_per_account_by_the_bootstrap() -> None:
    # An account holds one provider per URL. Both env files created it, so with dev and prod in one account
    # the second apply failed (EntityAlreadyExists). The bootstrap (once per account) creates it; every
    # stack reads it.
    creating = [
        (module.name, name)
        for module in all_modules()
        for name in module.resources("aws_iam_openid_connect_provider")
    ]
    assert creating == [("bootstrap", "github")]
    provider = load("bootstrap").resources("aws_iam_openid_connect_provider")["github"]
    assert provider["count"] == "${var.create_github_oidc_provider ? 1 : 0}"
    assert provider["url"] == "https://token.actions.githubusercontent.com"
    assert provider["client_id_list"] == ["sts.amazonaws.com"]
    assert load("bootstrap").named("variable")["create_github_oidc_provider"]["default"] is True
    oidc = load("modules/github_oidc")
    lookup = oidc.data("aws_iam_openid_connect_provider")["github"]
    assert lookup == {"url": "https://${local.oidc_host}"}
    assert oidc.locals["provider_arn"] == "${data.aws_iam_openid_connect_provider.github.arn}"
    for document in ("trust", "plan_trust"):
        (st,) = statements(oidc.data("aws_iam_policy_document")[document])
        assert block(st, "principals")["identifiers"] == ["${local.provider_arn}"]
    variables = set(root().named("variable"))
    assert not {"create_github_oidc_provider", "github_oidc_provider_arn"} & variables
    for env in ENVS:
        assert not {"create_github_oidc_provider", "github_oidc_provider_arn"} & set(tfvars(env))


def test_deploy_role_is_scoped_to_image_function_state() -> None:
    document = load("modules/github_oidc").data("aws_iam_policy_document")["deploy"]
    by_sid = {s["sid"]: s for s in statements(document)}
    assert by_sid["PushEtlImage"]["resources"] == ["${var.ecr_repository_arn}"]
    assert by_sid["UpdateEtlFunction"]["resources"] == ["${var.lambda_function_arn}"]
    # IAM authorises registering and describing task definitions on "*" only; tagging by ARN. Nothing may
    # deregister: the task definition keeps its old revisions (skip_destroy).
    roll = by_sid["RegisterFargateTaskDefinitionRevisions"]
    assert (roll["actions"], roll["resources"]) == (
        ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
        ["*"],
    )
    actions = {a for st in statements(document) for a in as_list(st["actions"])}
    assert "ecs:DeregisterTaskDefinition" not in actions
    assert by_sid["TagFargateTaskDefinition"]["actions"] == ["ecs:TagResource"]
    assert by_sid["TagFargateTaskDefinition"]["resources"][0].endswith(":task-definition/${var.fargate_task_family}:*")
    assert not any("ecs:RunTask" in as_list(st["actions"]) for st in statements(document))
    state = by_sid["ReadWriteTerraformStateAndLock"]["resources"]
    assert state == ["arn:${var.partition}:s3:::${var.state_bucket_name}/${var.state_key_prefix}*"]
    assert call_argument("github_oidc", "ecr_repository_arn") == "${module.ecr.repository_arn}"
    assert call_argument("github_oidc", "lambda_function_arn") == "${module.lambda.function_arn}"
    assert not any(s.startswith("iam:Create") for st in statements(document) for s in as_list(st["actions"]))
    # Reads everything for `terraform plan`; changes only what a push changes (deploy.yml checks the plan).
    oidc = load("modules/github_oidc")
    attachments = oidc.resources("aws_iam_role_policy_attachment")
    assert attachments["deploy_read_only"]["role"] == "${aws_iam_role.deploy.name}"
    assert attachments["deploy_read_only"]["policy_arn"] == "${local.read_only_policy_arn}"
    assert oidc.locals["read_only_policy_arn"] == "arn:${var.partition}:iam::aws:policy/ReadOnlyAccess"
    assert tfvars("prod")["deploy_role_policy_arns"] == [], "ReadOnlyAccess is built in; extras widen apply"


def test_deploy_role_may_update_a_function_whose_environment_uses_the_stack_key() -> None:
    # UpdateFunctionConfiguration with a customer managed KMSKeyArn: Lambda needs the caller's kms:Encrypt
    # and kms:CreateGrant on that key (Lambda developer guide, "Securing environment variables"); every
    # deploy changes the environment (ETL_FARGATE_TASK_DEFINITION), so without them every deploy failed.
    document = load("modules/github_oidc").data("aws_iam_policy_document")["deploy"]
    by_sid = {s["sid"]: s for s in statements(document)}
    assert (by_sid["EncryptFunctionEnvironment"]["actions"], by_sid["EncryptFunctionEnvironment"]["resources"]) == (
        ["kms:Encrypt"],
        ["${var.kms_key_arn}"],
    )
    grant = by_sid["LetLambdaGrantItselfTheKey"]
    assert (grant["actions"], grant["resources"]) == (["kms:CreateGrant"], ["${var.kms_key_arn}"])
    condition = block(grant, "condition")
    assert (condition["test"], condition["variable"], condition["values"]) == (
        "Bool",
        "kms:GrantIsForAWSResource",
        ["true"],
    )
    assert sorted(by_sid["EncryptImageLayers"]["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert call_argument("github_oidc", "kms_key_arn") == call_argument("lambda", "kms_key_arn") == "${module.kms.key_arn}"
    assert load("modules/lambda").resources("aws_lambda_function")["this"]["kms_key_arn"] == "${var.kms_key_arn}"


def test_a_deploy_adds_a_task_definition_revision_and_keeps_the_one_the_function_still_names() -> None:
    # The function's environment names the revision (the ARN with :N). Replaced destroy-first, the old
    # revision was deregistered while the function still handed files to it. skip_destroy keeps it.
    (task,) = load("modules/fargate").resources("aws_ecs_task_definition").values()
    assert task["skip_destroy"] is True
    assert "create_before_destroy" not in str(task.get("lifecycle", ""))
    assert load("modules/fargate").named("output")["task_definition_arn"]["value"] == (
        "${aws_ecs_task_definition.this.arn}"
    )
    assert "ETL_FARGATE_TASK_DEFINITION = module.fargate.task_definition_arn" in root().locals["lambda_environment"]


def test_neither_ci_role_may_read_customer_data_whatever_read_only_access_allows() -> None:
    oidc = load("modules/github_oidc")
    policies = oidc.resources("aws_iam_role_policy")
    for resource, role in (("deploy_no_customer_data", "deploy"), ("plan_no_customer_data", "plan")):
        assert policies[resource]["role"] == f"${{aws_iam_role.{role}.id}}"
        assert policies[resource]["policy"] == "${data.aws_iam_policy_document.no_customer_data.json}"
    by_sid = {s["sid"]: s for s in statements(oidc.data("aws_iam_policy_document")["no_customer_data"])}
    objects = by_sid["DenyReadingRawAndLakeObjects"]
    assert objects["effect"] == "Deny" and "s3:GetObject" in objects["actions"]
    assert objects["resources"] == ["${var.raw_bucket_arn}/*", "${var.lake_bucket_arn}/*"]
    logs = by_sid["DenyReadingEtlLogEvents"]
    assert logs["effect"] == "Deny" and {"logs:GetLogEvents", "logs:FilterLogEvents"} <= set(logs["actions"])
    assert logs["resources"] == "${local.data_log_group_arns}"
    assert call_argument("github_oidc", "lake_bucket_arn") == "${module.lake_bucket.arn}"
    assert call_argument("github_oidc", "data_log_group_names") == (
        "${concat([module.lambda.log_group_name, module.fargate.log_group_name], module.redshift.log_group_names)}"
    )
    # the smoke test only writes to raw and reads the ledger through the Redshift Data API
    deploy = {s["sid"]: s for s in statements(oidc.data("aws_iam_policy_document")["deploy"])}
    assert not any("s3:GetObject" in as_list(st["actions"]) and "raw_bucket" in str(st["resources"]) for st in deploy.values())


def _dynamic_statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for dynamic in as_list(document.get("dynamic")):
        for body in as_list(dynamic.get("statement")):
            content = body["content"]
            content = content[0] if isinstance(content, list) else content
            found[content["sid"]] = {**content, "for_each": body["for_each"]}
    return found


def test_deploy_role_may_deploy_only_the_quicksight_dashboard_when_enabled() -> None:
    oidc = load("modules/github_oidc")
    by_sid = _dynamic_statements(oidc.data("aws_iam_policy_document")["deploy"])
    dashboard = by_sid["DeployQuickSightDashboard"]
    assert dashboard["for_each"] == "${var.quicksight_enabled ? [local.quicksight_dashboard] : []}"
    assert sorted(dashboard["actions"]) == [
        "quicksight:CreateDashboard",
        "quicksight:DescribeDashboard",
        "quicksight:UpdateDashboard",
        "quicksight:UpdateDashboardPermissions",
        "quicksight:UpdateDashboardPublishedVersion",
    ]
    assert dashboard["resources"] == ["${statement.value}"]
    assert (
        oidc.locals["quicksight_dashboard"]
        == "${local.quicksight_account}:dashboard/${var.quicksight_dashboard_id}"
    )
    assert (
        oidc.locals["quicksight_account"] == "arn:${var.partition}:quicksight:${var.region}:${var.account_id}"
    )
    passing = by_sid["PassQuickSightDataSets"]
    assert passing["for_each"] == "${var.quicksight_enabled ? [true] : []}"
    assert passing["actions"] == ["quicksight:PassDataSet"]
    assert passing["resources"] == "${var.quicksight_data_set_arns}"
    assert call_argument("github_oidc", "quicksight_enabled") == "${var.quicksight_enabled}"
    assert call_argument("github_oidc", "quicksight_dashboard_id") == "${local.quicksight_dashboard_id}"
    assert call_argument("github_oidc", "quicksight_data_set_arns") == (
        "${var.quicksight_enabled ? values(module.quicksight[0].data_set_arns) : []}"
    )
    assert root().named("output")["quicksight_dashboard_id"]["value"] == "${local.quicksight_dashboard_id}"


def test_plan_role_is_read_only_and_for_this_repositorys_reviewed_plan_runs() -> None:
    oidc = load("modules/github_oidc")
    trust = oidc.data("aws_iam_policy_document")["plan_trust"]
    (st,) = statements(trust)
    assert st["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    assert block(st, "principals") == {"type": "Federated", "identifiers": ["${local.provider_arn}"]}
    conditions = {c["variable"]: c for c in as_list(st["condition"])}
    assert conditions["${local.oidc_host}:aud"]["values"] == ["sts.amazonaws.com"]
    sub = conditions["${local.oidc_host}:sub"]
    assert (sub["test"], sub["values"]) == ("StringEquals", "${local.plan_subjects}")
    # Not repo:...:pull_request: any same-repository branch's HCL ran with these credentials unreviewed.
    assert oidc.locals["plan_subjects"] == ["repo:${var.github_repository}:environment:${var.plan_environment}"]
    assert oidc.named("variable")["plan_environment"]["default"] == "terraform-plan"
    assert "pull_request" not in str(oidc.locals["subjects"]), (
        "pull requests must never reach the deploy role"
    )
    (role,) = [r for name, r in oidc.resources("aws_iam_role").items() if name == "plan"]
    assert role["assume_role_policy"] == "${data.aws_iam_policy_document.plan_trust.json}"
    attachment = oidc.resources("aws_iam_role_policy_attachment")["plan_read_only"]
    assert attachment == {"role": "${aws_iam_role.plan.name}", "policy_arn": "${local.read_only_policy_arn}"}
    document = oidc.data("aws_iam_policy_document")["plan"]
    actions = {a for st in statements(document) for a in as_list(st["actions"])}
    actions |= {a for st in _dynamic_statements(document).values() for a in as_list(st["actions"])}
    assert actions == {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"}
    by_sid = {s["sid"]: s for s in statements(document)}
    assert by_sid["ReadTerraformState"]["resources"] == ["${local.state_objects_arn}"]
    assert (
        oidc.locals["state_objects_arn"]
        == "arn:${var.partition}:s3:::${var.state_bucket_name}/${var.state_key_prefix}*"
    )
    assert root().named("output")["plan_role_arn"]["value"] == "${module.github_oidc.plan_role_arn}"


def test_plan_role_reads_no_data_whatever_read_only_access_allows() -> None:
    # A pull request's HCL runs with the plan role's credentials: ReadOnlyAccess would let it read every
    # object, secret value, parameter, log event, queue message and table item of the account.
    oidc = load("modules/github_oidc")
    policy = oidc.resources("aws_iam_role_policy")["plan_reads_no_data"]
    assert policy["role"] == "${aws_iam_role.plan.id}"
    assert policy["policy"] == "${data.aws_iam_policy_document.plan_reads_no_data.json}"
    by_sid = {s["sid"]: s for s in statements(oidc.data("aws_iam_policy_document")["plan_reads_no_data"])}
    assert {st["effect"] for st in by_sid.values()} == {"Deny"}
    objects = by_sid["DenyObjectReadsButTheState"]
    assert objects["actions"] == ["s3:GetObject", "s3:GetObjectAttributes", "s3:GetObjectVersion"]
    assert objects["not_resources"] == ["${local.state_objects_arn}"]
    data = by_sid["DenyDataPlaneReads"]
    assert data["resources"] == ["*"]
    assert set(data["actions"]) == {
        "athena:GetQueryResults",
        "dynamodb:BatchGetItem",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "kinesis:GetRecords",
        "logs:FilterLogEvents",
        "logs:GetLogEvents",
        "logs:GetQueryResults",
        "logs:StartLiveTail",
        "logs:StartQuery",
        "redshift-data:GetStatementResult",
        "secretsmanager:GetSecretValue",
        "sqs:ReceiveMessage",
        "ssm:GetParameter",
        "ssm:GetParameterHistory",
        "ssm:GetParameters",
        "ssm:GetParametersByPath",
    }
    # what the plan itself reads stays allowed: the state object (and ListBucket under the prefix)
    allowed = {s["sid"]: s for s in statements(oidc.data("aws_iam_policy_document")["plan"])}
    assert allowed["ReadTerraformState"]["resources"] == ["${local.state_objects_arn}"]


# ------------------------------------------------------------------------------------------------
# Network
# ------------------------------------------------------------------------------------------------
def test_no_security_group_admits_the_internet() -> None:
    for _module, name, sg in modules_with("aws_security_group"):
        for rule in as_list(sg.get("ingress")) + as_list(sg.get("egress")):
            assert not OPEN_CIDRS & set(
                as_list(rule.get("cidr_blocks")) + as_list(rule.get("ipv6_cidr_blocks"))
            ), name
    for _module, name, rule in modules_with("aws_security_group_rule"):
        assert not OPEN_CIDRS & set(
            as_list(rule.get("cidr_blocks")) + as_list(rule.get("ipv6_cidr_blocks"))
        ), name
    ingress = modules_with("aws_vpc_security_group_ingress_rule")
    egress = modules_with("aws_vpc_security_group_egress_rule")
    assert ingress and egress
    for module, name, rule in ingress + egress:
        assert rule.get("cidr_ipv4") not in OPEN_CIDRS and rule.get("cidr_ipv6") not in OPEN_CIDRS, (
            f"{module.name}: {name}"
        )
        assert rule.get("description"), name
    for _module, name, rule in ingress:
        sources = [k for k in ("cidr_ipv4", "referenced_security_group_id", "prefix_list_id") if k in rule]
        assert len(sources) == 1, f"{name}: exactly one source"
        if "cidr_ipv4" in rule:
            assert rule["cidr_ipv4"] == "${aws_vpc.this.cidr_block}", f"{name}: only the VPC CIDR"


def test_security_groups_are_wired_to_their_workloads() -> None:
    assert call_argument("lambda", "security_group_ids") == ["${module.network.workload_security_group_id}"]
    assert call_argument("redshift", "security_group_ids") == ["${module.network.redshift_security_group_id}"]
    assert call_argument("quicksight", "security_group_ids") == [
        "${module.network.quicksight_security_group_id}"
    ]
    assert (
        "ETL_FARGATE_SECURITY_GROUPS = module.network.workload_security_group_id"
        in root().locals["lambda_environment"]
    )


def test_private_network_needs_no_nat() -> None:
    for type_name in (
        "aws_nat_gateway",
        "aws_internet_gateway",
        "aws_eip",
        "aws_egress_only_internet_gateway",
    ):
        assert not modules_with(type_name), type_name
    network = load("modules/network")
    (subnets,) = network.resources("aws_subnet").values()
    assert subnets["map_public_ip_on_launch"] is False
    endpoints_by_name = network.resources("aws_vpc_endpoint")
    assert endpoints_by_name["s3"]["vpc_endpoint_type"] == "Gateway"
    assert endpoints_by_name["s3"]["route_table_ids"] == ["${aws_route_table.private.id}"]
    assert endpoints_by_name["interface"]["vpc_endpoint_type"] == "Interface"
    assert endpoints_by_name["interface"]["private_dns_enabled"] is True
    endpoints = set(root().locals["interface_endpoints"])
    assert {"secretsmanager", "sts", "glue", "sns", "ecr.api", "ecr.dkr", "logs", "ecs"} <= endpoints
    azs = root().named("variable")["availability_zones"]["validation"]
    assert "length(var.availability_zones) == 3" in as_list(azs)[0]["condition"]
    assert network.named("variable")["availability_zones"]["validation"]


# ------------------------------------------------------------------------------------------------
# Logs, alarms, image, catalog, BI
# ------------------------------------------------------------------------------------------------
def test_every_log_group_has_retention_and_kms() -> None:
    groups = modules_with("aws_cloudwatch_log_group")
    assert len(groups) >= 3
    for module, name, group in groups:
        assert group.get("retention_in_days") == "${var.log_retention_days}", f"{module.name}: {name}"
        assert group.get("kms_key_id") == "${var.kms_key_arn}", f"{module.name}: {name}"
    for call in ("lambda", "fargate", "network", "redshift"):
        assert call_argument(call, "log_retention_days") == "${var.log_retention_days}"


def test_alarms_cover_errors_throttles_duration_dlq_and_age() -> None:
    alarms = load("modules/monitoring").locals["alarms"]
    metrics = {(a["namespace"], a["metric_name"]) for a in alarms.values()}
    assert metrics == {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "Duration"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("${var.metrics_namespace}", "DataTestFailures"),
    }
    (alarm,) = load("modules/monitoring").resources("aws_cloudwatch_metric_alarm").values()
    assert alarm["for_each"] == "${local.all_alarms}"
    for argument in (
        "period",
        "evaluation_periods",
        "datapoints_to_alarm",
        "threshold",
        "comparison_operator",
        "treat_missing_data",
    ):
        assert alarm[argument] == f"${{each.value.{argument}}}", argument
    assert alarm["alarm_actions"] == alarm["ok_actions"] == "${local.alarm_actions}"
    assert load("modules/monitoring").locals["alarm_actions"] == ["${aws_sns_topic.this.arn}"]
    (topic,) = load("modules/monitoring").resources("aws_sns_topic").values()
    assert topic["kms_master_key_id"] == "${var.kms_key_arn}"
    (policy,) = load("modules/monitoring").resources("aws_sns_topic_policy").values()
    assert denies_insecure_transport(document_of(load("modules/monitoring"), policy["policy"]), "sns:Publish")


def test_missing_data_is_chosen_per_alarm() -> None:
    # Every alarm used to treat missing data as healthy, so a pipeline that received nothing for a week never
    # alarmed. Each alarm now says what silence means for its metric.
    alarms = load("modules/monitoring").locals["alarms"]
    chosen = {name: (a["treat_missing_data"], a["comparison_operator"]) for name, a in alarms.items()}
    assert chosen == {
        # published only for invocations / active queues / runs: no data means nothing happened
        "lambda_errors": ("notBreaching", "GreaterThanThreshold"),
        "lambda_throttles": ("notBreaching", "GreaterThanThreshold"),
        "lambda_duration": ("notBreaching", "GreaterThanThreshold"),
        "dlq_depth": ("notBreaching", "GreaterThanThreshold"),
        "queue_age": ("notBreaching", "GreaterThanThreshold"),
        "data_test_failures": ("notBreaching", "GreaterThanThreshold"),
    }
    freshness = re.sub(r"\s+", " ", load("modules/monitoring").locals["freshness_alarms"])
    assert 'treat_missing_data = "breaching"' in freshness and "notBreaching" not in freshness


def test_data_test_failures_alarm_on_the_etl_metric() -> None:
    alarm = load("modules/monitoring").locals["alarms"]["data_test_failures"]
    assert (alarm["namespace"], alarm["metric_name"], alarm["dimensions"]) == (
        "${var.metrics_namespace}",
        "DataTestFailures",
        {"service": "${var.service_name}"},
    )
    assert (alarm["statistic"], alarm["threshold"], alarm["period"]) == ("Sum", 0, 300)
    # the same namespace and service the function and the task emit with
    assert call_argument("monitoring", "metrics_namespace") == "${local.metrics_namespace}"
    assert call_argument("monitoring", "service_name") == "${local.service_name}"
    from etl.aws.log import SERVICE

    assert root().locals["service_name"] == SERVICE
    assert root().locals["metrics_namespace"] == "CreditRiskETL"


@pytest.mark.parametrize("env", [None, *ENVS], ids=["defaults", *ENVS])
def test_freshness_alarm_per_source(env: str | None) -> None:
    # No file of a source loaded for N hours: hourly Sum of FilesLoaded{service, source} < 1 in all N
    # periods, missing data breaching. The handler must emit FilesLoaded with the source dimension.
    from etl.contracts import SOURCES

    expr = re.sub(r"\s+", " ", load("modules/monitoring").locals["freshness_alarms"])
    for part in (
        'for source, hours in var.source_freshness_hours : "freshness_${source}" =>',
        'namespace = var.metrics_namespace, metric_name = "FilesLoaded", '
        "dimensions = {service = var.service_name, source = source}, "
        'statistic = "Sum", period = 3600, evaluation_periods = hours, datapoints_to_alarm = hours, '
        'comparison_operator = "LessThanThreshold", threshold = 1, treat_missing_data = "breaching"',
    ):
        assert part in expr, part
    assert call_argument("monitoring", "source_freshness_hours") == "${var.freshness_alarm_hours}"
    hours = Scope.root(env).var("freshness_alarm_hours")
    if env == "dev":
        assert hours == {}, "dev uploads are occasional"
    else:
        assert hours == dict.fromkeys(SOURCES, 48)
    # CloudWatch evaluates at most 7 days (period x evaluation periods <= 604800 s)
    assert all(1 <= h <= 168 and 3600 * h <= 604800 for h in hours.values())
    conditions = _conditions("freshness_alarm_hours")
    allowed = re.search(r"contains\(\[([^\]]*)\], source\)", conditions[0])
    assert allowed is not None
    assert re.findall(r'"([a-z_]+)"', allowed.group(1)) == list(SOURCES), "the ETL's source registry"
    assert "hours >= 1 && hours <= 168 && floor(hours) == hours" in conditions[1]


def test_slack_gets_the_topic_through_aws_chatbot_not_through_the_internet() -> None:
    # The function has no route to hooks.slack.com (no NAT, endpoint-only security groups): every run with a
    # webhook waited 5 s and warned. Slack now reads the SNS topic through AWS Chatbot, opt-in.
    monitoring = load("modules/monitoring")
    assert monitoring.locals["chatbot_enabled"] == (
        "${var.slack_workspace_id != null && var.slack_channel_id != null}"
    )
    (channel,) = monitoring.resources("aws_chatbot_slack_channel_configuration").values()
    assert channel["count"] == "${local.chatbot_enabled ? 1 : 0}"
    assert channel["sns_topic_arns"] == ["${aws_sns_topic.this.arn}"]
    assert (channel["slack_team_id"], channel["slack_channel_id"]) == (
        "${var.slack_workspace_id}",
        "${var.slack_channel_id}",
    )
    # without guardrails AWS Chatbot applies AdministratorAccess to what the channel can run
    assert channel["guardrail_policy_arns"] == ["${aws_iam_policy.chatbot[0].arn}"]
    assert channel["iam_role_arn"] == "${aws_iam_role.chatbot[0].arn}"
    document = monitoring.data("aws_iam_policy_document")["chatbot"]
    actions = {a for st in statements(document) for a in as_list(st["actions"])}
    assert actions == {
        "cloudwatch:DescribeAlarmHistory",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:DescribeAlarmsForMetric",
        "cloudwatch:GetMetricData",
        "cloudwatch:GetMetricStatistics",
        "cloudwatch:GetMetricWidgetImage",
        "cloudwatch:ListMetrics",
    }, "metrics and alarms only: no log events (they quote customer data)"
    (trust,) = statements(monitoring.data("aws_iam_policy_document")["chatbot_assume"])
    assert block(trust, "principals") == {"type": "Service", "identifiers": ["chatbot.amazonaws.com"]}
    (attachment,) = monitoring.resources("aws_iam_role_policy_attachment").values()
    assert attachment["policy_arn"] == "${aws_iam_policy.chatbot[0].arn}"
    assert call_argument("monitoring", "slack_workspace_id") == "${var.slack_workspace_id}"
    assert call_argument("monitoring", "slack_channel_id") == "${var.slack_channel_id}"
    variables = root().named("variable")
    assert "slack_webhook_secret_arn" not in variables
    both = [v["condition"] for v in as_list(variables["slack_channel_id"]["validation"])]
    assert "${(var.slack_channel_id == null) == (var.slack_workspace_id == null)}" in both
    # and no secret of a webhook is readable any more
    data_access = load("modules/etl_iam").data("aws_iam_policy_document")["data_access"]
    secrets = [st for st in statements(data_access) if "secretsmanager:GetSecretValue" in st["actions"]]
    assert [st["resources"] for st in secrets] == [["${var.redshift_secret_arn}"]]


def test_ecr_repository_is_immutable_scanned_and_kms_encrypted() -> None:
    (repo,) = load("modules/ecr").resources("aws_ecr_repository").values()
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert block(repo, "image_scanning_configuration")["scan_on_push"] is True
    assert block(repo, "encryption_configuration") == {
        "encryption_type": "KMS",
        "kms_key": "${var.kms_key_arn}",
    }


def test_glue_database_points_at_the_curated_lake() -> None:
    assert call_argument("catalog", "location_uri") == "s3://${module.lake_bucket.id}/lake/curated/"


def test_quicksight_is_gated_and_covers_every_mart_view() -> None:
    call = root().named("module")["quicksight"]
    assert call["count"] == "${var.quicksight_enabled ? 1 : 0}"
    assert call["mart_schema"] == "public"
    assert call["redshift_secret_arn"] == "${module.redshift.admin_secret_arn}"
    assert set(root().locals["mart_columns"]) == MART_VIEWS
    quicksight = load("modules/quicksight")
    (source,) = quicksight.resources("aws_quicksight_data_source").values()
    assert block(source, "credentials") == {"secret_arn": "${var.redshift_secret_arn}"}
    assert block(source, "ssl_properties") == {"disable_ssl": False}
    assert "vpc_connection_properties" in source


# ------------------------------------------------------------------------------------------------
# Hygiene
# ------------------------------------------------------------------------------------------------
def test_every_checkov_skip_names_a_check_and_a_reason() -> None:
    skips = 0
    for path in tf_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if "checkov:skip" in line:
                skips += 1
                match = re.search(r"#checkov:skip=(CKV2?_AWS_\d+):(.+)$", line.strip())
                assert match, f"{path}: malformed skip {line.strip()}"
                assert len(match.group(2).split()) >= 8, f"{path}: {match.group(1)} needs a real reason"
    assert skips, "expected the documented skips"


def test_readme_documents_every_variable_and_output() -> None:
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    for name in list(root().named("variable")) + list(root().named("output")):
        assert f"`{name}`" in readme, f"README.md does not mention {name}"
    for topic in (
        "bootstrap",
        "terraform init",
        "terraform plan",
        "terraform apply",
        "terraform destroy",
        "idle",
    ):
        assert topic in readme, topic
