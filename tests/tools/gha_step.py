#!/usr/bin/env python3
"""Print how GitHub Actions would run one step of a workflow, as JSON.

    gha_step.py WORKFLOW JOB STEP-NAME

Output: {"argv": [...], "run": "...", "if": "...", "index": N} where argv is
the command GitHub starts for the step's `run:` script, with "{0}" standing
for the script file. The shell follows GitHub's documented rules for Linux
runners: the step's `shell:`, else the job's `defaults.run.shell`, else the
workflow's; none at all is `bash -e {0}`; `bash` is
`bash --noprofile --norc -eo pipefail {0}`; `sh` is `sh -e {0}`; anything
else is taken as a command template.
"""
import json
import shlex
import sys

import yaml


def shell_argv(shell):
    if shell is None:
        return ["bash", "-e", "{0}"]
    if shell == "bash":
        return ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"]
    if shell == "sh":
        return ["sh", "-e", "{0}"]
    argv = shlex.split(shell)
    return argv if "{0}" in argv else argv + ["{0}"]


def main():
    path, job_id, step_name = sys.argv[1:4]
    with open(path, encoding="utf-8") as f:
        wf = yaml.safe_load(f)
    job = wf["jobs"][job_id]
    for i, step in enumerate(job["steps"]):
        if step.get("name") != step_name:
            continue
        if "run" not in step:
            sys.exit("step '%s' has no run: script" % step_name)
        shell = step.get("shell")
        if shell is None:
            shell = ((job.get("defaults") or {}).get("run") or {}).get("shell")
        if shell is None:
            shell = ((wf.get("defaults") or {}).get("run") or {}).get("shell")
        print(json.dumps({"argv": shell_argv(shell), "run": step["run"],
                          "if": step.get("if", ""), "index": i}))
        return
    sys.exit("no step named '%s' in job %s" % (step_name, job_id))


if __name__ == "__main__":
    main()
