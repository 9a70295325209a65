# The deploy workflow reads these by name: keep them stable.

output "raw_bucket_name" {
  description = "Raw upload bucket; uploads go to incoming/<source>/ (loan_applications, bank_statements, repayments)."
  value       = module.raw_bucket.id
}

output "lake_bucket_name" {
  description = "Lake bucket: lake/curated/, lake/quarantine/ and the Redshift COPY staging/ prefix."
  value       = module.lake_bucket.id
}

output "ecr_repository_url" {
  description = "ECR repository URL to tag and push the ETL image to."
  value       = module.ecr.repository_url
}

output "ecr_repository_name" {
  description = "ECR repository name."
  value       = module.ecr.repository_name
}

output "lambda_function_name" {
  description = "Name of the ETL Lambda function."
  value       = module.lambda.function_name
}

output "redshift_workgroup_name" {
  description = "Redshift Serverless workgroup name."
  value       = module.redshift.workgroup_name
}

output "redshift_database_name" {
  description = "Warehouse database name."
  value       = module.redshift.database_name
}

output "redshift_secret_arn" {
  description = "Secrets Manager ARN of the Redshift admin credentials (managed by Redshift)."
  value       = module.redshift.admin_secret_arn
}

output "deploy_role_arn" {
  description = "IAM role GitHub Actions assumes through OIDC to deploy."
  value       = module.github_oidc.role_arn
}

output "plan_role_arn" {
  description = "Read-only IAM role plan.yml's reviewed job (environment terraform-plan) assumes through OIDC for the pull request's plan comment (secret AWS_PLAN_ROLE_ARN)."
  value       = module.github_oidc.plan_role_arn
}

output "sns_topic_arn" {
  description = "SNS topic for run summaries and alarms."
  value       = module.monitoring.topic_arn
}

output "glue_database_name" {
  description = "Glue catalog database of the lake tables."
  value       = module.catalog.name
}

output "sqs_queue_url" {
  description = "URL of the upload notification queue."
  value       = module.ingest.queue_url
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = module.ingest.dlq_url
}

output "ecs_cluster_name" {
  description = "ECS cluster of the Fargate scale-out task."
  value       = module.fargate.cluster_name
}

output "fargate_task_definition_arn" {
  description = "ARN (with revision) of the Fargate task definition for large files."
  value       = module.fargate.task_definition_arn
}

output "redshift_endpoint_address" {
  description = "Host name of the Redshift Serverless workgroup endpoint (private)."
  value       = module.redshift.endpoint_address
}

output "redshift_copy_role_arn" {
  description = "IAM role Redshift assumes for COPY from the lake staging prefix."
  value       = module.redshift.copy_role_arn
}

output "kms_key_arn" {
  description = "Customer-managed KMS key of the stack."
  value       = module.kms.key_arn
}

output "vpc_id" {
  description = "ID of the private VPC."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnet IDs (one per availability zone)."
  value       = module.network.private_subnet_ids
}

output "workload_security_group_id" {
  description = "Security group of the Lambda function and Fargate tasks."
  value       = module.network.workload_security_group_id
}

output "quicksight_data_set_arns" {
  description = "QuickSight dataset ARNs by mart view (empty unless quicksight_enabled)."
  value       = var.quicksight_enabled ? module.quicksight[0].data_set_arns : {}
}

output "quicksight_dashboard_id" {
  description = "ID of the QuickSight dashboard deploy.yml creates or updates with etl quicksight (the deploy role may change only this one)."
  value       = local.quicksight_dashboard_id
}
