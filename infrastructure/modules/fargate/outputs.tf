output "cluster_name" {
  description = "ECS cluster name."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ECS cluster ARN."
  value       = aws_ecs_cluster.this.arn
}

output "task_definition_arn" {
  description = "ARN (with revision) of the Fargate task definition."
  value       = aws_ecs_task_definition.this.arn
}

output "task_definition_family" {
  description = "Family of the Fargate task definition."
  value       = aws_ecs_task_definition.this.family
}

output "task_role_arn" {
  description = "ARN of the task role."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "ARN of the execution role."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "Log group of the task."
  value       = aws_cloudwatch_log_group.task.name
}

output "container_name" {
  description = "Container name to use in RunTask overrides."
  value       = local.container_name
}

output "task_stopped_rule_arn" {
  description = "EventBridge rule forwarding the tasks' STOPPED events to the function's queue."
  value       = aws_cloudwatch_event_rule.task_stopped.arn
}

output "task_stopped_rule_name" {
  description = "Name of that rule (dimension RuleName of its AWS/Events metrics)."
  value       = aws_cloudwatch_event_rule.task_stopped.name
}

output "task_role_name" {
  description = "Name of the task role (policies of optional features attach to it)."
  value       = aws_iam_role.task.name
}
