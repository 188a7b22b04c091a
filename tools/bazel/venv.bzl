"""@pyxie_venv: a virtualenv holding the workspace's third-party packages, pinned by uv.lock.

Only third-party packages are installed (``uv export --no-emit-workspace``): every pyxie_*
package reaches a test through its py_library, so a missing BUILD dependency fails the build
instead of being masked by an editable install. The packages come from uv's cache (`make setup`
fills it), so this runs offline; with an empty cache uv fetches from PyPI once.

The repository also defines the Python toolchain (a py_runtime on the venv's interpreter) and
`:python` / `:protoc_gen_mypy_grpc`, wrappers genrules use as tools.
"""

def _run(ctx, args, what, working_directory = ""):
    result = ctx.execute(args, working_directory = working_directory, quiet = True, timeout = 900)
    if result.return_code != 0:
        fail("%s failed (%d):\n%s\n%s" % (what, result.return_code, result.stdout, result.stderr))
    return result

def _pyxie_venv_impl(ctx):
    uv = ctx.which("uv")
    if uv == None:
        fail("uv is not on PATH: run `make setup` (and tools/setup_bazel.sh) first")
    root = str(ctx.path(ctx.attr.lock).dirname)
    exported = _run(
        ctx,
        [uv, "export", "--frozen", "--all-packages", "--no-emit-workspace", "--no-hashes",
         "--no-header", "--no-annotate"],
        "uv export",
        working_directory = root,
    )
    ctx.file("requirements.txt", exported.stdout)
    version = ctx.os.environ.get("PYXIE_BAZEL_PYTHON", ctx.attr.python_version)
    _run(ctx, [uv, "venv", "--quiet", "--python", version, "venv"], "uv venv")
    python = str(ctx.path("venv/bin/python"))
    install = [uv, "pip", "install", "--quiet", "--python", python, "-r", "requirements.txt"]
    offline = ctx.execute(install + ["--offline"], quiet = True, timeout = 900)
    if offline.return_code != 0:
        ctx.report_progress("uv's cache lacks some wheels; fetching them from PyPI")
        _run(ctx, install, "uv pip install")
    ctx.file("python.sh", "#!/bin/sh\nexec '%s' \"$@\"\n" % python, executable = True)
    ctx.file(
        "protoc_gen_mypy_grpc.sh",
        "#!/bin/sh\nexec '%s' \"$@\"\n" % ctx.path("venv/bin/protoc-gen-mypy_grpc"),
        executable = True,
    )
    ctx.file("BUILD.bazel", """
load("@bazel_tools//tools/python:toolchain.bzl", "py_runtime_pair")

package(default_visibility = ["//visibility:public"])

exports_files(["python.sh", "protoc_gen_mypy_grpc.sh", "requirements.txt"])

py_runtime(
    name = "runtime",
    interpreter_path = "{python}",
    python_version = "PY3",
    stub_shebang = "#!{python}",
)

py_runtime_pair(name = "runtime_pair", py3_runtime = ":runtime")

toolchain(
    name = "toolchain",
    toolchain = ":runtime_pair",
    toolchain_type = "@bazel_tools//tools/python:toolchain_type",
)
""".format(python = python))

pyxie_venv = repository_rule(
    implementation = _pyxie_venv_impl,
    attrs = {
        # Labels of the files the venv depends on: a change re-runs the rule.
        "lock": attr.label(allow_single_file = True),
        "python_version": attr.string(default = "3.11"),
    },
    environ = ["PATH", "PYXIE_BAZEL_PYTHON", "UV_CACHE_DIR"],
    local = False,
)
