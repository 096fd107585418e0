"""`modeldeck models ...`: registering, reviewing, promoting and tracing versions from the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import modeldeck
from modeldeck.client import fluent

PASSING = {"checks": [{"name": "metric:auc>=0.7", "verdict": "pass", "value": 0.81}]}
FAILING = {
    "checks": [
        {"name": "metric:auc>=0.7", "verdict": "pass", "value": 0.81},
        {
            "name": "slice:region=south",
            "verdict": "fail",
            "value": 0.58,
            "threshold": ">= 0.65",
            "detail": "south is 0.23 below overall",
        },
    ]
}


def train_run(folder: Path, name: str = "train") -> str:
    """A finished run that used a dataset and logged a real model package under "model"."""
    del folder  # kept for the callers' sake: the package now comes from log_model
    frame = _customers()
    with modeldeck.start_run(experiment="churn", name=name) as run:
        modeldeck.log_dataset(frame, name="customers", context="train")
        modeldeck.log_model(_fit(frame), "model", input_example=frame[["tenure", "plan"]])
    return run.id


def _customers() -> pd.DataFrame:
    plans = ["basic", "pro", "basic", None] * 10
    return pd.DataFrame({"tenure": list(range(40)), "plan": plans, "churned": [1, 0, 0, 1, 0] * 8})


def _fit(frame: pd.DataFrame) -> object:
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="none"),
        OneHotEncoder(handle_unknown="ignore"),
    )
    features = make_column_transformer((encode, ["plan"]), remainder="passthrough")
    return make_pipeline(features, LogisticRegression()).fit(
        frame[["tenure", "plan"]], frame["churned"]
    )


def act_as(monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    monkeypatch.setenv("MODELDECK_USER", user)
    fluent.reset()


def evaluate(name: str, version: int, result: dict[str, object], passed: bool) -> None:
    fluent.client().record_evaluation(
        name,
        version,
        result=result,
        policy={"checks": []},
        passed=passed,
        plots={},
        dataset_digest="e" * 64,
    )


@pytest.fixture
def run_id(tmp_path: Path) -> str:
    return train_run(tmp_path)


@pytest.fixture
def churn(cli, run_id: str) -> str:
    """churn version 1, registered by alice."""
    result = cli("models", "register", run_id, "churn")
    assert result.exit_code == 0, result.output
    return run_id


def test_register_by_id_prefix_and_by_uri(cli, run_id):
    first = cli("models", "register", run_id[:8], "churn", "--description", "baseline")
    assert first.exit_code == 0, first.output
    assert f"Registered models:/churn/1 from runs:/{run_id}/model" in first.stdout
    second = cli(
        "models", "register", f"runs:/{run_id}/model", "churn", "--replaces", "1", "--json"
    )
    assert second.exit_code == 0, second.output
    data = json.loads(second.stdout)
    assert (data["version"], data["uri"], data["replaces_version"]) == (2, "models:/churn/2", 1)
    assert data["run_id"] == run_id and data["flavor"] == "sklearn"


def test_register_refuses_what_is_not_a_model_package(cli, run_id):
    missing = cli("models", "register", run_id, "churn", "--path", "nothing-here")
    assert missing.exit_code == 1
    assert "Traceback" not in missing.output
    bad_name = cli("models", "register", run_id, "bad name")
    assert bad_name.exit_code == 1
    assert "invalid model name" in bad_name.stderr
    registry_uri = cli("models", "register", "models:/churn/1", "churn")
    assert registry_uri.exit_code == 1
    assert "register a run's model" in registry_uri.stderr


def test_list_versions_and_show(cli, churn):
    cli("models", "register", churn, "churn", "--replaces", "1", "-d", "retrained")
    listed = cli("models", "list")
    assert listed.exit_code == 0, listed.output
    assert "churn" in listed.stdout and "champion" in listed.stdout
    models = json.loads(cli("models", "list", "--json").stdout)
    assert [(m["name"], m["latest_version"]) for m in models] == [("churn", 2)]

    table = cli("models", "versions", "churn").stdout
    assert churn[:8] in table and "retrained" in table and "sklearn" in table
    versions = json.loads(cli("models", "versions", "churn", "--json").stdout)
    assert [v["version"] for v in versions] == [1, 2]

    shown = cli("models", "show", "churn", "2")
    assert shown.exit_code == 0, shown.output
    out = shown.stdout
    version = versions[1]
    for text in (churn, version["package_digest"], "sklearn", "tenure", "integer", "2 values"):
        assert text in out
    assert "classes 0, 1" in out and "retrained" in out
    assert "no gate evidence" in out and "no approval by a reviewer other than its author" in out
    detail = json.loads(cli("models", "show", "churn", "2", "--json").stdout)
    columns = {c["name"]: c for c in detail["signature"]["inputs"]}
    assert columns["tenure"]["type"] == "integer" and not columns["tenure"]["nullable"]
    assert columns["plan"]["nullable"] and columns["plan"]["categories"] == ["basic", "pro"]
    assert detail["latest_evaluation"] is None and detail["decisions"] == []
    assert len(detail["promotion"]["champion"]["blockers"]) == 2


def test_list_on_an_empty_registry(cli):
    assert "No registered models" in cli("models", "list").stdout
    assert json.loads(cli("models", "list", "--json").stdout) == []


def test_show_an_unknown_version_exits_1(cli, churn):
    result = cli("models", "show", "churn", "7")
    assert result.exit_code == 1
    assert "has no version 7" in result.stderr
    assert cli("models", "show", "churn", "0").exit_code == 2
    assert cli("models", "versions", "nope").exit_code == 1


def test_author_cannot_approve_their_own_version(cli, churn):
    result = cli("models", "approve", "churn", "1")
    assert result.exit_code == 1
    assert "alice registered churn version 1 and cannot approve it" in result.stderr
    assert json.loads(cli("models", "show", "churn", "1", "--json").stdout)["decisions"] == []


def test_another_user_approves_once(cli, churn, monkeypatch):
    act_as(monkeypatch, "bob")
    approved = cli("models", "approve", "churn", "1", "-m", "looks good")
    assert approved.exit_code == 0, approved.output
    assert "bob approved churn version 1: looks good" in approved.stdout
    again = cli("models", "approve", "churn", "1")
    assert again.exit_code == 1
    assert "bob already approved churn version 1" in again.stderr
    decisions = json.loads(cli("models", "show", "churn", "1", "--json").stdout)["decisions"]
    assert [(d["reviewer"], d["decision"], d["comment"]) for d in decisions] == [
        ("bob", "approved", "looks good")
    ]


def test_promotion_to_champion_lists_every_unmet_condition(cli, churn):
    result = cli("models", "promote", "churn", "1")
    assert result.exit_code == 1
    err = result.stderr
    assert "cannot move 'champion' of churn to version 1" in err
    reasons = [line.strip() for line in err.splitlines() if line.strip().startswith("- ")]
    assert len(reasons) == 2
    assert "no gate evidence" in reasons[0]
    assert "no approval by a reviewer other than its author (alice)" in reasons[1]
    assert "Traceback" not in result.output
    assert json.loads(cli("models", "list", "--json").stdout)[0]["aliases"] == {}


def test_a_failed_gate_and_a_rejection_block_promotion(cli, churn, monkeypatch):
    act_as(monkeypatch, "bob")  # a reviewer's evidence counts; the author's would not
    evaluate("churn", 1, FAILING, passed=False)
    assert cli("models", "reject", "churn", "1", "-m", "south region too weak").exit_code == 0
    shown = cli("models", "show", "churn", "1").stdout
    assert "FAILED" in shown and "slice:region=south" in shown and "0.58" in shown
    assert "metric:auc>=0.7" not in shown  # only the failed checks are listed
    result = cli("models", "promote", "churn", "1")
    assert result.exit_code == 1
    assert "by bob failed its gates: slice:region=south" in result.stderr
    assert "rejected by bob: south region too weak" in result.stderr


def test_promote_after_passed_gates_and_approval(cli, churn, monkeypatch):
    act_as(monkeypatch, "bob")
    evaluate("churn", 1, PASSING, passed=True)
    cli("models", "approve", "churn", "1")
    promoted = cli("models", "promote", "churn", "1", "--json")
    assert promoted.exit_code == 0, promoted.output
    event = json.loads(promoted.stdout)
    assert (event["alias"], event["version"], event["previous_version"]) == ("champion", 1, None)
    shown = cli("models", "show", "churn", "1").stdout
    assert "passed" in shown and "champion: points at this version" in shown
    again = cli("models", "promote", "churn", "1")
    assert "already points at version 1; nothing changed" in again.stdout


def test_a_non_protected_alias_moves_freely(cli, churn):
    cli("models", "register", churn, "churn")
    moved = cli("models", "promote", "churn", "1", "--alias", "challenger")
    assert moved.exit_code == 0, moved.output
    assert "challenger of churn: version — → 1" in moved.stdout
    assert "version 1 → 2" in cli("models", "alias", "churn", "challenger", "2").stdout
    assert json.loads(cli("models", "list", "--json").stdout)[0]["aliases"] == {"challenger": 2}
    removed = cli("models", "unalias", "churn", "challenger")
    assert removed.exit_code == 0, removed.output
    assert "Removed challenger from churn (it pointed at version 2)" in removed.stdout
    assert "nothing changed" in cli("models", "unalias", "churn", "challenger").stdout
    spaced = cli("models", "alias", "churn", "my alias", "1")
    assert spaced.exit_code == 1 and "no spaces" in spaced.stderr


def test_protect_makes_an_alias_need_the_gates(cli, churn):
    result = cli("models", "protect", "churn", "champion", "prod")
    assert result.exit_code == 0, result.output
    assert "Protected aliases of churn: champion, prod" in result.stdout
    refused = cli("models", "alias", "churn", "prod", "1")
    assert refused.exit_code == 1 and "cannot move 'prod'" in refused.stderr


def test_history_and_the_version_an_alias_pointed_at(cli, churn):
    clock = Clock()
    fluent.client().store.clock = clock  # before the registry is first used
    cli("models", "register", churn, "churn")
    clock.set("2026-03-01 13:00")
    assert cli("models", "alias", "churn", "challenger", "1").exit_code == 0
    clock.set("2026-03-01 15:30")
    assert cli("models", "alias", "churn", "challenger", "2").exit_code == 0

    table = cli("models", "history", "churn")
    assert table.exit_code == 0, table.output
    assert "2026-03-01 13:00" in table.stdout and "2026-03-01 15:30" in table.stdout
    events = json.loads(cli("models", "history", "churn", "--alias", "challenger", "--json").stdout)
    assert [(e["previous_version"], e["version"]) for e in events] == [(None, 1), (1, 2)]

    at_two = cli("models", "history", "churn", "--alias", "challenger", "--at", "2026-03-01 14:00")
    assert at_two.exit_code == 0, at_two.output
    assert "challenger of churn pointed at version 1 on 2026-03-01 14:00" in at_two.stdout
    later = json.loads(
        cli("models", "history", "churn", "--at", "2026-03-02 09:00", "--json").stdout
    )
    assert later["aliases"] == {"challenger": 2}
    before = cli("models", "history", "churn", "--at", "2026-02-01 00:00").stdout
    assert "pointed at no version" in before
    bad = cli("models", "history", "churn", "--at", "yesterday-ish")
    assert bad.exit_code == 1 and "cannot read the time" in bad.stderr


class Clock:
    """Store time under the test's control: ms since the epoch, one tick per reading."""

    def __init__(self) -> None:
        self.now = _ms("2026-03-01 12:00")

    def set(self, when: str) -> None:
        self.now = _ms(when)

    def __call__(self) -> int:
        self.now += 1
        return self.now


def _ms(when: str) -> int:
    return int(dt.datetime.fromisoformat(when).astimezone().timestamp() * 1000)


def test_lineage_tree_and_trained_on(cli, tmp_path, dirty_repo):
    git = dirty_repo
    with modeldeck.start_run(experiment="churn", name="sweep") as sweep:
        run_id = train_run(tmp_path, name="trial-3")
    cli("models", "register", run_id, "churn")
    cli("models", "register", run_id, "churn", "--replaces", "1")

    result = cli("models", "lineage", "churn", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    commit = git("rev-parse", "HEAD")
    data = json.loads(cli("models", "lineage", "churn", "2", "--json").stdout)
    digest = data["inputs"][0]["dataset"]["digest"]
    assert f"run trial-3  {run_id}" in out and f"parent run sweep  {sweep.id}" in out
    assert f"git {commit} (dirty" in out
    assert f"dataset customers  digest {digest[:12]}" in out and "(train, 40 rows)" in out
    assert "replaces version 1" in out
    assert out.index("run trial-3") < out.index("parent run sweep") < out.index("replaces")
    assert data["run"]["git_commit"] == commit and data["run"]["git_dirty"] is True
    assert [p["id"] for p in data["parents"]] == [sweep.id]
    assert [v["version"] for v in data["replaces"]] == [1]

    by_name = cli("models", "trained-on", "customers")
    assert by_name.exit_code == 0, by_name.output
    assert "churn/1, churn/2" in by_name.stdout and digest[:12] in by_name.stdout
    uses = json.loads(cli("models", "trained-on", digest[:10], "--json").stdout)
    assert [(u["run_id"], u["context"]) for u in uses] == [(run_id, "train")]
    assert [v["uri"] for v in uses[0]["versions"]] == ["models:/churn/1", "models:/churn/2"]
    unknown = cli("models", "trained-on", "nobody-used-this")
    assert unknown.exit_code == 1 and "no dataset named" in unknown.stderr


def test_a_viewer_cannot_register(cli, run_id, monkeypatch):
    assert cli("users", "grant", "bob", "viewer").exit_code == 0
    act_as(monkeypatch, "bob")
    result = cli("models", "register", run_id, "churn")
    assert result.exit_code == 1
    assert "bob cannot register model versions: it needs the contributor role" in result.stderr


@pytest.mark.parametrize(
    "args",
    [["--help"], ["models", "--help"], ["models", "show", "--help"], ["audit", "--help"]],
)
def test_new_groups_are_listed_and_import_nothing_heavy(args):
    code = (
        "import sys\n"
        "from modeldeck.cli.main import main\n"
        f"sys.argv = ['modeldeck', *{args!r}]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('sqlalchemy', 'pandas', 'numpy', 'sklearn', 'rich.tree')\n"
        "print('LOADED:' + ','.join(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "LOADED:\n" in done.stdout, done.stdout
    if args == ["--help"]:
        for group in ("models", "audit", "users"):
            assert group in done.stdout
