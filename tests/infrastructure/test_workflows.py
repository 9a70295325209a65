"""The workflows agree with the roles Terraform makes and the commands the product really has."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from etl.cli import app

from .hcl import INFRA, load

WORKFLOWS = INFRA.parent / ".github" / "workflows"
# What the deploy role may change (module github_oidc); deploy.yml refuses plans that change more.
IMAGE_CHANGE = {
    "module.lambda.aws_lambda_function.this": ("modules/lambda", "aws_lambda_function", "this"),
    "module.fargate.aws_ecs_task_definition.this": ("modules/fargate", "aws_ecs_task_definition", "this"),
}


def workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(name: str, job: str) -> list[dict[str, Any]]:
    found = workflow(name)["jobs"][job]["steps"]
    assert isinstance(found, list)
    return found


def step_index(all_steps: list[dict[str, Any]], needle: str) -> int:
    matches = [i for i, s in enumerate(all_steps) if needle in str(s.get("name", "")) + str(s.get("run", ""))]
    assert len(matches) == 1, f"expected one step with {needle!r}, got {len(matches)}"
    return matches[0]


def test_deploy_applies_only_a_plan_checked_to_change_the_image() -> None:
    all_steps = steps("deploy.yml", "deploy")
    plan = step_index(all_steps, "-out=tfplan")
    check = step_index(all_steps, "terraform show -json tfplan")
    apply = step_index(all_steps, "terraform apply")
    assert plan < check < apply
    run = all_steps[check]["run"]
    assert "jq -r -f ../scripts/deploy_plan_guard.jq" in run
    guard = (INFRA.parent / "scripts" / "deploy_plan_guard.jq").read_text(encoding="utf-8")
    allowed = set(re.findall(r'\.address == "([^"]+)"', guard))
    assert allowed == set(IMAGE_CHANGE)
    for directory, type_name, name in IMAGE_CHANGE.values():
        assert name in load(directory).resources(type_name), f"{directory}: no {type_name}.{name}"
    assert "exit 1" in run
    assert all_steps[check]["env"]["APPLIES_INFRASTRUCTURE"] == "${{ vars.DEPLOY_APPLIES_INFRASTRUCTURE }}"
    assert "-target" not in str(all_steps), "deploy applies the whole checked plan, never a targeted one"
    assert all_steps[apply]["run"].strip().endswith("tfplan")


def test_deploy_updates_the_quicksight_dashboard_after_apply_when_enabled() -> None:
    all_steps = steps("deploy.yml", "deploy")
    apply = step_index(all_steps, "terraform apply")
    install = step_index(all_steps, "pip install --no-deps .")
    dashboard = step_index(all_steps, "etl quicksight")
    assert apply < install < dashboard
    step = all_steps[dashboard]
    assert step["if"] == "vars.QUICKSIGHT_ENABLED == 'true'"
    run = step["run"]
    assert "terraform -chdir=infrastructure output -json quicksight_data_set_arns > dataset-arns.json" in run
    assert "--dataset-arns dataset-arns.json" in run
    assert "output -raw quicksight_dashboard_id" in run
    outputs = load(".").named("output")
    for output in re.findall(r"output -(?:json|raw) (\w+)", run):
        assert output in outputs, output


def test_deploy_uses_only_real_etl_quicksight_options() -> None:
    run = steps("deploy.yml", "deploy")[step_index(steps("deploy.yml", "deploy"), "etl quicksight")]["run"]
    command = run[run.index("etl quicksight") :]
    used = set(re.findall(r"(--[a-z][a-z-]*)", command))
    result = CliRunner().invoke(app, ["quicksight", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    real = set(re.findall(r"(--[a-z][a-z-]*)", result.output))
    assert used <= real, used - real
    assert {"--account-id", "--dataset-arns", "--principal", "--region", "--dashboard-id"} <= used


def test_deploy_uses_only_real_etl_smoke_options() -> None:
    all_steps = steps("deploy.yml", "deploy")
    run = all_steps[step_index(all_steps, "etl smoke")]["run"]
    command = run[run.index("etl smoke") :]
    used = set(re.findall(r"(--[a-z][a-z-]*)", command))
    result = CliRunner().invoke(app, ["smoke", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    real = set(re.findall(r"(--[a-z][a-z-]*)", result.output))
    assert used <= real, used - real
    assert {"--bucket", "--workgroup", "--database", "--secret-arn", "--region", "--timeout"} <= used


def test_deploy_quicksight_reads_the_spec_from_the_installed_package() -> None:
    # What the QuickSight step runs: the checkout installed non-editable, then `etl quicksight` without
    # --spec from the repository root. The spec therefore has to ship inside the package (package data);
    # test_quicksight_datasets.py installs the package the same way and reads the spec through it.
    all_steps = steps("deploy.yml", "deploy")
    install = all_steps[step_index(all_steps, "pip install --no-deps .")]["run"].strip().splitlines()
    assert install == [
        "python -m pip install --require-hashes --only-binary=:all: -r requirements/lambda.txt",
        "python -m pip install --no-deps .",
    ]
    step = all_steps[step_index(all_steps, "etl quicksight")]
    assert "working-directory" not in step
    command = step["run"][step["run"].index("etl quicksight") :]
    assert "--spec" not in command and "spec.json" not in step["run"]


@pytest.mark.parametrize(
    ("name", "job", "secret"),
    [("deploy.yml", "deploy", "AWS_DEPLOY_ROLE_ARN"), ("plan.yml", "plan", "AWS_PLAN_ROLE_ARN")],
)
def test_each_workflow_assumes_its_role(name: str, job: str, secret: str) -> None:
    assume = [s for s in steps(name, job) if str(s.get("uses", "")).startswith("aws-actions/configure-aws")]
    assert len(assume) == 1
    assert assume[0]["with"]["role-to-assume"] == f"${{{{ secrets.{secret} }}}}"
    assert workflow(name)["jobs"][job]["permissions"]["id-token"] == "write"


def test_plan_job_runs_behind_reviewers_in_the_environment_the_plan_role_trusts() -> None:
    # The plan evaluates a pull request's HCL with AWS credentials, and the pull request can edit plan.yml:
    # only an environment's required reviewers (enforced by GitHub, not by the file) gate it. In an
    # environment, GitHub's OIDC subject is repo:<owner>/<repo>:environment:<name>, the plan role's subject.
    plan = workflow("plan.yml")
    assert set(plan[True]) == {"pull_request"}  # YAML 1.1 reads the `on` key as True
    assert plan["jobs"]["plan"]["environment"]["name"] == "terraform-plan"
    oidc = load("modules/github_oidc")
    assert oidc.named("variable")["plan_environment"]["default"] == "terraform-plan"
    assert oidc.locals["plan_subjects"] == ["repo:${var.github_repository}:environment:${var.plan_environment}"]
    assert workflow("deploy.yml")["jobs"]["deploy"]["environment"]["name"] == "production"
    assert oidc.locals["subjects"] == ["repo:${var.github_repository}:environment:production"]


@pytest.mark.parametrize(("name", "job"), [("plan.yml", "plan"), ("deploy.yml", "deploy")])
def test_terraform_init_may_install_only_the_aws_provider(name: str, job: str) -> None:
    # An `external`, `http` or third-party provider in the HCL would run code with the job's credentials.
    job_def = workflow(name)["jobs"][job]
    config = job_def["env"]["TF_CLI_CONFIG_FILE"]
    assert config == "${{ github.workspace }}/.terraformrc-aws-only"
    all_steps = steps(name, job)
    write = step_index(all_steps, "Allow no provider but hashicorp/aws")
    init = step_index(all_steps, "terraform init -input=false")
    assert write < init
    script = all_steps[write]["run"]
    assert 'cat > "$TF_CLI_CONFIG_FILE"' in script
    body = script[script.index("provider_installation") : script.rindex("}") + 1]
    assert re.sub(r"\s+", " ", body) == (
        'provider_installation { direct { include = ["registry.terraform.io/hashicorp/aws"] } }'
    )
    assert "filesystem_mirror" not in script and "network_mirror" not in script


def test_documented_repository_settings_exist() -> None:
    docs = (INFRA.parent / "docs" / "deployment.md").read_text(encoding="utf-8")
    text = "\n".join(Path(p).read_text(encoding="utf-8") for p in sorted(WORKFLOWS.glob("*.yml")))
    for kind, name in re.findall(r"\$\{\{\s*(vars|secrets)\.([A-Z_]+)", text):
        if name != "GITHUB_TOKEN":
            assert f"`{name}`" in docs, f"docs/deployment.md does not document the {kind} {name}"
