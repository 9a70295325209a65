variable "name" {
  type        = string
  description = "Name of the main queue; the DLQ gets a -dlq suffix."
}

variable "bucket_id" {
  type        = string
  description = "Name of the bucket whose uploads are queued."
}

variable "bucket_arn" {
  type        = string
  description = "ARN of the bucket whose uploads are queued."
}

variable "account_id" {
  type        = string
  description = "Account that owns the bucket (confused-deputy guard in the queue policy)."
}

variable "filter_prefix" {
  type        = string
  description = "Key prefix that triggers a notification."
  default     = "incoming/"
}

variable "filter_suffix" {
  type        = string
  description = "Key suffix that triggers a notification; null (the default): every key under the prefix. S3 compares it with the key as written (keys are case-sensitive), so \".csv\" would drop June.CSV without a trace; the function itself skips non-CSV keys, with a log line."
  default     = null
}

variable "visibility_timeout_seconds" {
  type        = number
  description = "Visibility timeout of the main queue; at least six times the consumer's timeout."

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "SQS visibility timeouts are 0-43200 seconds."
  }
}

variable "message_retention_seconds" {
  type        = number
  description = "How long an unprocessed notification is kept in the main queue."
  default     = 345600
}

variable "max_receive_count" {
  type        = number
  description = "Receives before a message moves to the DLQ."
  default     = 3
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key encrypting both queues."
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}

variable "event_rule_arns" {
  type        = list(string)
  description = "EventBridge rules that may send to the main queue and, for events they could not deliver, to the DLQ (the Fargate tasks' STOPPED events)."
  default     = []
}
