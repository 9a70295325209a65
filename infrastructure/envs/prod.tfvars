# Production. Replace the placeholders marked CHANGE ME.
environment = "prod"
aws_region  = "eu-west-1"

image_tag         = "latest-prod"                      # CI passes -var image_tag=<git sha>
github_repository = "example-org/credit-risk-etl"      # CHANGE ME
alarm_email       = "data-platform-alerts@example.com" # CHANGE ME

terraform_state_bucket      = "credit-risk-etl-tfstate-123456789012-eu-west-1"                              # CHANGE ME (bootstrap output)
terraform_state_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000" # CHANGE ME (bootstrap output state_kms_key_arn)

lambda_memory_mb            = 4096
lambda_timeout_seconds      = 900
lambda_ephemeral_storage_mb = 4096
lambda_reserved_concurrency = null # a reservation needs an account concurrency quota >= 100 + it (docs/deployment.md)
sqs_max_concurrency         = 5
log_level                   = "INFO"
log_retention_days          = 365

fargate_cpu                   = 4096
fargate_memory_mb             = 16384
fargate_ephemeral_storage_gib = 100

vpc_cidr                    = "10.41.0.0/20"
interface_endpoint_az_count = 3

noncurrent_version_expiration_days = 90
quarantine_expiration_days         = 180

redshift_base_capacity             = 8
redshift_max_capacity              = 64
redshift_usage_limit_rpu_hours     = 300
redshift_usage_limit_breach_action = "deactivate"

quicksight_enabled       = false # set true once the account has a QuickSight subscription
quicksight_principal_arn = null  # e.g. arn:aws:quicksight:eu-west-1:123456789012:group/default/analysts

# The pipeline runs `terraform plan/apply -var image_tag=<sha>`: the deploy role reads the whole stack
# (ReadOnlyAccess, always attached) and may change what an image change modifies. Infrastructure changes
# are applied by an administrator; to let the pipeline apply them, attach a broader policy here.
deploy_role_policy_arns = []
