# venvdeb's PEP 517 hook driver (embedded in the venvdeb binary, see
# src/release/backend.rs). Run by the target interpreter with -S -s (no site
# directories: only the stdlib, the verified backend environment and the
# source tree's own backend-path are importable).
#
# argv: mode (requires|build) source_dir backend_env backend_spec
#       backend_path_json output_dir result_file
import json
import os
import sys


def main():
    mode, src, env, spec, backend_path, out_dir, result_file = sys.argv[1:8]
    os.umask(0o022)
    os.chdir(src)
    # sys.path[0] is this script's private directory: replace it.
    sys.path[0:1] = [os.path.join(src, p) for p in json.loads(backend_path)] + [env]
    module, _, attrs = spec.partition(":")
    import importlib

    backend = importlib.import_module(module.strip())
    for attr in filter(None, attrs.strip().split(".")):
        backend = getattr(backend, attr)
    # Keep the backend's chatter off our stdout.
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        if mode == "requires":
            hook = getattr(backend, "get_requires_for_build_wheel", None)
            result = {"requires": list(hook({}) if hook else [])}
        elif mode == "build":
            result = {"wheel": backend.build_wheel(out_dir, {}, None)}
        else:
            raise SystemExit("unknown mode " + mode)
    finally:
        sys.stdout = real_stdout
    with open(result_file, "w", encoding="utf-8") as f:
        json.dump(result, f)


main()
