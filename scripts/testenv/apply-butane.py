#!/usr/bin/env python3
"""Lays a Butane config (Fedora CoreOS variant) down on a root folder the way Ignition does on a node's first boot.

    apply-butane.py ROOT CONFIG.bu FILES_DIR

It reads what examples/node.bu uses and refuses anything else, so that the test node is exactly what the config
describes: storage.directories, storage.files (contents.local from FILES_DIR as `butane --files-dir` does, or inline),
storage.links, and systemd.units (contents, dropins, enabled). Enabled units go into Ignition's preset file
(/etc/systemd/system-preset/20-ignition.preset) and are enabled with `systemctl --root=ROOT preset`, as the node's
first boot does. The test node has no Ignition of its own; this is its stand-in, used by scripts/testenv/configure-node.sh.
"""
import os
import subprocess
import sys

import yaml

KNOWN = {
    "top": {"variant", "version", "storage", "systemd"},
    "storage": {"directories", "files", "links"},
    "directory": {"path", "mode"},
    "file": {"path", "mode", "contents", "overwrite"},
    "contents": {"local", "inline"},
    "link": {"path", "target", "hard"},
    "systemd": {"units"},
    "unit": {"name", "enabled", "contents", "dropins"},
    "dropin": {"name", "contents"},
}


def fail(message):
    sys.exit(f"apply-butane: {message}")


def check_keys(kind, node, where):
    if not isinstance(node, dict):
        fail(f"{where}: expected a mapping")
    unknown = set(node) - KNOWN[kind]
    if unknown:
        fail(f"{where}: keys this stand-in does not apply: {sorted(unknown)}")


def target(root, path):
    if not path.startswith("/"):
        fail(f"{path}: not an absolute path")
    return os.path.join(root, path.lstrip("/"))


def write(root, path, data, mode):
    dest = target(root, path)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "wb") as f:
        f.write(data)
    os.chmod(dest, mode)


def main():
    if len(sys.argv) != 4:
        fail("usage: apply-butane.py ROOT CONFIG.bu FILES_DIR")
    root, config_path, files_dir = sys.argv[1:]
    with open(config_path) as f:
        config = yaml.safe_load(f)
    check_keys("top", config, config_path)
    if config.get("variant") != "fcos":
        fail(f"{config_path}: variant must be fcos")
    storage = config.get("storage", {})
    check_keys("storage", storage, "storage")
    for i, d in enumerate(storage.get("directories", [])):
        check_keys("directory", d, f"storage.directories[{i}]")
        os.makedirs(target(root, d["path"]), exist_ok=True)
        os.chmod(target(root, d["path"]), d.get("mode", 0o755))
    for i, entry in enumerate(storage.get("files", [])):
        check_keys("file", entry, f"storage.files[{i}]")
        contents = entry.get("contents", {})
        check_keys("contents", contents, f"storage.files[{i}].contents")
        if "local" in contents:
            source = os.path.normpath(os.path.join(files_dir, contents["local"]))
            if not source.startswith(os.path.abspath(files_dir)):
                fail(f"{contents['local']}: outside the files folder")
            with open(source, "rb") as f:
                data = f.read()
        else:
            data = contents.get("inline", "").encode()
        write(root, entry["path"], data, entry.get("mode", 0o644))
    for i, link in enumerate(storage.get("links", [])):
        check_keys("link", link, f"storage.links[{i}]")
        dest = target(root, link["path"])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if os.path.lexists(dest):
            os.remove(dest)
        os.symlink(link["target"], dest)
    systemd = config.get("systemd", {})
    check_keys("systemd", systemd, "systemd")
    enabled = []
    for i, unit in enumerate(systemd.get("units", [])):
        check_keys("unit", unit, f"systemd.units[{i}]")
        name = unit["name"]
        if "contents" in unit:
            write(root, f"/etc/systemd/system/{name}", unit["contents"].encode(), 0o644)
        for j, dropin in enumerate(unit.get("dropins", [])):
            check_keys("dropin", dropin, f"systemd.units[{i}].dropins[{j}]")
            write(root, f"/etc/systemd/system/{name}.d/{dropin['name']}", dropin["contents"].encode(), 0o644)
        if unit.get("enabled") is True:
            enabled.append(name)
        elif unit.get("enabled") is False:
            fail(f"systemd.units[{i}]: enabled: false is not applied by this stand-in")
    if enabled:
        write(root, "/etc/systemd/system-preset/20-ignition.preset",
              "".join(f"enable {name}\n" for name in enabled).encode(), 0o644)
        for name in enabled:
            unit_file = target(root, f"/etc/systemd/system/{name}")
            if not os.path.exists(unit_file):
                fail(f"{name}: enabled, but no unit file at /etc/systemd/system/{name}")
            subprocess.run(["systemctl", f"--root={root}", "preset", name], check=True,
                           stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
