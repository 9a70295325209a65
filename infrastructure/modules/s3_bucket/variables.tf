variable "name" {
  type        = string
  description = "Globally unique bucket name."

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "Bucket names are 3-63 lowercase letters, digits, dots and hyphens."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key used for default SSE-KMS encryption."
}

variable "force_destroy" {
  type        = bool
  description = "Allow terraform destroy to delete a non-empty bucket."
  default     = false
}

variable "abort_incomplete_upload_days" {
  type        = number
  description = "Days after which incomplete multipart uploads are aborted."
  default     = 7
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days a noncurrent object version is kept before it expires."
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "expiration_rules" {
  type = list(object({
    id     = string
    prefix = string
    days   = number
  }))
  description = "Extra rules that expire current objects under a prefix after a number of days."
  default     = []
}

variable "extra_policy_json" {
  type        = string
  description = "Optional policy JSON merged into the bucket policy next to the TLS-only statements."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags added to the bucket on top of the provider default tags."
  default     = {}
}
