variable "alias" {
  type        = string
  description = "Alias name without the alias/ prefix."
}

variable "description" {
  type        = string
  description = "Key description shown in the KMS console."
}

variable "deletion_window_in_days" {
  type        = number
  description = "Waiting period before a scheduled key deletion completes."
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30
    error_message = "deletion_window_in_days must be between 7 and 30."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to the key on top of the provider default tags."
  default     = {}
}
