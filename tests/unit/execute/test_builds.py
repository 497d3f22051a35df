"""What dockstep adds to image builds: the CA after each FROM, proxies, the failing tail."""

from __future__ import annotations

from pathlib import Path

from runner.engine.api import BuildRequest
from runner.execute import builds
from runner.execute.environment import CA_VARIABLES
from runner.execute.settings import RunSettings

ADDED = [f"COPY {builds.CA_FILE} {builds.CA_IN_IMAGE}"] + [
    f"ARG {name}={builds.CA_IN_IMAGE}" for name in CA_VARIABLES
]


def test_the_ca_follows_every_from_even_a_continued_one() -> None:
    dockerfile = "ARG BASE\nFROM ${BASE} AS a\nRUN x\nfrom \\\n  scratch\nCOPY --from=a /x /x\n"
    lines = builds.with_ca(dockerfile).splitlines()
    assert lines == [
        "ARG BASE", "FROM ${BASE} AS a", *ADDED, "RUN x", "from \\", "  scratch", *ADDED,
        "COPY --from=a /x /x",
    ]  # fmt: skip


def test_an_escape_directive_changes_the_continuation_character() -> None:
    lines = builds.with_ca("# escape=`\nFROM a `\n  AS b\nRUN x\n").splitlines()
    assert lines == ["# escape=`", "FROM a `", "  AS b", *ADDED, "RUN x"]


def test_proxies_are_the_predefined_args_that_are_set() -> None:
    environ = {"HTTPS_PROXY": "http://p:3128", "no_proxy": "localhost", "HTTP_PROXY": "", "X": "1"}
    assert builds.proxy_variables(environ) == (
        ("HTTPS_PROXY", "http://p:3128"),
        ("no_proxy", "localhost"),
    )


def settings(tmp_path: Path, ca: Path | None) -> RunSettings:
    return RunSettings(
        run_id="r", workspace=tmp_path, network="n", labels=(), builtins=(), ca_bundle=ca,
        proxy=(("HTTPS_PROXY", "http://p:3128"),),
    )  # fmt: skip


def test_prepare_adds_the_generated_dockerfile_and_the_bundle(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    request = BuildRequest(
        context=str(tmp_path), dockerfile="Dockerfile", tag="t", args=(("A", "1"),)
    )
    prepared = builds.prepare(request, settings(tmp_path, ca))
    assert prepared.args == (("A", "1"), ("HTTPS_PROXY", "http://p:3128"))
    assert prepared.dockerfile == ".dockstep-build/Dockerfile"
    assert dict(prepared.files) == {
        ".dockstep-build/Dockerfile": "FROM scratch\n" + "\n".join(ADDED) + "\n",
        builds.CA_FILE: "-----BEGIN CERTIFICATE-----\n",
    }
    assert builds.tag_inputs(settings(tmp_path, ca)) != {}
    plain = builds.prepare(request, settings(tmp_path, None))
    assert (plain.dockerfile, plain.files) == ("Dockerfile", ())
    assert builds.tag_inputs(settings(tmp_path, None)) == {}


def test_a_failed_build_names_the_last_lines_of_its_failing_instruction() -> None:
    seen: list[bytes] = []
    tail = builds.BuildTail(seen.append)
    for chunk in (b"Step 1/2 : RUN ok\n ---> Running in 1\nfine\n", b"Step 2/2 : RUN pip", b" x\n"):
        tail(chunk)
    tail(b"Collecting x\nERROR: CERTIFICATE_VERIFY_FAILED\n")
    assert b"".join(seen).endswith(b"CERTIFICATE_VERIFY_FAILED\n")
    assert tail.explain("returned a non-zero code: 1") == (
        "returned a non-zero code: 1\nlast lines of the failing instruction's output:\n"
        "  Collecting x\n  ERROR: CERTIFICATE_VERIFY_FAILED"
    )
