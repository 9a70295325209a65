# ---------------------------------------------------------------------------------------------
# Identity of the deployment
# ---------------------------------------------------------------------------------------------
variable "project" {
  type        = string
  description = "Project name, the first part of every resource name."
  default     = "credit-risk-etl"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.project))
    error_message = "project must be 2-24 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  type        = string
  description = "Deployment environment: dev or prod."

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "aws_region" {
  type        = string
  description = "AWS region of every resource."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region code such as eu-west-1."
  }
}

variable "allowed_account_ids" {
  type        = list(string)
  description = "Accounts Terraform may deploy into (guards against applying with the wrong credentials); empty allows any."
  default     = []

  validation {
    condition     = alltrue([for id in var.allowed_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "allowed_account_ids must hold 12-digit account IDs."
  }
}

variable "tags" {
  type        = map(string)
  description = "Extra tags on every resource, next to Project, Environment and ManagedBy."
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Image and function
# ---------------------------------------------------------------------------------------------
variable "image_tag" {
  type        = string
  description = "Tag of the ETL image in the ECR repository (immutable tags: use the git SHA)."

  validation {
    condition     = length(trimspace(var.image_tag)) > 0 && can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a non-empty Docker tag (letters, digits, _ . -, at most 128 characters)."
  }
}

variable "lambda_memory_mb" {
  type        = number
  description = "Memory of the ETL function in MB; CPU scales with it (1769 MB = 1 vCPU)."
  default     = 3072

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240 && floor(var.lambda_memory_mb) == var.lambda_memory_mb
    error_message = "lambda_memory_mb must be a whole number between 128 and 10240."
  }
}

variable "lambda_timeout_seconds" {
  type        = number
  description = "Timeout of the ETL function in seconds; the queue's visibility timeout is six times this."
  default     = 900

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 1 and 900."
  }
}

variable "lambda_ephemeral_storage_mb" {
  type        = number
  description = "Size of the function's /tmp in MB."
  default     = 2048

  validation {
    condition     = var.lambda_ephemeral_storage_mb >= 512 && var.lambda_ephemeral_storage_mb <= 10240
    error_message = "lambda_ephemeral_storage_mb must be between 512 and 10240."
  }
}

variable "lambda_reserved_concurrency" {
  type        = number
  description = "Reserved concurrent executions of the ETL function, or null (the default) for none. Lambda keeps at least 100 of the account's concurrency unreserved, so a reservation needs an account concurrency quota of at least 100 + every reservation in the region (new accounts often have less: request Service Quotas L-B99A9384 first). The SQS event source's maximum concurrency (sqs_max_concurrency) caps the function either way."
  default     = null

  validation {
    condition     = var.lambda_reserved_concurrency == null ? true : (var.lambda_reserved_concurrency >= 2 && var.lambda_reserved_concurrency <= 1000 && floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency)
    error_message = "lambda_reserved_concurrency must be null (no reservation) or a whole number between 2 and 1000."
  }
}

variable "sqs_max_concurrency" {
  type        = number
  description = "Maximum concurrent invocations by the SQS event source mapping: what caps the warehouse connections the uploads open (at most lambda_reserved_concurrency when that is set)."
  default     = 5

  validation {
    condition     = var.sqs_max_concurrency >= 2 && var.sqs_max_concurrency <= 1000
    error_message = "sqs_max_concurrency must be between 2 and 1000."
  }

  validation {
    condition     = var.lambda_reserved_concurrency == null ? true : var.sqs_max_concurrency <= var.lambda_reserved_concurrency
    error_message = "sqs_max_concurrency must not exceed lambda_reserved_concurrency, or messages are throttled back to the queue."
  }
}

variable "sqs_batch_size" {
  type        = number
  description = "Upload notifications per invocation (each is a whole file)."
  default     = 1

  validation {
    condition     = var.sqs_batch_size >= 1 && var.sqs_batch_size <= 10
    error_message = "sqs_batch_size must be between 1 and 10."
  }
}

variable "sqs_max_receive_count" {
  type        = number
  description = "Attempts per upload notification before it moves to the dead-letter queue."
  default     = 3

  validation {
    condition     = var.sqs_max_receive_count >= 1 && var.sqs_max_receive_count <= 20
    error_message = "sqs_max_receive_count must be between 1 and 20."
  }
}

variable "profile_key" {
  type        = string
  description = "Key in the raw bucket of the ETL profile (ETL_PROFILE: how your files' headers, formats and narrations differ from the contracts), e.g. config/etl-profile.toml; null without one. Upload or change it with aws s3 cp; it applies from the next file."
  default     = null

  validation {
    condition     = var.profile_key == null || can(regex("^[A-Za-z0-9!_.*'()/-]+\\.toml$", var.profile_key)) && !startswith(coalesce(var.profile_key, "x"), "incoming/")
    error_message = "profile_key must be a .toml key outside incoming/ (an upload under incoming/ is taken for data), e.g. config/etl-profile.toml."
  }
}

variable "log_level" {
  type        = string
  description = "ETL_LOG_LEVEL of the function and the Fargate task."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of every log group (function, Fargate task, VPC flow logs, Redshift audit logs)."
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "slack_workspace_id" {
  type        = string
  description = "Optional Slack workspace (team) ID already authorised in the AWS Chatbot console; with slack_channel_id, run summaries and alarms reach that channel through AWS Chatbot, which reads the SNS topic (the VPC has no route to Slack)."
  default     = null

  validation {
    condition     = var.slack_workspace_id == null || can(regex("^T[A-Z0-9]{6,}$", var.slack_workspace_id))
    error_message = "slack_workspace_id must be a Slack workspace ID such as T01ABCDEF23, or null."
  }
}

variable "slack_channel_id" {
  type        = string
  description = "Optional Slack channel ID (Copy link in Slack: the last part) for run summaries and alarms; set with slack_workspace_id."
  default     = null

  validation {
    condition     = var.slack_channel_id == null || can(regex("^[CG][A-Z0-9]{6,}$", var.slack_channel_id))
    error_message = "slack_channel_id must be a Slack channel ID such as C01ABCDEF23, or null."
  }

  validation {
    condition     = (var.slack_channel_id == null) == (var.slack_workspace_id == null)
    error_message = "Set slack_workspace_id and slack_channel_id together (or neither)."
  }
}

# ---------------------------------------------------------------------------------------------
# Fargate scale-out path
# ---------------------------------------------------------------------------------------------
variable "fargate_cpu" {
  type        = number
  description = "CPU units of the Fargate task (4096 = 4 vCPU)."
  default     = 4096

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.fargate_cpu)
    error_message = "fargate_cpu must be a Fargate CPU size (256-16384)."
  }
}

variable "fargate_memory_mb" {
  type        = number
  description = "Memory of the Fargate task in MiB (must be valid for fargate_cpu)."
  default     = 16384

  # Fargate's CPU and memory combinations (Linux): a pair outside them passes plan and fails at apply.
  validation {
    condition = contains(lookup({
      "256"   = [512, 1024, 2048]
      "512"   = range(1024, 4097, 1024)
      "1024"  = range(2048, 8193, 1024)
      "2048"  = range(4096, 16385, 1024)
      "4096"  = range(8192, 30721, 1024)
      "8192"  = range(16384, 61441, 4096)
      "16384" = range(32768, 122881, 8192)
    }, tostring(var.fargate_cpu), []), var.fargate_memory_mb)
    error_message = "fargate_memory_mb is not a Fargate memory size for fargate_cpu: 256 CPU takes 512, 1024 or 2048 MiB; 512: 1024-4096; 1024: 2048-8192; 2048: 4096-16384; 4096: 8192-30720 (steps of 1024); 8192: 16384-61440 (steps of 4096); 16384: 32768-122880 (steps of 8192)."
  }
}

variable "fargate_ephemeral_storage_gib" {
  type        = number
  description = "Ephemeral storage of the Fargate task in GiB."
  default     = 50

  validation {
    condition     = var.fargate_ephemeral_storage_gib >= 21 && var.fargate_ephemeral_storage_gib <= 200
    error_message = "fargate_ephemeral_storage_gib must be between 21 and 200."
  }
}

variable "fargate_min_bytes" {
  type        = number
  description = "Uploads at least this large (bytes) are handed from the function to Fargate (ETL_FARGATE_MIN_BYTES)."
  default     = 1073741824

  validation {
    condition     = var.fargate_min_bytes >= 1048576
    error_message = "fargate_min_bytes must be at least 1 MiB."
  }
}

# ---------------------------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------------------------
variable "vpc_cidr" {
  type        = string
  description = "IPv4 CIDR of the VPC (/16 to /24); each private subnet is a /+4 slice."
  default     = "10.40.0.0/20"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "vpc_cidr must be an IPv4 CIDR between /16 and /24."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Three availability zone names of the private subnets; default <region>a, b and c."
  default     = null

  validation {
    condition     = var.availability_zones == null || try(length(var.availability_zones) == 3 && length(distinct(var.availability_zones)) == 3, false)
    error_message = "availability_zones must name three distinct zones (Redshift Serverless needs three)."
  }
}

variable "interface_endpoint_az_count" {
  type        = number
  description = "Availability zones that host the interface endpoints (each endpoint costs per AZ-hour)."
  default     = 3

  validation {
    condition     = var.interface_endpoint_az_count >= 1 && var.interface_endpoint_az_count <= 3
    error_message = "interface_endpoint_az_count must be 1, 2 or 3."
  }
}

# ---------------------------------------------------------------------------------------------
# Storage
# ---------------------------------------------------------------------------------------------
variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days a replaced or deleted object version is kept in the raw and lake buckets."
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650
    error_message = "noncurrent_version_expiration_days must be between 1 and 3650."
  }
}

variable "quarantine_expiration_days" {
  type        = number
  description = "Days quarantined rows (lake/quarantine/) are kept."
  default     = 180

  validation {
    condition     = var.quarantine_expiration_days >= 7
    error_message = "quarantine_expiration_days must be at least 7."
  }
}

# ---------------------------------------------------------------------------------------------
# Warehouse
# ---------------------------------------------------------------------------------------------
variable "redshift_database_name" {
  type        = string
  description = "Warehouse database in the Redshift Serverless namespace."
  default     = "credit_risk"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,63}$", var.redshift_database_name))
    error_message = "redshift_database_name must be a lowercase identifier."
  }
}

variable "redshift_admin_username" {
  type        = string
  description = "Admin user of the namespace; its password is generated and kept by Secrets Manager."
  default     = "etl_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,126}$", var.redshift_admin_username)) && var.redshift_admin_username != "admin"
    error_message = "redshift_admin_username must be a lowercase identifier other than admin."
  }
}

variable "redshift_base_capacity" {
  type        = number
  description = "Base RPUs of the workgroup (8-512 in steps of 8); billed only while queries run."
  default     = 8

  validation {
    condition     = var.redshift_base_capacity >= 8 && var.redshift_base_capacity <= 512 && var.redshift_base_capacity % 8 == 0
    error_message = "redshift_base_capacity must be 8-512 in steps of 8."
  }
}

variable "redshift_max_capacity" {
  type        = number
  description = "Maximum RPUs the workgroup may scale to (at least the base capacity)."
  default     = 32

  validation {
    condition     = var.redshift_max_capacity >= var.redshift_base_capacity && var.redshift_max_capacity <= 1024 && var.redshift_max_capacity % 8 == 0
    error_message = "redshift_max_capacity must be a multiple of 8, at least redshift_base_capacity and at most 1024."
  }
}

variable "redshift_usage_limit_rpu_hours" {
  type        = number
  description = "Cost guardrail: RPU-hours of compute per month before the breach action applies."
  default     = 100

  validation {
    condition     = var.redshift_usage_limit_rpu_hours >= 1 && floor(var.redshift_usage_limit_rpu_hours) == var.redshift_usage_limit_rpu_hours
    error_message = "redshift_usage_limit_rpu_hours must be a whole number of at least 1."
  }
}

variable "redshift_usage_limit_breach_action" {
  type        = string
  description = "What happens when the usage limit is reached: log, emit-metric or deactivate (stops queries until the next period)."
  default     = "deactivate"

  validation {
    condition     = contains(["log", "emit-metric", "deactivate"], var.redshift_usage_limit_breach_action)
    error_message = "redshift_usage_limit_breach_action must be log, emit-metric or deactivate."
  }
}

# ---------------------------------------------------------------------------------------------
# Alerts
# ---------------------------------------------------------------------------------------------
variable "alarm_email" {
  type        = string
  description = "Optional e-mail address subscribed to the run-summary and alarm topic."
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address or null."
  }
}

variable "freshness_alarm_hours" {
  type        = map(number)
  description = "Per source (loan_applications, bank_statements, repayments): hours without a loaded file before that source's freshness alarm fires (1-168); a source left out has no freshness alarm."
  default = {
    loan_applications = 48
    bank_statements   = 48
    repayments        = 48
  }

  validation {
    condition     = alltrue([for source in keys(var.freshness_alarm_hours) : contains(["loan_applications", "bank_statements", "repayments"], source)])
    error_message = "freshness_alarm_hours keys must be sources: loan_applications, bank_statements, repayments."
  }

  validation {
    condition     = alltrue([for hours in values(var.freshness_alarm_hours) : hours >= 1 && hours <= 168 && floor(hours) == hours])
    error_message = "freshness_alarm_hours values must be whole hours from 1 to 168 (CloudWatch evaluates at most 7 days)."
  }
}

variable "queue_age_alarm_seconds" {
  type        = number
  description = "Age of the oldest queued upload that raises the queue-age alarm."
  default     = 3600

  validation {
    condition     = var.queue_age_alarm_seconds >= 60
    error_message = "queue_age_alarm_seconds must be at least 60."
  }
}

# ---------------------------------------------------------------------------------------------
# GitHub deploy role and Terraform state
# ---------------------------------------------------------------------------------------------
variable "github_repository" {
  type        = string
  description = "GitHub repository (owner/name) whose production environment may assume the deploy role."

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "deploy_role_policy_arns" {
  type        = list(string)
  description = "Extra managed policies for the deploy role (which always has ReadOnlyAccess), e.g. an organisation policy that lets the pipeline apply infrastructure changes beyond the image."
  default     = []

  validation {
    condition     = alltrue([for arn in var.deploy_role_policy_arns : can(regex("^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/.+$", arn))])
    error_message = "deploy_role_policy_arns must hold IAM policy ARNs."
  }
}

variable "terraform_state_bucket" {
  type        = string
  description = "Bucket of the Terraform state (from the bootstrap); the deploy role may read and write this product's state in it."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.terraform_state_bucket))
    error_message = "terraform_state_bucket must be a valid bucket name."
  }
}

variable "terraform_state_key_prefix" {
  type        = string
  description = "Key prefix of this environment's state objects in the state bucket; default <project>/<environment>/, so dev's roles cannot touch prod's state and the other way round."
  default     = null

  validation {
    condition     = var.terraform_state_key_prefix == null || can(regex("^[A-Za-z0-9_./-]+/$", var.terraform_state_key_prefix))
    error_message = "terraform_state_key_prefix must be a key prefix ending in / (or null for <project>/<environment>/)."
  }
}

variable "terraform_state_kms_key_arn" {
  type        = string
  description = "KMS key of the state (bootstrap output state_kms_key_arn): the backend encrypts the state with it (kms_key_id) and the deploy and plan roles may use it."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.terraform_state_kms_key_arn))
    error_message = "terraform_state_kms_key_arn must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

# ---------------------------------------------------------------------------------------------
# QuickSight
# ---------------------------------------------------------------------------------------------
variable "quicksight_enabled" {
  type        = bool
  description = "Create the QuickSight VPC connection, data source and datasets (the account needs a QuickSight subscription)."
  default     = false
}

variable "quicksight_principal_arn" {
  type        = string
  description = "QuickSight user or group ARN that gets the data source and datasets; required when quicksight_enabled."
  default     = null

  validation {
    condition     = var.quicksight_principal_arn == null || can(regex("^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:(user|group)/.+$", var.quicksight_principal_arn))
    error_message = "quicksight_principal_arn must be a QuickSight user or group ARN."
  }

  validation {
    condition     = !var.quicksight_enabled || var.quicksight_principal_arn != null
    error_message = "quicksight_principal_arn is required when quicksight_enabled is true."
  }
}

# ---- scheduled extraction from the lender's database (etl extract; docs/deployment.md) -----------------------

variable "extractions" {
  type = list(object({
    name                = string
    schedule_expression = string
    target              = optional(string, "lambda")
    timezone            = optional(string, "UTC")
  }))
  description = "Extractions (the profile's [[extract]] entries, by name) that EventBridge Scheduler runs: a rate(), cron() or at() expression, in the function (lambda, up to its timeout) or the Fargate task (fargate, big pulls). Empty: nothing of scheduled extraction is created."
  default     = []

  validation {
    condition     = alltrue([for e in var.extractions : can(regex("^[a-z0-9][a-z0-9_-]{0,63}$", e.name))])
    error_message = "extractions[*].name must be an [[extract]] entry's name: lower-case letters, digits, _ and -, at most 64 characters."
  }

  validation {
    condition     = length(distinct([for e in var.extractions : e.name])) == length(var.extractions)
    error_message = "extractions[*].name must be unique."
  }

  validation {
    condition     = alltrue([for e in var.extractions : contains(["lambda", "fargate"], e.target)])
    error_message = "extractions[*].target must be lambda or fargate."
  }

  validation {
    condition     = alltrue([for e in var.extractions : can(regex("^(rate|cron|at)\\(.+\\)$", e.schedule_expression))])
    error_message = "extractions[*].schedule_expression must be rate(...), cron(...) or at(...), e.g. rate(1 hour) or cron(0 2 * * ? *)."
  }
}

variable "source_database_security_group_id" {
  type        = string
  description = "Security group of the source database the extractions read: the ETL's group gets egress to it on source_database_port, and it gets the matching ingress (see source_database_ingress). Null: no rule (the database is reachable otherwise)."
  default     = null

  validation {
    condition     = var.source_database_security_group_id == null || can(regex("^sg-[0-9a-f]{8,17}$", var.source_database_security_group_id))
    error_message = "source_database_security_group_id must be a security group ID such as sg-0123456789abcdef0."
  }
}

variable "source_database_port" {
  type        = number
  description = "TCP port of the source database (PostgreSQL 5432, MySQL 3306)."
  default     = 5432

  validation {
    condition     = var.source_database_port >= 1 && var.source_database_port <= 65535 && floor(var.source_database_port) == var.source_database_port
    error_message = "source_database_port must be a whole number between 1 and 65535."
  }
}

variable "source_database_ingress" {
  type        = bool
  description = "Add the ingress rule (from the ETL's security group) on the source database's security group; false when another stack owns that group's rules."
  default     = true
}

variable "source_database_secret_arn" {
  type        = string
  description = "Secrets Manager ARN of the source database's URL (or RDS JSON) that [[extract]] entries name in url_secret; the function and the task may read exactly this secret. Null: none."
  default     = null

  validation {
    condition     = var.source_database_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$", var.source_database_secret_arn))
    error_message = "source_database_secret_arn must be a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>)."
  }
}

variable "source_database_secret_kms_key_arn" {
  type        = string
  description = "Customer managed KMS key that encrypts that secret (kms:Decrypt through Secrets Manager only); null for the AWS managed key."
  default     = null

  validation {
    condition     = var.source_database_secret_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.source_database_secret_kms_key_arn))
    error_message = "source_database_secret_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "extraction_retry_attempts" {
  type        = number
  description = "Retries of a scheduled delivery EventBridge Scheduler could not make, before it goes to the schedule dead-letter queue."
  default     = 3

  validation {
    condition     = var.extraction_retry_attempts >= 0 && var.extraction_retry_attempts <= 185 && floor(var.extraction_retry_attempts) == var.extraction_retry_attempts
    error_message = "extraction_retry_attempts must be a whole number between 0 and 185."
  }
}
