data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# Pinned by name: the result never grows when AWS adds a zone, and a plan fails if a zone is missing.
data "aws_availability_zones" "selected" {
  state = "available"

  filter {
    name   = "zone-name"
    values = local.availability_zones
  }
}

locals {
  name = "${var.project}-${var.environment}"
  # This environment's Terraform state objects and lock files (the CI roles may use these only).
  state_key_prefix   = coalesce(var.terraform_state_key_prefix, "${var.project}/${var.environment}/")
  account_id         = data.aws_caller_identity.current.account_id
  availability_zones = coalesce(var.availability_zones, [for suffix in ["a", "b", "c"] : "${var.aws_region}${suffix}"])
  partition          = data.aws_partition.current.partition
  # The dashboard `etl quicksight --dashboard-id` creates after each deploy (output quicksight_dashboard_id).
  quicksight_dashboard_id = local.name

  default_tags = merge(var.tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
  })

  # Bucket names are global: account and region make them unique without a random suffix.
  raw_bucket_name  = "${local.name}-raw-${local.account_id}-${var.aws_region}"
  lake_bucket_name = "${local.name}-lake-${local.account_id}-${var.aws_region}"

  function_name = "${local.name}-etl"

  # The ETL's metrics (EMF through powertools): namespace and service dimension, shared by the function's
  # and the task's environment and by the alarms on those metrics.
  metrics_namespace = "CreditRiskETL"
  service_name      = "credit-risk-etl"
  queue_name        = "${local.name}-uploads"

  # AWS guidance for SQS-triggered functions: visibility timeout at least six times the function
  # timeout, so a message is not redelivered while a retried invocation still works on it.
  sqs_visibility_timeout_seconds = 6 * var.lambda_timeout_seconds

  # Interface endpoints the function and the Fargate task need with no NAT gateway.
  interface_endpoints = [
    "ecr.api",
    "ecr.dkr",
    "ecs",
    "glue",
    "logs",
    "secretsmanager",
    "sns",
    "sts",
  ]

  image_uri = "${module.ecr.repository_url}:${var.image_tag}"

  warehouse_url = format(
    "redshift://%s:%d/%s?secret_arn=%s&iam_role=%s&staging=s3://%s/staging/",
    module.redshift.endpoint_address,
    module.redshift.port,
    module.redshift.database_name,
    module.redshift.admin_secret_arn,
    module.redshift.copy_role_arn,
    module.lake_bucket.id,
  )

  # Settings shared by both entry points of the image; no secrets, only ARNs of secrets. No Slack webhook:
  # the VPC has no route to the internet, so a webhook call could only time out; Slack gets the SNS topic's
  # messages through AWS Chatbot (module monitoring, slack_workspace_id / slack_channel_id).
  etl_environment = {
    ETL_LAKE                     = "s3://${module.lake_bucket.id}/lake"
    ETL_WAREHOUSE_URL            = local.warehouse_url
    ETL_GLUE_DATABASE            = module.catalog.name
    ETL_SNS_TOPIC_ARN            = module.monitoring.topic_arn
    ETL_LOG_LEVEL                = var.log_level
    POWERTOOLS_SERVICE_NAME      = local.service_name
    POWERTOOLS_METRICS_NAMESPACE = local.metrics_namespace
    # The profile is read from S3 at each invocation: a new profile applies to the next file without a new
    # image or a deploy (aws s3 cp my-profile.toml s3://<raw bucket>/<profile_key>). Empty: no profile.
    ETL_PROFILE = var.profile_key == null ? "" : "s3://${module.raw_bucket.id}/${var.profile_key}"
    # Where `etl extract` writes on AWS (scheduled extraction): the raw bucket's incoming/, loaded like uploads.
    ETL_EXTRACT_OUT = "s3://${module.raw_bucket.id}/incoming"
  }

  # Scheduled extraction: the names the schedule module and the alarms share (no module depends on the other).
  extraction_name    = "${local.name}-extract"
  extraction_enabled = length(var.extractions) > 0

  lambda_environment = merge(local.etl_environment, {
    ETL_FARGATE_CLUSTER         = module.fargate.cluster_name
    ETL_FARGATE_TASK_DEFINITION = module.fargate.task_definition_arn
    ETL_FARGATE_CONTAINER       = module.fargate.container_name
    ETL_FARGATE_SUBNETS         = join(",", module.network.private_subnet_ids)
    ETL_FARGATE_SECURITY_GROUPS = module.network.workload_security_group_id
    ETL_FARGATE_MIN_BYTES       = tostring(var.fargate_min_bytes)
  })
}

module "kms" {
  source = "./modules/kms"

  alias       = local.name
  description = "Encrypts the ${local.name} buckets, queues, topic, logs, image, function environment and warehouse."
}

module "network" {
  source = "./modules/network"

  name                        = local.name
  cidr_block                  = var.vpc_cidr
  availability_zones          = sort(data.aws_availability_zones.selected.names)
  interface_endpoints         = local.interface_endpoints
  interface_endpoint_az_count = var.interface_endpoint_az_count
  kms_key_arn                 = module.kms.key_arn
  log_retention_days          = var.log_retention_days
}

# ---------------------------------------------------------------------------------------------
# Storage: raw uploads (incoming/<source>/...) and the lake (lake/curated/, lake/quarantine/, staging/)
# ---------------------------------------------------------------------------------------------
module "raw_bucket" {
  source = "./modules/s3_bucket"

  name                               = local.raw_bucket_name
  kms_key_arn                        = module.kms.key_arn
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days
}

module "lake_bucket" {
  source = "./modules/s3_bucket"

  name                               = local.lake_bucket_name
  kms_key_arn                        = module.kms.key_arn
  noncurrent_version_expiration_days = var.noncurrent_version_expiration_days

  expiration_rules = [
    { id = "redshift-copy-staging", prefix = "staging/", days = 1 },
    { id = "quarantine", prefix = "lake/quarantine/", days = var.quarantine_expiration_days },
  ]
}

module "catalog" {
  source = "./modules/catalog"

  name         = replace("${local.name}_lake", "-", "_")
  location_uri = "s3://${module.lake_bucket.id}/lake/curated/"
}

# ---------------------------------------------------------------------------------------------
# Trigger: S3 ObjectCreated under incoming/ -> SQS (+DLQ)
# ---------------------------------------------------------------------------------------------
module "ingest" {
  source = "./modules/ingest"

  name                       = local.queue_name
  bucket_id                  = module.raw_bucket.id
  bucket_arn                 = module.raw_bucket.arn
  account_id                 = local.account_id
  filter_prefix              = "incoming/" # no suffix filter: ".csv" would not match June.CSV; the function skips non-CSV keys
  visibility_timeout_seconds = local.sqs_visibility_timeout_seconds
  max_receive_count          = var.sqs_max_receive_count
  kms_key_arn                = module.kms.key_arn
  event_rule_arns            = [module.fargate.task_stopped_rule_arn]
}

module "ecr" {
  source = "./modules/ecr"

  name        = local.name
  kms_key_arn = module.kms.key_arn
}

module "monitoring" {
  source = "./modules/monitoring"

  name                        = "${local.name}-runs"
  account_id                  = local.account_id
  kms_key_arn                 = module.kms.key_arn
  alarm_email                 = var.alarm_email
  function_name               = local.function_name
  function_timeout_seconds    = var.lambda_timeout_seconds
  queue_name                  = module.ingest.queue_name
  dlq_name                    = module.ingest.dlq_name
  queue_age_threshold_seconds = var.queue_age_alarm_seconds
  event_rule_names            = [module.fargate.task_stopped_rule_name]
  slack_workspace_id          = var.slack_workspace_id
  slack_channel_id            = var.slack_channel_id
  metrics_namespace           = local.metrics_namespace
  service_name                = local.service_name
  alarm_name_prefix           = local.name
  source_freshness_hours      = var.freshness_alarm_hours
  extraction_schedule_group   = local.extraction_enabled ? local.extraction_name : null
  extraction_dlq_name         = local.extraction_enabled ? "${local.extraction_name}-dlq" : null
}

# ---------------------------------------------------------------------------------------------
# Warehouse
# ---------------------------------------------------------------------------------------------
module "redshift" {
  source = "./modules/redshift"

  name                      = local.name
  account_id                = local.account_id
  database_name             = var.redshift_database_name
  admin_username            = var.redshift_admin_username
  base_capacity             = var.redshift_base_capacity
  max_capacity              = var.redshift_max_capacity
  usage_limit_rpu_hours     = var.redshift_usage_limit_rpu_hours
  usage_limit_breach_action = var.redshift_usage_limit_breach_action
  subnet_ids                = module.network.private_subnet_ids
  security_group_ids        = [module.network.redshift_security_group_id]
  lake_bucket_arn           = module.lake_bucket.arn
  staging_prefix            = "staging/"
  kms_key_arn               = module.kms.key_arn
  log_retention_days        = var.log_retention_days
}

# ---------------------------------------------------------------------------------------------
# Compute: one image, two entry points (Lambda for most files, Fargate for very large ones)
# ---------------------------------------------------------------------------------------------
module "etl_iam" {
  source = "./modules/etl_iam"

  name                = local.name
  raw_bucket_arn      = module.raw_bucket.arn
  raw_prefix          = "incoming/"
  profile_key         = var.profile_key
  lake_bucket_arn     = module.lake_bucket.arn
  lake_prefixes       = ["lake/", "staging/"]
  kms_key_arn         = module.kms.key_arn
  redshift_secret_arn = module.redshift.admin_secret_arn
  glue_database_name  = module.catalog.name
  sns_topic_arn       = module.monitoring.topic_arn
}

module "fargate" {
  source = "./modules/fargate"

  name                   = "${local.name}-etl-large"
  account_id             = local.account_id
  image_uri              = local.image_uri
  ecr_repository_arn     = module.ecr.repository_arn
  cpu                    = var.fargate_cpu
  memory_mb              = var.fargate_memory_mb
  ephemeral_storage_gib  = var.fargate_ephemeral_storage_gib
  environment            = local.etl_environment
  data_access_policy_arn = module.etl_iam.data_access_policy_arn
  kms_key_arn            = module.kms.key_arn
  log_retention_days     = var.log_retention_days

  task_events_queue_arn       = module.ingest.queue_arn
  task_events_dead_letter_arn = module.ingest.dlq_arn
}

module "lambda" {
  source = "./modules/lambda"

  function_name          = local.function_name
  account_id             = local.account_id
  image_uri              = local.image_uri
  memory_mb              = var.lambda_memory_mb
  timeout_seconds        = var.lambda_timeout_seconds
  ephemeral_storage_mb   = var.lambda_ephemeral_storage_mb
  reserved_concurrency   = var.lambda_reserved_concurrency
  environment            = local.lambda_environment
  subnet_ids             = module.network.private_subnet_ids
  security_group_ids     = [module.network.workload_security_group_id]
  queue_arn              = module.ingest.queue_arn
  dlq_arn                = module.ingest.dlq_arn
  batch_size             = var.sqs_batch_size
  max_concurrency        = var.sqs_max_concurrency
  log_level              = var.log_level == "WARNING" ? "WARN" : var.log_level
  log_retention_days     = var.log_retention_days
  kms_key_arn            = module.kms.key_arn
  data_access_policy_arn = module.etl_iam.data_access_policy_arn
  fargate_cluster_arn    = module.fargate.cluster_arn
  fargate_cluster_name   = module.fargate.cluster_name
  fargate_task_family    = module.fargate.task_definition_family
  fargate_role_arns      = [module.fargate.task_role_arn, module.fargate.execution_role_arn]
}

# Scheduled extraction from the lender's database (etl extract): nothing without var.extractions.
module "extract_schedule" {
  source = "./modules/extract_schedule"
  count  = local.extraction_enabled ? 1 : 0

  name                               = local.extraction_name
  account_id                         = local.account_id
  extractions                        = var.extractions
  function_arn                       = module.lambda.function_arn
  cluster_arn                        = module.fargate.cluster_arn
  task_family                        = module.fargate.task_definition_family
  container_name                     = module.fargate.container_name
  fargate_role_arns                  = [module.fargate.task_role_arn, module.fargate.execution_role_arn]
  subnet_ids                         = module.network.private_subnet_ids
  security_group_ids                 = [module.network.workload_security_group_id]
  workload_security_group_id         = module.network.workload_security_group_id
  etl_role_names                     = [module.lambda.role_name, module.fargate.task_role_name]
  raw_bucket_arn                     = module.raw_bucket.arn
  raw_prefix                         = "incoming/"
  kms_key_arn                        = module.kms.key_arn
  source_database_security_group_id  = var.source_database_security_group_id
  source_database_port               = var.source_database_port
  source_database_ingress            = var.source_database_ingress
  source_database_secret_arn         = var.source_database_secret_arn
  source_database_secret_kms_key_arn = var.source_database_secret_kms_key_arn
  maximum_retry_attempts             = var.extraction_retry_attempts
}

# Lambda refuses a reservation that leaves less than 100 of the account's concurrency unreserved. New
# accounts often have a quota of 10 or 50: warn at plan time instead of failing half-way through apply.
# (Other functions' reservations count too; `aws lambda get-account-settings` shows what is left.)
check "lambda_reserved_concurrency_fits_the_account_quota" {
  data "aws_servicequotas_service_quota" "lambda_concurrent_executions" {
    service_code = "lambda"
    quota_code   = "L-B99A9384"
  }

  assert {
    condition     = var.lambda_reserved_concurrency == null ? true : data.aws_servicequotas_service_quota.lambda_concurrent_executions.value >= 100 + var.lambda_reserved_concurrency
    error_message = "lambda_reserved_concurrency needs an account concurrency quota of at least 100 + the reservation (Service Quotas, Lambda \"Concurrent executions\", L-B99A9384); request an increase or set it to null."
  }
}

# ---------------------------------------------------------------------------------------------
# CI/CD and BI
# ---------------------------------------------------------------------------------------------
module "github_oidc" {
  source = "./modules/github_oidc"

  role_name                = "${local.name}-github-deploy"
  github_repository        = var.github_repository
  partition                = local.partition
  ecr_repository_arn       = module.ecr.repository_arn
  kms_key_arn              = module.kms.key_arn
  lambda_function_arn      = module.lambda.function_arn
  state_bucket_name        = var.terraform_state_bucket
  state_key_prefix         = local.state_key_prefix
  state_kms_key_arn        = var.terraform_state_kms_key_arn
  region                   = var.aws_region
  account_id               = local.account_id
  fargate_task_family      = module.fargate.task_definition_family
  fargate_role_arns        = [module.fargate.task_role_arn, module.fargate.execution_role_arn]
  raw_bucket_arn           = module.raw_bucket.arn
  lake_bucket_arn          = module.lake_bucket.arn
  data_log_group_names     = concat([module.lambda.log_group_name, module.fargate.log_group_name], module.redshift.log_group_names)
  redshift_workgroup_arn   = module.redshift.workgroup_arn
  redshift_secret_arn      = module.redshift.admin_secret_arn
  extra_policy_arns        = var.deploy_role_policy_arns
  plan_role_name           = "${local.name}-github-plan"
  quicksight_enabled       = var.quicksight_enabled
  quicksight_dashboard_id  = local.quicksight_dashboard_id
  quicksight_data_set_arns = var.quicksight_enabled ? values(module.quicksight[0].data_set_arns) : []
}

module "quicksight" {
  source = "./modules/quicksight"
  count  = var.quicksight_enabled ? 1 : 0

  name                = local.name
  account_id          = local.account_id
  subnet_ids          = module.network.private_subnet_ids
  security_group_ids  = [module.network.quicksight_security_group_id]
  redshift_host       = module.redshift.endpoint_address
  redshift_port       = module.redshift.port
  redshift_database   = module.redshift.database_name
  redshift_secret_arn = module.redshift.admin_secret_arn
  principal_arn       = var.quicksight_principal_arn
  mart_schema         = "public"
  mart_columns        = local.mart_columns
  geographic_roles    = local.mart_geographic_roles
}
