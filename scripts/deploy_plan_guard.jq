# What a `terraform show -json` plan changes beyond what the deploy role may change, one line per
# resource; no output means the plan is a plain deploy. The role may update the function's image and
# environment (lambda:UpdateFunctionCode / UpdateFunctionConfiguration) and replace the Fargate task
# definition (a new revision). Any other change - another resource, replacing the function, or updating
# any other argument of it (reserved concurrency, tags, role, VPC, KMS key: each needs a permission the
# role does not have) - would fail half-way through the apply, so deploy.yml stops before it.
# Used by .github/workflows/deploy.yml; tested in tests/infrastructure/test_deploy_guard.py.

def changed_arguments:
  . as $change
  | [($change.before // {} | keys[]), ($change.after // {} | keys[])]
  | unique
  | map(select(($change.after_unknown[.] // false) != true))  # computed on apply (last_modified, version)
  | map(select($change.before[.] != $change.after[.]));

.resource_changes[]
| select(.change.actions != ["no-op"] and .change.actions != ["read"])
| if .address == "module.fargate.aws_ecs_task_definition.this" then
    empty
  elif .address == "module.lambda.aws_lambda_function.this" and .change.actions == ["update"] then
    (.change | changed_arguments | map(select(. != "image_uri" and . != "environment"))) as $other
    | if ($other | length) == 0 then empty else "\(.address) (update of \($other | join(", ")))" end
  else
    "\(.address) (\(.change.actions | join("/")))"
  end
