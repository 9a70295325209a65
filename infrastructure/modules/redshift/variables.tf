variable "name" {
  type        = string
  description = "Name of the namespace, workgroup and COPY role prefix."
}

variable "account_id" {
  type        = string
  description = "Account ID (confused-deputy guard in the COPY role trust policy)."
}

variable "database_name" {
  type        = string
  description = "Database created in the namespace."
}

variable "admin_username" {
  type        = string
  description = "Admin user; its password is generated and kept by Secrets Manager."
}

variable "base_capacity" {
  type        = number
  description = "Base RPUs of the workgroup."
}

variable "max_capacity" {
  type        = number
  description = "Maximum RPUs the workgroup may scale to."
}

variable "port" {
  type        = number
  description = "Port of the workgroup endpoint."
  default     = 5439
}

variable "max_query_execution_time_seconds" {
  type        = number
  description = "Queries running longer than this are stopped."
  default     = 14400
}

variable "usage_limit_rpu_hours" {
  type        = number
  description = "RPU-hours allowed per period."
}

variable "usage_limit_period" {
  type        = string
  description = "Period of the usage limit: daily, weekly or monthly."
  default     = "monthly"
}

variable "usage_limit_breach_action" {
  type        = string
  description = "What happens past the limit: log, emit-metric or deactivate."
  default     = "deactivate"
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets in three availability zones."
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the workgroup endpoint."
}

variable "lake_bucket_arn" {
  type        = string
  description = "Lake bucket holding the COPY staging prefix."
}

variable "staging_prefix" {
  type        = string
  description = "Key prefix the COPY role may read."
  default     = "staging/"
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key of the namespace, the admin secret and the staging objects."
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the exported audit log groups (connection, user, user activity)."
}
