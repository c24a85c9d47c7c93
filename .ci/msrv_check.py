#!/usr/bin/env python3
"""Fails when a locked dependency declares a rust-version above the
workspace's own (Cargo.toml [workspace.package] rust-version), so the MSRV
the README states holds for `cargo build` and `cargo test` alike.

Reads `cargo metadata --locked` for this platform: the lock file's
packages that a build or test here uses, dev-dependencies included. It asks
no registry for anything but sources cargo has not downloaded yet."""
import json
import subprocess
import sys


def version(text):
    # "1.85" and "1.85.0" are the same version.
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def host():
    out = subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True).stdout
    return next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("host: "))


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", host()],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    members = set(meta["workspace_members"])
    ours = {p["rust_version"] for p in meta["packages"] if p["id"] in members and p.get("rust_version")}
    if len(ours) != 1:
        sys.exit(f"msrv: workspace members disagree on rust-version: {sorted(ours)}")
    msrv = ours.pop()
    # Only packages the resolver actually uses on this platform.
    used = {node["id"] for node in meta["resolve"]["nodes"]}
    above = sorted(
        (p["name"], p["version"], p["rust_version"])
        for p in meta["packages"]
        if p["id"] in used and p.get("rust_version") and version(p["rust_version"]) > version(msrv)
    )
    for name, ver, rv in above:
        print(f"msrv: {name} {ver} needs rust {rv}, above ours ({msrv})")
    print(f"msrv: {len(used)} locked packages checked against rust-version {msrv}: {len(above)} above it")
    sys.exit(1 if above else 0)


if __name__ == "__main__":
    main()
