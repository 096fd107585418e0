"""The text of a model card's sections: the generated ones from facts, and the placeholders.

Facts come in as the JSON-ready dict ``cards.generate`` gathers; everything here is a pure
function of it, so a card reads the same on every backend and in every test.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

# The paper's sections, in its order: key -> title.
SECTIONS: dict[str, str] = {
    "model_details": "Model details",
    "intended_use": "Intended use",
    "factors": "Factors",
    "metrics": "Metrics",
    "evaluation_data": "Evaluation data",
    "training_data": "Training data",
    "quantitative_analyses": "Quantitative analyses",
    "ethical_considerations": "Ethical considerations",
    "caveats_and_recommendations": "Caveats and recommendations",
}
# What the owner is asked to write in each human section.
HUMAN_SECTIONS: dict[str, str] = {
    "intended_use": "the primary intended uses and users, and the uses that are out of scope.",
    "factors": (
        "the groups, instruments and environments across which the model's performance may "
        "vary, and which of them the evaluation covers."
    ),
    "ethical_considerations": (
        "sensitive data the model uses, the risks it poses to people and how they are "
        "mitigated, and uses that could cause harm."
    ),
    "caveats_and_recommendations": (
        "known limitations, conditions under which the model should not be used, and the "
        "further tests you recommend."
    ),
}
GENERATED_SECTIONS = tuple(k for k in SECTIONS if k not in HUMAN_SECTIONS)
# Run inputs in these contexts are evaluation data, not training data.
EVAL_CONTEXTS = frozenset({"eval", "evaluation", "test", "testing", "validation", "valid"})


def placeholder(key: str, facts: Mapping[str, Any]) -> str:
    text = f"_To be written by the model owner: {HUMAN_SECTIONS[key]}_"
    if key == "factors":
        columns = sorted({s["column"] for s in slices(facts)})
        if columns:
            text += "\n\nThe evaluation reports performance by " + ", ".join(
                f"`{c}`" for c in columns
            )
            text += " (see Quantitative analyses)."
    return text


def generated_sections(facts: Mapping[str, Any]) -> dict[str, str]:
    return {
        "model_details": _model_details(facts),
        "metrics": _metrics(facts),
        "evaluation_data": _evaluation_data(facts),
        "training_data": _training_data(facts),
        "quantitative_analyses": _quantitative(facts),
    }


def _model_details(facts: Mapping[str, Any]) -> str:
    model, run = facts["model"], facts["run"]
    lines = [f"- **Model**: {model['name']} version {model['version']} (`{model['uri']}`)"]
    for label, key in (("Description", "description"), ("About the model", "model_description")):
        if model[key]:
            lines.append(f"- **{label}**: {_inline(model[key])}")
    lines.append(f"- **Project**: {model['project']}")
    lines.append(f"- **Flavor**: {model['flavor'] or 'unknown'}")
    lines.append(f"- **Registered by**: {model['created_by']} on {when(model['created_at'])}")
    lines.append(f"- **Package digest**: `{model['package_digest']}`")
    if model["aliases"]:
        lines.append(f"- **Aliases**: {', '.join(model['aliases'])}")
    if model["replaces_version"] is not None:
        lines.append(f"- **Replaces**: version {model['replaces_version']}")
    if model["tags"]:
        lines.append(
            f"- **Tags**: {', '.join(f'{k}={_inline(v)}' for k, v in model['tags'].items())}"
        )
    columns = _signature_columns(model["signature"])
    if columns:
        lines.append(f"- **Inputs**: {', '.join(columns)}")
    if run is None:
        lines.append(
            "- **Training run**: none recorded (the version was not registered from a run)"
        )
    else:
        lines.append(
            f"- **Training run**: `{run['id']}` ({_inline(run['name'])}) by {run['user']}, "
            f"{run['status']}, started {when(run['start_time'])}"
        )
        if run["git_commit"]:
            dirty = " with uncommitted changes" if run["git_dirty"] else ""
            lines.append(f"- **Code**: git commit `{run['git_commit']}`{dirty}")
        if run["entry_point"] or run["source"]:
            lines.append(f"- **Entry point**: `{run['entry_point'] or run['source']}`")
        if run["python_version"]:
            lines.append(f"- **Python**: {run['python_version']}")
    decisions = facts["decisions"]
    if decisions:
        said = [
            f"{d['decision']} by {d['reviewer']} on {when(d['at'])}"
            + (f" ({_inline(d['comment'])})" if d["comment"] else "")
            for d in decisions
        ]
        lines.append(f"- **Review decisions**: {'; '.join(said)}")
    else:
        lines.append("- **Review decisions**: none yet")
    out = "\n".join(lines)
    if run is not None and run["params"]:
        rows_ = [[f"`{k}`", v] for k, v in sorted(run["params"].items())]
        out += "\n\nParameters of the training run:\n\n" + _table(["param", "value"], rows_)
    return out


def _metrics(facts: Mapping[str, Any]) -> str:
    parts = []
    evaluation, run = facts["evaluation"], facts["run"]
    if evaluation is not None:
        champion = evaluation["champion_metrics"] or {}
        head = ["metric", "value"] + (
            [f"champion (v{evaluation['champion_version']})"] if champion else []
        )
        body = [
            [f"`{k}`", _num(v)] + ([_num(champion.get(k))] if champion else [])
            for k, v in sorted(evaluation["metrics"].items())
        ]
        if body:
            parts.append(
                f"On the evaluation data (latest evaluation, {when(evaluation['created_at'])}):"
                "\n\n" + _table(head, body)
            )
        gates = [c for c in evaluation["checks"] if c.get("type") != "slice"]
        if gates:
            parts.append(
                "Gate checks:\n\n"
                + _table(
                    ["check", "verdict", "value", "threshold"],
                    [
                        [
                            f"`{c.get('name')}`",
                            _verdict(c),
                            _num(c.get("value")),
                            c.get("threshold"),
                        ]
                        for c in gates
                    ],
                )
            )
    if run is not None and run["metrics"]:
        body = [[f"`{k}`", _num(v)] for k, v in sorted(run["metrics"].items())]
        parts.append(
            "Logged by the training run (latest values):\n\n" + _table(["metric", "value"], body)
        )
    if not parts:
        name, version = facts["model"]["name"], facts["model"]["version"]
        return (
            "_No metrics on record: log them in the training run, or run "
            f"`modeldeck models evaluate {name} {version} --data FILE`._"
        )
    return "\n\n".join(parts)


def _evaluation_data(facts: Mapping[str, Any]) -> str:
    evaluation = facts["evaluation"]
    parts = []
    if evaluation is None:
        name, version = facts["model"]["name"], facts["model"]["version"]
        parts.append(
            "_No evaluation on record: run "
            f"`modeldeck models evaluate {name} {version} --data FILE`._"
        )
    else:
        verdict = "passed every gate" if evaluation["passed"] else "failed its gates"
        known = evaluation["dataset"]
        lines = [
            f"- **Dataset digest**: `{evaluation['dataset_digest'] or 'not recorded'}`",
        ]
        if known:
            lines.append(f"- **Dataset**: {_inline(known['name'])}")
            if known["source"]:
                lines.append(f"- **Source**: {_inline(known['source'])}")
        if evaluation["rows"] is not None:
            lines.append(f"- **Rows**: {evaluation['rows']}")
        if evaluation["task"]:
            lines.append(f"- **Task**: {evaluation['task']}")
        if evaluation["champion_version"] is not None:
            lines.append(f"- **Compared with**: champion version {evaluation['champion_version']}")
        lines.append(
            f"- **Evaluated**: by {evaluation['actor']} on {when(evaluation['created_at'])}; "
            f"{verdict} (evaluation `{evaluation['id']}`, "
            f"{facts['evaluations']} on record)"
        )
        parts.append("\n".join(lines))
    held_out = [d for d in facts["datasets"] if d["context"] in EVAL_CONTEXTS]
    if held_out:
        parts.append("Held-out data logged with the training run:\n\n" + _datasets_table(held_out))
    return "\n\n".join(parts)


def _training_data(facts: Mapping[str, Any]) -> str:
    used = [d for d in facts["datasets"] if d["context"] not in EVAL_CONTEXTS]
    if not used:
        return (
            "_No training data on record: log it in the training run with "
            "`modeldeck.log_dataset(frame, name=..., context='train')`._"
        )
    out = "Datasets used by the training run (and the runs above it):\n\n" + _datasets_table(used)
    schemas = [
        f"- {_inline(d['name'])}: "
        + ", ".join(f"`{c}` ({t})" for c, t in list(d["columns"].items())[:50])
        + (" …" if len(d["columns"]) > 50 else "")
        for d in used
        if d["columns"]
    ]
    if schemas:
        out += "\n\nColumns:\n\n" + "\n".join(schemas)
    return out


def _quantitative(facts: Mapping[str, Any]) -> str:
    evaluation = facts["evaluation"]
    if evaluation is None:
        return "_No evaluation on record, so no results by slice._"
    overall = evaluation["metrics"]
    head = "Overall: " + (
        ", ".join(f"{k} {_num(v)}" for k, v in sorted(overall.items())) or "no metrics"
    )
    if evaluation["rows"] is not None:
        head += f" on {evaluation['rows']} rows"
    found = slices(facts)
    if not found:
        return (
            head + ".\n\n_The latest evaluation has no slice checks: add a `slice` check to the "
            "policy to report performance for each group._"
        )
    parts = [head + "."]
    for column in dict.fromkeys(s["column"] for s in found):
        group = [s for s in found if s["column"] == column]
        thresholds = sorted({str(s["threshold"]) for s in group if s["threshold"]})
        body = [
            [
                s["value"],
                f"`{s['metric']}`",
                _num(s["score"]),
                _num(overall.get(s["metric"])),
                s["rows"],
                s["verdict"],
            ]
            for s in group
        ]
        text = f"### By `{column}`\n\n"
        if thresholds:
            text += f"Threshold: {'; '.join(thresholds)}.\n\n"
        text += _table(["slice", "metric", "value", "overall", "rows", "verdict"], body)
        flagged = [s for s in group if s["raw_verdict"] in ("fail", "error")]
        if flagged:
            text += "\n\n" + "\n".join(
                f"- {s['raw_verdict']}: {_inline(s['detail'])}" for s in flagged
            )
        parts.append(text)
    return "\n\n".join(parts)


_ROWS = re.compile(r"\bon (\d+) rows\b")


def slices(facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Slice checks of the latest evaluation, read from their names (``slice:col=value:metric``)."""
    evaluation = facts["evaluation"]
    if evaluation is None:
        return []
    out = []
    for check in evaluation["checks"]:
        if check.get("type") != "slice":
            continue
        body = str(check.get("name", "")).removeprefix("slice:")
        group, _, metric = body.rpartition(":")
        if not group:
            group, metric = body, ""
        column, has_value, value = group.partition("=")
        detail = str(check.get("detail") or "")
        found = _ROWS.search(detail)
        out.append(
            {
                "column": column,
                "value": value if has_value else "(all)",
                "metric": metric,
                "score": check.get("value"),
                "rows": found.group(1) if found else "—",
                "verdict": _verdict(check),
                "raw_verdict": check.get("verdict"),
                "threshold": check.get("threshold"),
                "detail": detail,
            }
        )
    return out


# --- Markdown helpers -----------------------------------------------------------------------


def _table(head: Sequence[str], body: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in body]
    return "\n".join(lines)


def _datasets_table(used: Sequence[Mapping[str, Any]]) -> str:
    return _table(
        ["dataset", "context", "digest", "rows", "source"],
        [
            [
                d["name"],
                d["context"],
                f"`{d['digest']}`",
                d["rows"] if d["rows"] is not None else "—",
                d["source"] or "—",
            ]
            for d in used
        ],
    )


def _cell(value: Any) -> str:
    text = "—" if value is None else str(value)
    return " ".join(text.split()).replace("|", "\\|")


def _inline(value: Any) -> str:
    return " ".join(str(value).split())


def _verdict(check: Mapping[str, Any]) -> str:
    verdict = str(check.get("verdict", "—"))
    return f"**{verdict}**" if verdict in ("fail", "error") else verdict


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else str(value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def when(ms: int | None) -> str:
    if ms is None:
        return "—"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _signature_columns(signature: Mapping[str, Any] | None) -> list[str]:
    inputs = (signature or {}).get("inputs")
    if not isinstance(inputs, list):
        return []
    out = []
    for item in inputs[:50]:
        if isinstance(item, Mapping) and "name" in item:
            kind = f" ({item['type']})" if item.get("type") else ""
            out.append(f"`{item['name']}`{kind}")
    return out
