"""The approval gate (approved up front, by file, refused when nobody can answer, waited
for on a terminal, cancelled) and artifacts (archived with checksums, verified on use)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest

from runner.delivery import approvals
from runner.delivery.approvals import ApprovalMissing, Gate, approval_file, approve
from runner.errors import UsageError
from runner.execute import artifacts
from runner.execute.artifacts import ArtifactError

RUN = "20261125-151015-048fdf"
JOB = "deploy-prod"


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """The runs directory, with this run's own directory made (as `dockstep run` does)."""
    (tmp_path / "runs" / RUN).mkdir(parents=True)
    return tmp_path / "runs"


@pytest.fixture
def fast_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(approvals, "POLL", 0.01)


class Said:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.waiting = threading.Event()

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        if line.startswith("waiting for approval"):
            self.waiting.set()


def test_a_job_approved_up_front_goes_ahead(runs: Path) -> None:
    said = Said()
    Gate(runs / RUN, RUN, interactive=False, approved=(JOB,)).wait(JOB, "production", said)
    assert said.lines == ["deploy to production approved"]


def test_an_approval_file_given_before_the_deploy_is_enough(runs: Path) -> None:
    path = approve(runs, RUN, JOB)
    assert path == approval_file(runs / RUN, JOB)
    assert path.is_file()
    said = Said()
    Gate(runs / RUN, RUN, interactive=False).wait(JOB, "production", said)
    assert said.lines == ["deploy to production approved"]


def test_an_approval_of_another_job_does_not_count(runs: Path) -> None:
    approve(runs, RUN, "deploy-staging")
    gate = Gate(runs / RUN, RUN, interactive=False, approved=("deploy-staging",))
    with pytest.raises(ApprovalMissing):
        gate.wait(JOB, "production", Said())


def test_a_run_nobody_can_answer_fails_at_once_saying_how_to_approve(runs: Path) -> None:
    gate = Gate(runs / RUN, RUN, interactive=False)
    started = time.monotonic()
    with pytest.raises(ApprovalMissing) as raised:
        gate.wait(JOB, "production", Said())
    assert time.monotonic() - started < 0.2, "it must not wait for an answer that cannot come"
    message = str(raised.value)
    assert message.startswith(f"job {JOB!r}: deploying to production needs approval")
    assert f"--approve {JOB}" in message
    assert f"`dockstep approve {RUN} {JOB}`" in message


def approve_later(runs: Path, said: Said) -> threading.Thread:
    """Approve from another thread once the gate says it waits, as another shell would."""

    def give() -> None:
        assert said.waiting.wait(5), "the gate never said it was waiting"
        time.sleep(0.05)
        approve(runs, RUN, JOB)

    thread = threading.Thread(target=give, daemon=True)
    thread.start()
    return thread


@pytest.mark.usefixtures("fast_poll")
def test_an_interactive_run_waits_until_the_approval_file_appears(runs: Path) -> None:
    said = Said()
    gate = Gate(runs / RUN, RUN, interactive=True)
    giver = approve_later(runs, said)
    started = time.monotonic()
    gate.wait(JOB, "production", said)
    waited = time.monotonic() - started
    giver.join(5)
    assert said.lines == [
        f"waiting for approval to deploy to production: run `dockstep approve {RUN} {JOB}`",
        "deploy to production approved",
    ]
    assert approval_file(runs / RUN, JOB).is_file()
    assert 0.05 <= waited < 5


@pytest.mark.usefixtures("fast_poll")
def test_cancel_stops_the_wait(runs: Path) -> None:
    said = Said()
    gate = Gate(runs / RUN, RUN, interactive=True)

    def cancel() -> None:
        said.waiting.wait(5)
        gate.cancel()

    threading.Thread(target=cancel, daemon=True).start()
    with pytest.raises(ApprovalMissing, match=f"job '{JOB}': cancelled while waiting for approval"):
        gate.wait(JOB, "production", said)
    assert said.waiting.is_set()


@pytest.mark.usefixtures("fast_poll")
def test_a_wait_ends_at_the_jobs_timeout(runs: Path) -> None:
    gate = Gate(runs / RUN, RUN, interactive=True)
    started = time.monotonic()
    with pytest.raises(ApprovalMissing, match=f"^job '{JOB}': no approval within its timeout$"):
        gate.wait(JOB, "production", Said(), timeout=0.1)
    assert 0.1 <= time.monotonic() - started < 2


def test_a_shared_cancel_event_also_stops_the_wait(runs: Path) -> None:
    cancelled = threading.Event()
    cancelled.set()
    gate = Gate(runs / RUN, RUN, interactive=True, cancelled=cancelled)
    with pytest.raises(ApprovalMissing, match="cancelled"):
        gate.wait(JOB, "production", Said())


def test_approving_an_unknown_run_names_the_recent_ones(runs: Path) -> None:
    for older in ("20261125-140000-aaaaaa", "20261125-130000-bbbbbb"):
        (runs / older).mkdir()
    with pytest.raises(UsageError) as raised:
        approve(runs, "20261125-999999-cccccc", JOB)
    message = str(raised.value)
    assert "no run '20261125-999999-cccccc'" in message
    assert f"recent runs: 20261125-130000-bbbbbb, 20261125-140000-aaaaaa, {RUN}" in message
    assert not list(runs.glob("*/approvals"))


def test_approving_with_no_runs_at_all_says_so(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"^no run 'x' is waiting for approvals here \(.*runs\)$"):
        approve(tmp_path / "runs", "x", JOB)


# ---------------------------------------------------------------- artifacts


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def produced(tmp_path: Path) -> tuple[Path, Path]:
    """A workspace where job A wrote out/ and report.txt, and an empty run directory."""
    workspace, run_dir = tmp_path / "repo", tmp_path / "repo" / ".dockstep" / "runs" / RUN
    (workspace / "out" / "nested").mkdir(parents=True)
    (workspace / "out" / "result.txt").write_bytes(b"42\n")
    (workspace / "out" / "nested" / "data.bin").write_bytes(bytes(range(256)) * 10)
    (workspace / "report.txt").write_text("all good\n")
    (workspace / "unrelated.txt").write_text("not an artifact\n")
    run_dir.mkdir(parents=True)
    return workspace, run_dir


def test_archive_copies_the_paths_and_writes_their_checksums(produced: tuple[Path, Path]) -> None:
    workspace, run_dir = produced
    made = artifacts.archive("A", ("out", "report.txt"), workspace, run_dir)
    folder = Path(made.folder)
    assert folder == run_dir / "artifacts" / "A"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest == {
        "job": "A",
        "files": {
            "out/nested/data.bin": sha256(bytes(range(256)) * 10),
            "out/result.txt": sha256(b"42\n"),
            "report.txt": sha256(b"all good\n"),
        },
    }
    assert (folder / "out" / "result.txt").read_bytes() == b"42\n"
    assert not (folder / "unrelated.txt").exists()
    assert artifacts.verified("A", made) == folder
    assert artifacts.mount_point("A") == "/artifacts/A"


def test_the_archive_does_not_follow_later_changes_to_the_workspace(
    produced: tuple[Path, Path],
) -> None:
    workspace, run_dir = produced
    made = artifacts.archive("A", ("out",), workspace, run_dir)
    folder = Path(made.folder)
    (workspace / "out" / "result.txt").write_bytes(b"changed later\n")
    assert artifacts.verified("A", made) == folder
    assert (folder / "out" / "result.txt").read_bytes() == b"42\n"


def test_a_changed_byte_fails_verification_naming_the_file(produced: tuple[Path, Path]) -> None:
    workspace, run_dir = produced
    made = artifacts.archive("A", ("out",), workspace, run_dir)
    target = Path(made.folder) / "out" / "nested" / "data.bin"
    data = bytearray(target.read_bytes())
    data[1000] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(
        ArtifactError, match=r"^artifacts of 'A': out/nested/data\.bin does not match its checksum$"
    ):
        artifacts.verified("A", made)


def test_a_removed_file_fails_verification(produced: tuple[Path, Path]) -> None:
    workspace, run_dir = produced
    made = artifacts.archive("A", ("out",), workspace, run_dir)
    (Path(made.folder) / "out" / "result.txt").unlink()
    with pytest.raises(ArtifactError, match=r"out/result\.txt does not match its checksum"):
        artifacts.verified("A", made)


def test_a_missing_path_is_an_error(produced: tuple[Path, Path]) -> None:
    workspace, run_dir = produced
    with pytest.raises(ArtifactError, match=r"^artifact 'dist' is not in the workspace$"):
        artifacts.archive("A", ("out", "dist"), workspace, run_dir)


def test_an_artifact_symlink_cannot_copy_a_file_from_outside_the_workspace(
    produced: tuple[Path, Path], tmp_path: Path
) -> None:
    """A step (in its container) can leave a symlink in the workspace pointing at any host
    path; dockstep archives on the host, so following it would copy a host file into the
    artifacts the next job gets. The link must be refused, or kept as a link."""
    workspace, run_dir = produced
    secret = tmp_path / "host-secret"
    secret.write_text("host-only secret\n")
    (workspace / "out" / "leak").symlink_to(secret)
    try:
        folder = Path(artifacts.archive("A", ("out",), workspace, run_dir).folder)
    except ArtifactError:
        return
    copied = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    assert not [p for p in copied if b"host-only secret" in p.read_bytes()], (
        "a host file outside the workspace was copied into the artifacts"
    )


def test_rewriting_both_a_file_and_the_manifest_is_still_caught(
    produced: tuple[Path, Path],
) -> None:
    workspace, run_dir = produced
    made = artifacts.archive("A", ("out",), workspace, run_dir)
    folder = Path(made.folder)
    (folder / "out" / "result.txt").write_bytes(b"43\n")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["out/result.txt"] = sha256(b"43\n")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(artifacts.ArtifactError, match=r"out/result\.txt does not match"):
        artifacts.verified("A", made)  # the runner's own record counts, not the manifest


def test_a_file_added_to_an_archive_is_refused(produced: tuple[Path, Path]) -> None:
    workspace, run_dir = produced
    made = artifacts.archive("A", ("out",), workspace, run_dir)
    (Path(made.folder) / "out" / "planted.sh").write_text("echo hi\n")
    with pytest.raises(artifacts.ArtifactError, match=r"out/planted\.sh was added after"):
        artifacts.verified("A", made)
