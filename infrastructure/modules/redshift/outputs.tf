output "namespace_name" {
  description = "Namespace name."
  value       = aws_redshiftserverless_namespace.this.namespace_name
}

output "workgroup_name" {
  description = "Workgroup name."
  value       = aws_redshiftserverless_workgroup.this.workgroup_name
}

output "workgroup_arn" {
  description = "Workgroup ARN."
  value       = aws_redshiftserverless_workgroup.this.arn
}

output "endpoint_address" {
  description = "Host name of the workgroup endpoint."
  value       = aws_redshiftserverless_workgroup.this.endpoint[0].address
}

output "port" {
  description = "Port of the workgroup endpoint."
  value       = var.port
}

output "database_name" {
  description = "Database name."
  value       = aws_redshiftserverless_namespace.this.db_name
}

output "admin_secret_arn" {
  description = "Secrets Manager ARN of the admin credentials (username and password keys)."
  value       = aws_redshiftserverless_namespace.this.admin_password_secret_arn
}

output "copy_role_arn" {
  description = "IAM role Redshift assumes for COPY from staging."
  value       = aws_iam_role.copy.arn
}

output "log_group_names" {
  description = "Log groups the namespace exports its audit logs to (the user activity log quotes every statement)."
  value       = [for log_type in local.log_exports : aws_cloudwatch_log_group.exports[log_type].name]
}
