"""A plan as a Mermaid or Graphviz DOT diagram. Pure."""

from __future__ import annotations

from runner.plan.plan import Plan


def _node_id(name: str) -> str:
    return "j_" + "".join(c if c.isalnum() else "_" for c in name)


def mermaid(plan: Plan) -> str:
    lines = ["flowchart LR"]
    for index, stage in enumerate(plan.pipeline.stages):
        members = [p for p in plan.jobs if p.job.stage == stage]
        if not members:
            continue
        lines.append(f'  subgraph stage_{index} ["{stage}"]')
        lines += [f'    {_node_id(p.name)}["{p.name}"]' for p in members]
        lines.append("  end")
    for planned in plan.jobs:
        lines += [f"  {_node_id(w)} --> {_node_id(planned.name)}" for w in planned.waits_for]
    return "\n".join(lines)


def dot(plan: Plan) -> str:
    lines = ["digraph pipeline {", "  rankdir=LR;"]
    for index, stage in enumerate(plan.pipeline.stages):
        members = [p for p in plan.jobs if p.job.stage == stage]
        if not members:
            continue
        lines.append(f'  subgraph cluster_{index} {{ label="{stage}";')
        lines += [f'    "{p.name}";' for p in members]
        lines.append("  }")
    for planned in plan.jobs:
        lines += [f'  "{w}" -> "{planned.name}";' for w in planned.waits_for]
    lines.append("}")
    return "\n".join(lines)
