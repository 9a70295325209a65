variable "name" {
  type        = string
  description = "Name prefix for the VPC and its parts."
}

variable "cidr_block" {
  type        = string
  description = "IPv4 CIDR of the VPC; each private subnet gets a /+4 slice of it."
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zones of the private subnets (Redshift Serverless needs three)."

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "Exactly three availability zones are required."
  }
}

variable "interface_endpoints" {
  type        = list(string)
  description = "Service names (after com.amazonaws.<region>.) that get an interface endpoint."
}

variable "interface_endpoint_az_count" {
  type        = number
  description = "How many of the private subnets host the interface endpoints (1-3)."
  default     = 3

  validation {
    condition     = var.interface_endpoint_az_count >= 1 && var.interface_endpoint_az_count <= 3
    error_message = "interface_endpoint_az_count must be 1, 2 or 3."
  }
}

variable "redshift_port" {
  type        = number
  description = "Port of the Redshift Serverless workgroup."
  default     = 5439
}

variable "kms_key_arn" {
  type        = string
  description = "KMS key for the flow-log group."
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the flow-log group."
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}
