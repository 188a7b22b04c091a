"""Render a Pyxie Helm chart with Helm's own engine and validate every object offline.

Runs in the tool venv ``.tools/helm-venv`` (Python >= 3.12; made by ``deploy/helm/setup.sh``),
never in the workspace: it holds ``helm-python-sdk`` (Helm's Go library: the values schema
check and the template engine, no cluster contacted) and ``kubernetes-validate`` (Kubernetes'
published OpenAPI schemas).

    .tools/helm-venv/bin/python deploy/helm/render.py k8s/charts/pyxie-vizier \\
        --namespace pyxie --values my.yaml --set deployKey=px-dep-... [--validate] [-o out.yaml]

Values: ``--values`` files (YAML/JSON, later wins), then ``--set key.path=value`` (YAML scalars)
and ``--set-file key.path=FILE``. Exit 2 with Helm's message when the values break the schema.
With ``--validate`` every rendered object is checked against Kubernetes ``--kube-version``
(strict: unknown fields fail); failures are listed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

KUBE_VERSION = "1.30.0"


def set_path(values: dict[str, Any], dotted: str, value: Any) -> None:
    node = values
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        else:
            base[key] = value
    return base


def load_values(files: list[str], sets: list[str], set_files: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in files:
        loaded = yaml.safe_load(Path(name).read_text()) or {}
        deep_merge(values, loaded)
    for item in sets:
        key, _, raw = item.partition("=")
        set_path(values, key, yaml.safe_load(raw) if raw else "")
    for item in set_files:
        key, _, name = item.partition("=")
        set_path(values, key, Path(name).read_text())
    return values


def render(
    chart_dir: str, values: dict[str, Any], name: str, namespace: str
) -> list[dict[str, Any]]:
    from helm_python import Chart

    chart = Chart.load(chart_dir)
    merged = chart.merge_values(values)
    chart.validate_schema(merged)
    manifests = chart.render(values, name=name, namespace=namespace, is_install=True)
    objects: list[dict[str, Any]] = []
    for path in sorted(manifests):
        if not path.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(manifests[path]):
            if doc:
                objects.append(doc)
    return objects


def validate(objects: list[dict[str, Any]], kube_version: str) -> list[str]:
    import kubernetes_validate

    problems = []
    for obj in objects:
        what = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{what}: {exc.message} at {'.'.join(map(str, exc.path))}")
        except Exception as exc:  # an unknown kind/version is a failure too
            problems.append(f"{what}: {exc}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chart")
    parser.add_argument("--name", default="pyxie")
    parser.add_argument("--namespace", default="pyxie")
    parser.add_argument("--values", "-f", action="append", default=[])
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--set-file", action="append", default=[])
    parser.add_argument("--validate", action="store_true")
    parser.add_argument("--kube-version", default=KUBE_VERSION)
    parser.add_argument("-o", "--output", default="-")
    args = parser.parse_args()
    from helm_python.errors import HelmError

    values = load_values(args.values, args.set, args.set_file)
    try:
        objects = render(args.chart, values, args.name, args.namespace)
    except HelmError as exc:
        print(f"{args.chart}: {exc}", file=sys.stderr)
        return 2
    text = yaml.safe_dump_all(objects, sort_keys=False)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
    if args.validate:
        problems = validate(objects, args.kube_version)
        for problem in problems:
            print(f"INVALID {problem}", file=sys.stderr)
        print(
            f"validated {len(objects) - len(problems)}/{len(objects)} objects "
            f"against Kubernetes {args.kube_version}",
            file=sys.stderr,
        )
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
