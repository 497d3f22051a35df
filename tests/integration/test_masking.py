"""A secret a step prints plainly, as base64 or URL-encoded is masked wherever it shows."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_plus

from tests.integration.fixtures.workspace import Workspace

VALUE = "hunter2 & friends/ok?>"  # its base64 holds '/' and padding; URL encoding changes it


def test_no_form_of_a_secret_appears_on_screen_in_the_log_or_in_the_report(
    workspace: Workspace,
) -> None:
    padded = base64.b64encode(VALUE.encode()).decode()
    urlsafe = base64.urlsafe_b64encode(VALUE.encode()).decode()
    url = quote_plus(VALUE)
    forms = {"plain": VALUE, "base64": padded, "base64url": urlsafe, "url": url}
    assert len(set(forms.values())) == 4, forms  # each form differs from the others
    steps = [
        'echo "plain=$SECRET"',
        'echo "base64=$(printf %s "$SECRET" | base64)"',
        "echo \"base64url=$(printf %s \"$SECRET\" | base64 | tr '+/' '-_')\"",
        f"printf 'url=%s\\n' '{url}'",
    ]
    workspace.pipeline(
        "secrets: [SECRET]\njobs:\n  leak:\n    steps:\n"
        + "".join(f"      - {json.dumps(step)}\n" for step in steps)
    )
    result = workspace.run(env={"SECRET": VALUE})
    assert result.code == 0, result
    printed = [line for line in result.lines_of("leak") if not line.startswith("$ ")]
    assert printed == [f"{name}=***" for name in forms], result  # each form was printed
    log = (workspace.path / ".dockstep" / "runs" / result.run_id / "leak.log").read_text()
    report = (workspace.path / "report.json").read_text()
    for name, form in forms.items():
        for where, text in {"stdout": result.stdout, "log": log, "report": report}.items():
            assert form not in text, f"the {name} form of the secret is in the {where}"
