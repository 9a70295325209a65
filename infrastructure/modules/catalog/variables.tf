variable "name" {
  type        = string
  description = "Glue database name (lowercase letters, digits and underscores)."

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.name))
    error_message = "Glue database names are lowercase letters, digits and underscores."
  }
}

variable "location_uri" {
  type        = string
  description = "S3 location of the curated lake."
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}
