# Security groups reference each other instead of CIDRs wherever they can; none admits 0.0.0.0/0.

data "aws_ec2_managed_prefix_list" "s3" {
  name = "com.amazonaws.${local.region}.s3"
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-endpoints"
  description = "Interface VPC endpoints: HTTPS from inside the VPC only"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-endpoints" })
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_https" {
  security_group_id = aws_security_group.endpoints.id
  description       = "HTTPS to AWS APIs from workloads in this VPC"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = aws_vpc.this.cidr_block
}

resource "aws_security_group" "workload" {
  #checkov:skip=CKV2_AWS_5:Attached outside this module, to the Lambda function's vpc_config and the Fargate RunTask network configuration (ETL_FARGATE_SECURITY_GROUPS); checkov's graph does not follow module outputs (tests/infrastructure asserts the wiring).
  name        = "${var.name}-etl"
  description = "ETL Lambda and Fargate tasks: no ingress, egress to endpoints, S3 and Redshift only"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-etl" })
}

resource "aws_vpc_security_group_egress_rule" "workload_endpoints" {
  security_group_id            = aws_security_group.workload.id
  description                  = "HTTPS to the interface endpoints"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints.id
}

resource "aws_vpc_security_group_egress_rule" "workload_s3" {
  security_group_id = aws_security_group.workload.id
  description       = "HTTPS to S3 through the gateway endpoint (also ECR image layers)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = data.aws_ec2_managed_prefix_list.s3.id
}

resource "aws_vpc_security_group_egress_rule" "workload_redshift" {
  security_group_id            = aws_security_group.workload.id
  description                  = "Redshift Serverless workgroup"
  ip_protocol                  = "tcp"
  from_port                    = var.redshift_port
  to_port                      = var.redshift_port
  referenced_security_group_id = aws_security_group.redshift.id
}

resource "aws_security_group" "redshift" {
  #checkov:skip=CKV2_AWS_5:Attached outside this module, to the Redshift Serverless workgroup; checkov's graph does not follow module outputs (tests/infrastructure asserts the wiring).
  name        = "${var.name}-redshift"
  description = "Redshift Serverless: port 5439 from the ETL workload and QuickSight only"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-redshift" })
}

resource "aws_vpc_security_group_ingress_rule" "redshift_from_workload" {
  security_group_id            = aws_security_group.redshift.id
  description                  = "Redshift from the ETL Lambda and Fargate tasks"
  ip_protocol                  = "tcp"
  from_port                    = var.redshift_port
  to_port                      = var.redshift_port
  referenced_security_group_id = aws_security_group.workload.id
}

resource "aws_vpc_security_group_ingress_rule" "redshift_from_quicksight" {
  security_group_id            = aws_security_group.redshift.id
  description                  = "Redshift from the QuickSight VPC connection"
  ip_protocol                  = "tcp"
  from_port                    = var.redshift_port
  to_port                      = var.redshift_port
  referenced_security_group_id = aws_security_group.quicksight.id
}

resource "aws_vpc_security_group_egress_rule" "redshift_s3" {
  security_group_id = aws_security_group.redshift.id
  description       = "COPY from S3 through the gateway endpoint (enhanced VPC routing)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = data.aws_ec2_managed_prefix_list.s3.id
}

resource "aws_vpc_security_group_egress_rule" "redshift_quicksight" {
  security_group_id            = aws_security_group.redshift.id
  description                  = "Replies to the QuickSight network interfaces, which are not stateful"
  ip_protocol                  = "tcp"
  from_port                    = 0
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.quicksight.id
}

resource "aws_security_group" "quicksight" {
  #checkov:skip=CKV2_AWS_5:Attached outside this module, to the QuickSight VPC connection; checkov's graph does not follow module outputs (tests/infrastructure asserts the wiring).
  name        = "${var.name}-quicksight"
  description = "QuickSight VPC connection: to Redshift and its replies only"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-quicksight" })
}

resource "aws_vpc_security_group_egress_rule" "quicksight_redshift" {
  security_group_id            = aws_security_group.quicksight.id
  description                  = "Queries to Redshift"
  ip_protocol                  = "tcp"
  from_port                    = var.redshift_port
  to_port                      = var.redshift_port
  referenced_security_group_id = aws_security_group.redshift.id
}

# QuickSight's network interfaces do not track connections, so replies need an explicit rule.
resource "aws_vpc_security_group_ingress_rule" "quicksight_replies" {
  #checkov:skip=CKV_AWS_24:False positive: the source is the Redshift security group (referenced_security_group_id), which checkov does not read for this resource type; no CIDR is open.
  #checkov:skip=CKV_AWS_25:False positive: the source is the Redshift security group (referenced_security_group_id), not 0.0.0.0/0.
  #checkov:skip=CKV_AWS_260:False positive: the source is the Redshift security group (referenced_security_group_id), not 0.0.0.0/0.
  security_group_id            = aws_security_group.quicksight.id
  description                  = "Replies from Redshift to QuickSight"
  ip_protocol                  = "tcp"
  from_port                    = 0
  to_port                      = 65535
  referenced_security_group_id = aws_security_group.redshift.id
}
