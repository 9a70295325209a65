variable "name" {
  type        = string
  description = "Repository name."
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key encrypting the images."
}

variable "keep_image_count" {
  type        = number
  description = "How many images the lifecycle policy keeps (roll-back window)."
  default     = 30
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}
