variable "name" {
  type        = string
  description = "Name of the cluster, task family and roles."
}

variable "account_id" {
  type        = string
  description = "Account ID (confused-deputy guard in the role trust policy)."
}

variable "image_uri" {
  type        = string
  description = "Image reference (repository URL and tag), the same as the Lambda function's."
}

variable "ecr_repository_arn" {
  type        = string
  description = "Repository the execution role may pull from."
}

variable "cpu" {
  type        = number
  description = "Task CPU units (4096 = 4 vCPU)."
  default     = 4096
}

variable "memory_mb" {
  type        = number
  description = "Task memory in MiB."
  default     = 16384
}

variable "ephemeral_storage_gib" {
  type        = number
  description = "Task ephemeral storage in GiB (21-200)."
  default     = 50
}

variable "environment" {
  type        = map(string)
  description = "Container environment (no secrets: they are read from Secrets Manager at run time)."
  default     = {}
}

variable "data_access_policy_arn" {
  type        = string
  description = "Managed policy with the ETL data permissions, attached to the task role."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key ARN for the log group and image decryption."
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the task log group."
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}

variable "task_events_queue_arn" {
  type        = string
  description = "Queue that receives this cluster's STOPPED task events (the function's queue): the function runs a task that did not finish again (etl.handler._follow_up)."
}

variable "task_events_dead_letter_arn" {
  type        = string
  description = "Where EventBridge puts a STOPPED event it could not deliver to the queue (the queue's DLQ)."
}

variable "started_by" {
  type        = string
  description = "startedBy of the tasks the function starts (etl.handler.SERVICE): only their events are forwarded."
  default     = "credit-risk-etl"
}
