"""The shell script one Swarm task runs: a job's steps, in order, reporting each by markers.

A manager has no exec, so the steps cannot be exec'd one by one as on the local engine:
the whole job is this POSIX `sh` script (busybox ash and dash alike). Per step it applies
the step's env and workdir, its timeout (a watchdog, then every process but the script is
killed), its retries (the delays of the step's policy, computed here) and `allow_failure`,
and reads the cgroup's `oom_kill` counter before and after, since the manager sees an OOM
only as exit 137. stderr is merged into stdout (the service log loses their interleaving).
Each marker line starts with `::dockstep-NONCE::`, a nonce a step cannot guess, so output
cannot forge a result. Passed artifacts come back as a base64 tar with its sha256. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from runner.execute import environment
from runner.execute.settings import RunSettings
from runner.model.pipeline import Job, RetryPolicy, Step, Steps

SECRETS_DIR = "/run/secrets"
PATH = "/dockstep/steps.sh"  # where the task finds this script (a Swarm config)

PRELUDE = """\
exec 2>&1
M={marker}
D=$(mktemp -d 2>/dev/null) || {{ D=/tmp/.dockstep-$$; mkdir -p "$D"; }}
_oom() {{
  for f in /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control; do
    [ -r "$f" ] || continue
    while read -r k v; do [ "$k" = oom_kill ] && {{ echo "$v"; return; }}; done < "$f"
  done
  echo 0
}}
_sweep() {{
  for p in /proc/[0-9]*; do
    p=${{p#/proc/}}; [ "$p" = 1 ] || [ "$p" = $$ ] || kill -9 "$p" 2>/dev/null
  done
}}
_attempt() {{
  _t=$1; shift; rm -f "$D/timeout"
  "$@" & _pid=$!; _wd=
  if [ -n "$_t" ]; then
    (sleep "$_t"; : > "$D/timeout"; kill -9 "$_pid" 2>/dev/null) & _wd=$!
  fi
  wait "$_pid"; _rc=$?
  [ -z "$_wd" ] || kill "$_wd" 2>/dev/null
  _timed=0
  if [ -e "$D/timeout" ] && [ "$_rc" != 0 ]; then _timed=1; _sweep; fi
}}
_blocked=0; _status=0
"""

STEP = """\
if [ "$_blocked" = 0 ]; then
  echo "$M begin {index}"
  _n=0
  for _d in {delays}; do
    if [ -n "$_d" ]; then echo "$M retry {index} $((_n + 1)) $_d"; sleep "$_d"; fi
    _n=$((_n + 1)); _o=$(_oom)
    _attempt {timeout} _s{index}
    {{ [ "$_rc" != 0 ] && [ "$_timed" = 0 ]; }} || break
  done
  _k=0; [ "$_rc" != 0 ] && [ "$(_oom)" -gt "$_o" ] && _k=1
  echo "$M end {index} $_rc $_n $_k $_timed"
  if [ "$_rc" != 0 ] && [ {allowed} = 0 ]; then _blocked=1; _status=$_rc; fi
fi
"""

ARTIFACTS = """\
if [ "$_blocked" = 0 ] && cd {workdir}; then
  set --
  for p in {paths}; do [ -e "$p" ] && set -- "$@" "$p"; done
  if [ $# -gt 0 ] && tar -cf "$D/a.tar" "$@"; then
    set -- $(sha256sum "$D/a.tar")
    echo "$M artifacts $1"; base64 "$D/a.tar"; echo "$M artifacts-end"
  fi
fi
"""


def quote(text: str) -> str:
    """`text` as one single-quoted sh word."""
    return "'" + text.replace("'", "'\\''") + "'"


def marker(nonce: str) -> str:
    return f"::dockstep-{nonce}::"


def delays(policy: RetryPolicy) -> tuple[float, ...]:
    """The wait before each retry, as `runner.retrying` (tenacity's exponential wait) has it."""
    if not policy.delay:
        return (0.0,) * policy.max_retries
    return tuple(
        min(policy.max_delay, policy.delay * policy.backoff**attempt)
        for attempt in range(policy.max_retries)
    )


def wrapper(
    settings: RunSettings, job: Job, action: Steps, *, nonce: str, secrets: Iterable[str]
) -> str:
    """The script of one job: secrets read from their files, one function per step, the
    steps in order, then the artifacts; it exits with the first blocking step's code."""
    names = sorted(secrets)
    parts = [
        f"# dockstep: the steps of job {job.name}, generated for one Swarm task\n",
        PRELUDE.format(marker=quote(marker(nonce))),
        *(f'{n}="$(cat {SECRETS_DIR}/{n})"; export {n}\n' for n in names),
        *(
            _function(settings, job, action, index=i, step=step, secrets=names)
            for i, step in enumerate(action.steps)
        ),
        *(_step(i, step) for i, step in enumerate(action.steps)),
    ]
    if job.artifacts:
        paths = " ".join(quote(path) for path in job.artifacts)
        parts.append(ARTIFACTS.format(workdir=quote(action.workdir), paths=paths))
    parts.append('echo "$M done $_status"\nexit "$_status"\n')
    return "".join(parts)


def _function(
    settings: RunSettings, job: Job, action: Steps, *, index: int, step: Step, secrets: list[str]
) -> str:
    """A step as a function run in the background: its env, its workdir, `sh -e -c`."""
    env = [
        f"  {name}={quote(value)}; export {name}\n"
        for name, value in environment.step_env(settings, job, step)
        if name not in secrets  # they come from files, never from the script
    ]
    workdir = quote(step.workdir or action.workdir)
    # +1000: under memory pressure the kernel kills the step's processes, never this
    # script (raising it needs no privilege), so the step's OOM is reported as the step's
    return (
        f"_s{index}() {{\n  cd {workdir} || exit 1\n{''.join(env)}"
        "  echo 1000 > /proc/self/oom_score_adj 2>/dev/null || true\n"
        f"  exec sh -e -c {quote(step.run)}\n}}\n"
    )


def _step(index: int, step: Step) -> str:
    waits = " ".join(f"{seconds:g}" for seconds in delays(step.retry))
    return STEP.format(
        index=index,
        delays=f"'' {waits}".rstrip(),
        timeout=quote(f"{step.timeout:g}" if step.timeout else ""),
        allowed=int(step.allow_failure),
    )
