"""Build pipelines for unit tests from YAML text, the way users write them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runner.loader import load_pipeline_text
from runner.model import Pipeline

IMAGE = "busybox@sha256:" + "a" * 64


def pipeline(text: str, workspace: Path = Path("/nonexistent")) -> Pipeline:
    body = textwrap.dedent(text)
    if "defaults:" not in body:
        body = f"defaults: {{image: '{IMAGE}'}}\n{body}"
    if "version:" not in body:
        body = f"version: 1\n{body}"
    return load_pipeline_text(body, file="pipelines/test.yml", workspace=workspace)
