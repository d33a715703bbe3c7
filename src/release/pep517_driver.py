# venvdeb's PEP 517 hook driver (embedded in the venvdeb binary, see
# src/release/backend.rs). Run by the target interpreter with -S -s -B (no
# site directories: only the stdlib, the verified backend environment and the
# source tree's own backend-path are importable).
#
# argv: source_dir backend_env backend_spec backend_path_json output_dir
# Protocol on the private result channel (the original stdout; everything
# else, the backend's output and its subprocesses', goes to stderr):
#   {"requires": [...]}       get_requires_for_build_wheel's answer
#   then venvdeb writes "build" or "abort" on stdin;
#   {"wheel": "name.whl"}     build_wheel's answer.
import json
import os
import sys


def main():
    src, env, spec, backend_path, out_dir = sys.argv[1:6]
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    os.umask(0o022)
    os.chdir(src)
    # sys.path[0] is this script's private directory: replace it.
    sys.path[0:1] = [os.path.join(src, p) for p in json.loads(backend_path)] + [env]
    module, _, attrs = spec.partition(":")
    import importlib

    backend = importlib.import_module(module.strip())
    for attr in filter(None, attrs.strip().split(".")):
        backend = getattr(backend, attr)
    hook = getattr(backend, "get_requires_for_build_wheel", None)
    channel.write(json.dumps({"requires": list(hook({}) if hook else [])}) + "\n")
    channel.flush()
    if sys.stdin.readline().strip() != "build":
        return
    name = backend.build_wheel(out_dir, {}, None)
    channel.write(json.dumps({"wheel": name}) + "\n")
    channel.flush()


main()
