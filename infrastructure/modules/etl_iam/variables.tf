variable "name" {
  type        = string
  description = "Name prefix of the policy."
}

variable "raw_bucket_arn" {
  type        = string
  description = "ARN of the raw upload bucket."
}

variable "raw_prefix" {
  type        = string
  description = "Key prefix the ETL may read in the raw bucket."
  default     = "incoming/"
}

variable "profile_key" {
  type        = string
  description = "Key of the ETL profile in the raw bucket the ETL may read (ETL_PROFILE), or null without one."
  default     = null
}

variable "lake_bucket_arn" {
  type        = string
  description = "ARN of the lake bucket."
}

variable "lake_prefixes" {
  type        = list(string)
  description = "Key prefixes the ETL may read, write and delete in the lake bucket."
  default     = ["lake/", "staging/"]
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key of the buckets, queues, topic and secrets."
}

variable "redshift_secret_arn" {
  type        = string
  description = "Secrets Manager ARN of the Redshift admin credentials."
}

variable "glue_database_name" {
  type        = string
  description = "Glue database of the lake tables."
}

variable "sns_topic_arn" {
  type        = string
  description = "SNS topic for run summaries."
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}
