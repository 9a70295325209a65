variable "name" {
  type        = string
  description = "Name prefix of the QuickSight resources."
}

variable "account_id" {
  type        = string
  description = "Account ID (confused-deputy guard in the role trust policy)."
}

variable "subnet_ids" {
  type        = list(string)
  description = "Private subnets of the VPC connection."
}

variable "security_group_ids" {
  type        = list(string)
  description = "Security groups of the VPC connection."
}

variable "redshift_host" {
  type        = string
  description = "Workgroup endpoint host."
}

variable "redshift_port" {
  type        = number
  description = "Workgroup endpoint port."
}

variable "redshift_database" {
  type        = string
  description = "Warehouse database."
}

variable "redshift_secret_arn" {
  type        = string
  description = "Secrets Manager secret with username and password keys."
}

variable "principal_arn" {
  type        = string
  description = "QuickSight user or group ARN granted the data source and datasets."
}

variable "mart_schema" {
  type        = string
  description = "Schema of the mart views."
  default     = "public"
}

variable "mart_columns" {
  type = map(list(object({
    name = string
    type = string
  })))
  description = "Columns of each mart_* view exposed as a dataset (QuickSight needs them declared)."
}

variable "geographic_roles" {
  type        = map(map(string))
  description = "Per mart view, the QuickSight geographic role of a column (e.g. state = STATE), tagged on its dataset so filled maps can place it."
  default     = {}
}

variable "tags" {
  type        = map(string)
  description = "Tags added on top of the provider default tags."
  default     = {}
}
