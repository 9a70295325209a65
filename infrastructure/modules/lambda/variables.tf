variable "function_name" {
  type        = string
  description = "Function name; also the role and log group name."
}

variable "account_id" {
  type        = string
  description = "Account ID (ARNs and the confused-deputy guard)."
}

variable "image_uri" {
  type        = string
  description = "Container image reference (repository URL and tag)."
}

variable "memory_mb" {
  type        = number
  description = "Memory in MB (also scales the CPU share)."
}

variable "timeout_seconds" {
  type        = number
  description = "Function timeout in seconds."
}

variable "ephemeral_storage_mb" {
  type        = number
  description = "Size of /tmp in MB."
  default     = 2048
}

variable "reserved_concurrency" {
  type        = number
  description = "Reserved concurrent executions; null reserves none (the provider's -1)."
  default     = null
}

variable "environment" {
  type        = map(string)
  description = "Environment variables (no secrets)."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the function's network interfaces."
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the function's network interfaces."
}

variable "queue_arn" {
  type        = string
  description = "SQS queue feeding the function."
}

variable "dlq_arn" {
  type        = string
  description = "Dead-letter queue for failed asynchronous invocations."
}

variable "batch_size" {
  type        = number
  description = "Messages per invocation."
  default     = 1
}

variable "batching_window_seconds" {
  type        = number
  description = "Maximum batching window of the event source mapping."
  default     = 0
}

variable "max_concurrency" {
  type        = number
  description = "Maximum concurrent invocations by the SQS event source mapping."
}

variable "log_level" {
  type        = string
  description = "Application log level of the Lambda logging config."
  default     = "INFO"
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the function's log group."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for the log group, the environment and the queues."
}

variable "data_access_policy_arn" {
  type        = string
  description = "Managed policy with the ETL data permissions."
}

variable "fargate_cluster_arn" {
  type        = string
  description = "Cluster the function may start tasks in."
}

variable "fargate_cluster_name" {
  type        = string
  description = "Name of that cluster."
}

variable "fargate_task_family" {
  type        = string
  description = "Task definition family the function may run."
}

variable "fargate_role_arns" {
  type        = list(string)
  description = "Task and execution roles the function may pass to ECS."
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}
