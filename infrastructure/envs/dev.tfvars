# Development: small, cheap, quick to tear down. Replace the placeholders marked CHANGE ME.
environment = "dev"
aws_region  = "eu-west-1"

image_tag         = "latest-dev"                  # CI passes -var image_tag=<git sha>
github_repository = "example-org/credit-risk-etl" # CHANGE ME

terraform_state_bucket      = "credit-risk-etl-tfstate-123456789012-eu-west-1"                              # CHANGE ME (bootstrap output)
terraform_state_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" # CHANGE ME (bootstrap output state_kms_key_arn)

lambda_memory_mb            = 2048
lambda_timeout_seconds      = 600
lambda_reserved_concurrency = null # a reservation needs an account concurrency quota >= 100 + it (docs/deployment.md)
sqs_max_concurrency         = 2
log_level                   = "DEBUG"
log_retention_days          = 30

fargate_cpu       = 2048
fargate_memory_mb = 8192

vpc_cidr                    = "10.40.0.0/20"
interface_endpoint_az_count = 1

noncurrent_version_expiration_days = 30
quarantine_expiration_days         = 30

redshift_base_capacity             = 8
redshift_max_capacity              = 8
redshift_usage_limit_rpu_hours     = 20
redshift_usage_limit_breach_action = "deactivate"

# Uploads to dev are occasional: no freshness alarms there.
freshness_alarm_hours = {}

quicksight_enabled = false
