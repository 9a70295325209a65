variable "project" {
  type        = string
  description = "Project name used in the bucket name and tags."
  default     = "credit-risk-etl"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,23}$", var.project))
    error_message = "project must be 2-24 lowercase letters, digits or hyphens."
  }
}

variable "aws_region" {
  type        = string
  description = "Region of the state bucket."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region code such as eu-west-1."
  }
}

variable "state_bucket_name" {
  type        = string
  description = "Name of the state bucket; default <project>-tfstate-<account>-<region>."
  default     = null

  validation {
    condition     = var.state_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid bucket name."
  }
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days old state versions are kept."
  default     = 365

  validation {
    condition     = var.noncurrent_version_expiration_days >= 30
    error_message = "Keep old state versions for at least 30 days."
  }
}

variable "create_github_oidc_provider" {
  type        = bool
  description = "Create the account's GitHub Actions OIDC provider (token.actions.githubusercontent.com); false when the account already has one (aws iam list-open-id-connect-providers)."
  default     = true
}

variable "create_ecs_service_linked_role" {
  type        = bool
  description = "Create ECS's service-linked role AWSServiceRoleForECS; false when the account already has it (aws iam get-role --role-name AWSServiceRoleForECS)."
  default     = true
}
