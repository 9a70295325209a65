variable "name" {
  type        = string
  description = "Name of the SNS topic."
}

variable "account_id" {
  type        = string
  description = "Account whose CloudWatch alarms may publish to the topic."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key encrypting the topic."
}

variable "alarm_email" {
  type        = string
  description = "Optional e-mail address subscribed to the topic (confirm the subscription mail)."
  default     = null
}

variable "function_name" {
  type        = string
  description = "Lambda function watched by the alarms."
}

variable "function_timeout_seconds" {
  type        = number
  description = "Timeout of that function."
}

variable "duration_alarm_ratio" {
  type        = number
  description = "Fraction of the timeout above which the duration alarm fires."
  default     = 0.8
}

variable "queue_name" {
  type        = string
  description = "Main queue watched for message age."
}

variable "queue_age_threshold_seconds" {
  type        = number
  description = "Age of the oldest queued message that raises the alarm."
}

variable "dlq_name" {
  type        = string
  description = "Dead-letter queue watched for depth."
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}

variable "event_rule_names" {
  description = "EventBridge rules (default bus) whose deliveries are watched: FailedInvocations and InvocationsFailedToBeSentToDlq."
  type        = list(string)
  default     = []
}

variable "slack_workspace_id" {
  type        = string
  description = "Slack workspace ID authorised in the AWS Chatbot console; with slack_channel_id, AWS Chatbot posts the topic's messages to that channel."
  default     = null
}

variable "slack_channel_id" {
  type        = string
  description = "Slack channel ID that receives the topic's messages through AWS Chatbot."
  default     = null
}

variable "metrics_namespace" {
  type        = string
  description = "CloudWatch namespace of the ETL's own metrics (POWERTOOLS_METRICS_NAMESPACE of the function and the task)."
}

variable "service_name" {
  type        = string
  description = "Value of the service dimension of the ETL's metrics (POWERTOOLS_SERVICE_NAME)."
}

variable "source_freshness_hours" {
  type        = map(number)
  description = "Per source: hours without a loaded file (FilesLoaded with dimension source) before its freshness alarm fires."
  default     = {}
}

variable "alarm_name_prefix" {
  type        = string
  description = "Prefix of the names of the alarms on the ETL's own metrics (data tests, freshness); default the topic name."
  default     = null
}

variable "extraction_schedule_group" {
  type        = string
  description = "Schedule group of the scheduled extractions (AWS/Scheduler metrics), or null without scheduled extraction: then no extraction alarm."
  default     = null
}

variable "extraction_dlq_name" {
  type        = string
  description = "Dead-letter queue of the extraction schedules (deliveries EventBridge Scheduler gave up on), or null."
  default     = null
}
