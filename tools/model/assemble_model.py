#!/usr/bin/python3
"""Assembles one resource of @imgly/background-removal-data from the package tarball.

The package's dist/resources.json maps a resource (e.g. /models/medium) to chunk files named
by their sha256, each with its [start, end) offsets. This reads the tarball once (no
extraction), checks every chunk against its name and its offsets, the chunks against each other
(contiguous from 0) and the total against the expected size and sha256, then writes the
resource and the package's licence files into OUT_DIR. Any mismatch: a message naming the
chunk, exit status 1, nothing written. Python standard library only.

Usage: assemble_model.py PACKAGE.tgz RESOURCE OUT_FILE LICENCE_DIR
           --size BYTES [--sha256 HEX]
"""

import argparse
import hashlib
import json
import os
import sys
import tarfile

LICENCE_FILES = ("LICENSE.md", "ThirdPartyLicenses.json", "package.json")


class AssemblyError(Exception):
    pass


def read_members(tgz, wanted):
    """Returns {member name: bytes} for the wanted names, in one pass over the tarball."""
    found = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar:
            if member.name in wanted and member.isfile():
                found[member.name] = tar.extractfile(member).read()
    return found


def assemble(tgz, resource, size, sha256):
    index_name = "package/dist/resources.json"
    index = read_members(tgz, {index_name}).get(index_name)
    if index is None:
        raise AssemblyError(f"{tgz} has no {index_name}")
    entry = json.loads(index).get(resource)
    if entry is None:
        raise AssemblyError(f"{index_name} has no resource {resource}")
    if entry.get("size") != size:
        raise AssemblyError(f"{index_name} says {resource} is {entry.get('size')} bytes, "
                            f"expected {size}")
    chunks = entry["chunks"]
    names = {f"package/dist/{c['hash']}" for c in chunks}
    names.update(f"package/{n}" for n in LICENCE_FILES)
    files = read_members(tgz, names)

    digest, parts, offset = hashlib.sha256(), [], 0
    for i, chunk in enumerate(chunks):
        name, (start, end) = chunk["hash"], chunk["offsets"]
        data = files.get(f"package/dist/{name}")
        if data is None:
            raise AssemblyError(f"chunk {i} ({name}) is missing from the package")
        actual = hashlib.sha256(data).hexdigest()
        if actual != name:
            raise AssemblyError(f"chunk {i} is corrupt: its sha256 is {actual}, its name {name}")
        if start != offset or end - start != len(data):
            raise AssemblyError(f"chunk {i} ({name}) covers [{start}, {end}) with "
                                f"{len(data)} bytes; expected to start at {offset}")
        offset = end
        digest.update(data)
        parts.append(data)
    if offset != size:
        raise AssemblyError(f"{resource} assembles to {offset} bytes, expected {size}")
    if sha256 and digest.hexdigest() != sha256:
        raise AssemblyError(f"{resource} sha256 is {digest.hexdigest()}, expected {sha256}")
    licences = {n: files[f"package/{n}"] for n in LICENCE_FILES if f"package/{n}" in files}
    if "LICENSE.md" not in licences:
        raise AssemblyError("the package has no LICENSE.md")
    return parts, digest.hexdigest(), len(chunks), licences


def write_atomically(path, parts):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        for p in parts:
            f.write(p)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tgz")
    ap.add_argument("resource")
    ap.add_argument("out_file")
    ap.add_argument("licence_dir")
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--sha256")
    args = ap.parse_args()
    try:
        parts, sha, count, licences = assemble(args.tgz, args.resource, args.size, args.sha256)
    except (AssemblyError, OSError, tarfile.TarError, ValueError, KeyError) as e:
        print(f"assemble_model: {e}", file=sys.stderr)
        return 1
    write_atomically(args.out_file, parts)
    os.makedirs(args.licence_dir, exist_ok=True)
    for name, data in licences.items():
        write_atomically(os.path.join(args.licence_dir, name), [data])
    print(json.dumps({"sha256": sha, "size": args.size, "chunks": count}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
