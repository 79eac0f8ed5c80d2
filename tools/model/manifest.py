#!/usr/bin/python3
"""Writes and checks model manifests (format sparkify-model/2; see README.md).

  manifest.py write TEMPLATE MODEL OUT [--source JSON] [--conversion JSON]
      OUT = TEMPLATE's fields + the sha256 and size of MODEL (which must sit beside OUT
      under the template's "file" name) + the given source/conversion facts.
  manifest.py check MANIFEST
      Exit 0 when the model file exists and matches the manifest's sha256 and size;
      otherwise a message and exit 1.
  manifest.py sync TEMPLATE MANIFEST
      Copies the fields a prepared model takes from the template and not from its file
      (SYNCED: the precisions it is offered in) into MANIFEST where they differ (removes
      those the template lacks); prints what changed.

Python standard library only.
"""

import hashlib
import json
import os
import sys

FORMAT = "sparkify-model/2"
# What the template decides alone: a new release may offer a model in another precision
# (it passed the quality gate) without preparing it again.
SYNCED = ("precisions",)
REQUIRED = ("format", "name", "file", "sha256", "size", "input", "output", "licence")


class ManifestError(Exception):
    pass


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def check(manifest_path):
    try:
        m = load(manifest_path)
    except (OSError, ValueError) as e:
        raise ManifestError(f"cannot read {manifest_path}: {e}") from e
    missing = [k for k in REQUIRED if k not in m]
    if missing:
        raise ManifestError(f"{manifest_path} lacks {', '.join(missing)}")
    if m["format"] != FORMAT:
        raise ManifestError(f"{manifest_path} is {m['format']}, not {FORMAT}")
    model = os.path.join(os.path.dirname(os.path.abspath(manifest_path)), m["file"])
    if not os.path.isfile(model):
        raise ManifestError(f"{model} is missing")
    size = os.path.getsize(model)
    if size != m["size"]:
        raise ManifestError(f"{model} is {size} bytes, the manifest says {m['size']}")
    actual = sha256_of(model)
    if actual != m["sha256"]:
        raise ManifestError(f"{model} sha256 is {actual}, the manifest says {m['sha256']}")
    return m


def write(template, model, out, source=None, conversion=None):
    m = load(template)
    if os.path.dirname(os.path.abspath(model)) != os.path.dirname(os.path.abspath(out)) \
            or os.path.basename(model) != m["file"]:
        raise ManifestError(f"the model must be {m['file']} beside the manifest")
    facts = {"sha256": sha256_of(model), "size": os.path.getsize(model)}
    if source:
        m.setdefault("source", {}).update(source)
    if conversion:
        m["conversion"] = conversion
    # The model's own sha256 and size go right after its file name.
    keys = list(m)
    at = keys.index("file") + 1
    m = {k: m[k] for k in keys[:at]} | facts | {k: m[k] for k in keys[at:]}
    dump(m, out)
    return m


def dump(m, out):
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(m, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, out)


def sync(template, manifest_path):
    """The SYNCED fields as the template has them (one it lacks is removed: its default then
    holds); returns what changed, None for a removed field."""
    t, m = load(template), load(manifest_path)
    changed = [k for k in SYNCED if m.get(k) != t.get(k)]
    for k in changed:
        if k in t:
            m[k] = t[k]
        else:
            del m[k]
    if changed:
        dump(m, manifest_path)
    return {k: t.get(k) for k in changed}


def main(argv):
    try:
        if len(argv) >= 2 and argv[0] == "check":
            m = check(argv[1])
            print(f"{m['name']}: sha256 {m['sha256']} ok")
            return 0
        if len(argv) == 3 and argv[0] == "sync":
            for k, v in sync(argv[1], argv[2]).items():
                print(f"{argv[2]}: {k} now {json.dumps(v) if v is not None else 'the default'}")
            return 0
        if len(argv) >= 4 and argv[0] == "write":
            opts = dict(zip(argv[4::2], argv[5::2]))
            extra = {k: json.loads(v) for k, v in opts.items()}
            write(argv[1], argv[2], argv[3], extra.get("--source"), extra.get("--conversion"))
            return 0
    except (ManifestError, OSError, ValueError) as e:
        print(f"manifest: {e}", file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
