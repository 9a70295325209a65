variable "name" {
  type        = string
  description = "Name prefix of the schedules, their group, role, dead-letter queue and policy."
}

variable "account_id" {
  type        = string
  description = "Account whose EventBridge Scheduler may assume the role (confused-deputy condition)."
}

variable "extractions" {
  type = list(object({
    name                = string
    schedule_expression = string
    target              = string
    timezone            = string
  }))
  description = "The scheduled extractions: the [[extract]] entry's name, a rate(), cron() or at() expression, lambda or fargate, and the IANA zone of a cron expression (validated in the root module)."
}

variable "function_arn" {
  type        = string
  description = "ETL Lambda function the lambda targets invoke (asynchronously)."
}

variable "cluster_arn" {
  type        = string
  description = "ECS cluster the fargate targets run their task in."
}

variable "task_family" {
  type        = string
  description = "Family of the Fargate task definition; the schedule runs its latest ACTIVE revision, so a deploy's new revision changes no schedule."
}

variable "container_name" {
  type        = string
  description = "Container of the task definition whose command a fargate target sets."
}

variable "fargate_role_arns" {
  type        = list(string)
  description = "Task and execution roles of the task definition (iam:PassRole for RunTask)."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the scheduled Fargate tasks."
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the scheduled Fargate tasks (the ETL workload's)."
}

variable "workload_security_group_id" {
  type        = string
  description = "The ETL workload's security group (Lambda and Fargate), given egress to the source database."
}

variable "etl_role_names" {
  type        = list(string)
  description = "Roles the extraction runs as (the function's and the Fargate task's): they get the extraction policy."
}

variable "raw_bucket_arn" {
  type        = string
  description = "ARN of the raw bucket the extractions write to."
}

variable "raw_prefix" {
  type        = string
  description = "Prefix the extractions write under: <raw_prefix><source>/<name>/ (ETL_EXTRACT_OUT)."
  default     = "incoming/"
}

variable "kms_key_arn" {
  type        = string
  description = "The stack's KMS key: encrypts the dead-letter queue."
}

variable "source_database_security_group_id" {
  type        = string
  description = "Security group of the source database, or null: then no network rule is made (the database is reached some other way)."
  default     = null
}

variable "source_database_port" {
  type        = number
  description = "TCP port of the source database."
}

variable "source_database_ingress" {
  type        = bool
  description = "Add the ingress rule on the source database's security group (false when another stack owns that group's rules)."
  default     = true
}

variable "source_database_secret_arn" {
  type        = string
  description = "Secrets Manager secret holding the source database's URL or RDS JSON (url_secret), or null."
  default     = null
}

variable "source_database_secret_kms_key_arn" {
  type        = string
  description = "Customer managed KMS key of that secret, or null for the AWS managed key."
  default     = null
}

variable "maximum_retry_attempts" {
  type        = number
  description = "Retries of a failed delivery by EventBridge Scheduler (0-185)."
  default     = 3
}

variable "maximum_event_age_seconds" {
  type        = number
  description = "How long EventBridge Scheduler keeps retrying one delivery (60-86400 s)."
  default     = 3600
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}
