# Partial configuration: bucket, key and region come from `terraform init -backend-config=...`
# (see README.md and envs/*.s3.tfbackend.example). Locking uses an S3 lock file, no DynamoDB table.
terraform {
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
