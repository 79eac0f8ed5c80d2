#!/usr/bin/env python3
"""Writes the identity policies of deploy/template.yaml from `sparkify policy`, so the
template, `sparkify up` and the docs share one source (src/access).

Each block between `# BEGIN GENERATED <principal>` and `# END GENERATED <principal>` is
replaced by `sparkify policy --principal <principal> --bucket '${Bucket}'` (the web app's
with `--function-arn '${Function.Arn}'`) as YAML at the marker's indentation, every string
holding `${...}` under CloudFormation's !Sub. The function's block is its role's policy; the
web app's is the managed policy WebPolicy, which the web tasks' role and the web user share.

  deploy/sync-policies.py [--sparkify build/sparkify] [--template deploy/template.yaml] [--check]
    --check   change nothing; exit 1 and show the difference if the template is out of date
"""
import argparse
import difflib
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# What the template's placeholders are; the test substitutes the same ones.
BUCKET = "${Bucket}"
FUNCTION_ARN = "${Function.Arn}"
BLOCK = re.compile(r"^(?P<indent>[ ]*)# BEGIN GENERATED (?P<name>\w+):.*\n"
                   r"(?P<body>(?:.*\n)*?)"
                   r"(?P=indent)# END GENERATED (?P=name)\n", re.M)
PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9:_*/.-]*$")
YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def policy(sparkify, principal):
    cmd = [sparkify, "policy", "--principal", principal, "--bucket", BUCKET]
    if principal == "web":
        cmd += ["--function-arn", FUNCTION_ARN]
    return json.loads(subprocess.check_output(cmd, text=True))


def scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if "${" in value:
        return "!Sub " + json.dumps(value)
    if PLAIN.match(value) and value.lower() not in YAML_WORDS:
        return value
    return json.dumps(value)


def to_yaml(value, indent):
    """Block-style YAML lines for a JSON value (objects keep their order)."""
    pad = " " * indent
    lines = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append("%s%s:" % (pad, key))
                lines += to_yaml(item, indent + 2)
            else:
                lines.append("%s%s: %s" % (pad, key, scalar(item)))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                inner = to_yaml(item, indent + 2)
                lines.append(pad + "- " + inner[0][indent + 2:])
                lines += inner[1:]
            else:
                lines.append("%s- %s" % (pad, scalar(item)))
    return lines


def render(text, sparkify):
    def replace(m):
        indent = m.group("indent")
        body = "\n".join(to_yaml(policy(sparkify, m.group("name")), len(indent))) + "\n"
        head = m.group(0).splitlines(True)[0]
        return head + body + "%s# END GENERATED %s\n" % (indent, m.group("name"))
    out, n = BLOCK.subn(replace, text)
    if n != 2:
        raise SystemExit("sync-policies: expected the function and web blocks, found %d" % n)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sparkify", default=os.path.join(os.path.dirname(HERE), "build", "sparkify"))
    ap.add_argument("--template", default=os.path.join(HERE, "template.yaml"))
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    with open(args.template) as f:
        old = f.read()
    new = render(old, args.sparkify)
    if args.check:
        if new != old:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(True), new.splitlines(True), args.template, "generated"))
            print("sync-policies: %s is out of date: run deploy/sync-policies.py" % args.template)
            return 1
        return 0
    if new != old:
        with open(args.template, "w") as f:
            f.write(new)
        print("sync-policies: updated %s" % args.template)
    return 0


if __name__ == "__main__":
    sys.exit(main())
