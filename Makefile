# One entry point per task a developer runs. Everything goes through `uv run` so the
# workspace venv (.venv) is created and synced on first use.
# uv itself comes from PyPI on first use when the machine has none (a fresh machine has pip).
UV ?= $(shell command -v uv 2>/dev/null || echo python3 -m uv)
PYTEST ?= $(UV) run --all-packages pytest
# Every package of ours except tests and generated protobuf code is type-checked strictly.
STRICT_PACKAGES = $(wildcard libs/*/pyxie_* services/*/*/pyxie_* tools/*/pyxie_*)

.PHONY: help setup setup-bpf setup-ui demo demo-stop e2e e2e-scripts test test-fast lint proto proto-check clean \
	bazel-test bazel-build-files ui lint-ui ui-test \
	setup-deploy images setup-mypyc mypyc mypyc-clean kube-render kube-demo kube-demo-stop kube-check chaos-check update-check otel-check

help:
	@echo "make demo       start a standalone vizier + demo shop here and query its traffic with px"
	@echo "make demo-stop  stop everything make demo started"
	@echo "make e2e        whole-stack tests (root + bcc: netns nodes, real eBPF)"
	@echo "make e2e-scripts every bundled script on a live demo vizier, rows per script"
	@echo "make test       lint + type-check + the whole test suite (root/bpf tests need root)"
	@echo "make test-fast  the quick suite: no root, bpf, slow or e2e tests"
	@echo "make lint       ruff + mypy --strict on every package"
	@echo "make proto      regenerate the protobuf code from proto/**/*.proto"
	@echo "make setup-mypyc  gcc + Python headers for make mypyc (Debian; needs root)"
	@echo "make mypyc      compile the protocol parsers, conntrack + event decoding with mypyc, build the native HTTP/1 parser (optional)"
	@echo "make mypyc-clean remove what make mypyc built: pure Python again"
	@echo "make bazel-test bazel test //... offline (Debian's Bazel; tools/setup_bazel.sh)"
	@echo "make setup-bpf  install bcc and kernel headers (Debian; needs root)"
	@echo "make ui         build the web UI (ui/dist, served by the cloud's api)"
	@echo "make lint-ui    ESLint + Prettier check of the UI sources"
	@echo "make ui-test    browser tests of the UI against a throwaway cloud + vizier (root + bcc)"

	@echo "make setup-deploy  podman, runc, mmdebstrap, skopeo, kubectl, the Helm tool venv (root)"
	@echo "make images     build every service image with podman (shared Debian base)"
	@echo "make kube-render  render both charts with Helm, validate every object, build kustomize"
	@echo "make kube-demo  play the charts with podman here: cloud, vizier (eBPF), demo shop"
	@echo "make kube-demo-stop  stop everything make kube-demo started"
	@echo "make kube-check the kube checks (charts, images, podman run, pxapi): testing/compat/kube/run"
	@echo "make chaos-check kill -9 each component of a cloud + vizier; all heal by themselves"
	@echo "make update-check  signed updates + auto-repair by the operator on podman: testing/compat/update/run"

	@echo "make otel-check the OpenTelemetry export checks (px.export, cron scripts, budgets; root + bcc)"

setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check uv
	$(UV) sync --all-packages --frozen

setup-bpf:
	bash tools/setup_bpf.sh

# As root, install bcc/kernel headers first when the venv cannot import bcc (eBPF tracing);
# without root the demo still runs (one node, /proc tables only) and says so.
demo: setup
	@if [ "$$(id -u)" -eq 0 ] && ! $(UV) run --all-packages python -c 'import bcc' >/dev/null 2>&1; then \
		bash tools/setup_bpf.sh; fi
	$(UV) run --all-packages python -m pyxie_devstack demo

demo-stop: setup
	$(UV) run --all-packages python -m pyxie_devstack vizier down

e2e: setup
	$(PYTEST) -m e2e testing/e2e -v

# Every bundled script on a live two-node vizier with the demo shop (root + bcc); prints rows per script.
e2e-scripts: setup
	$(PYTEST) testing/e2e/test_e2e_scripts.py -v -s

lint: setup
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy --strict $(STRICT_PACKAGES)
	$(UV) run mypy testing/pyxie_testing

test: lint
	$(PYTEST)

test-fast: setup
	$(PYTEST) -m "not root and not bpf and not slow and not e2e" -x -q

proto: setup
	$(UV) run --all-packages python -m pyxie_protogen

proto-check: setup
	$(UV) run --all-packages python -m pyxie_protogen --check

# Bazel (Debian's bazel-bootstrap 4.2.3), offline: the fast suite of every member, the protobuf
# genrule against the committed code. BUILD.bazel files are generated (bazel-build-files).
bazel-test: setup
	bash tools/setup_bazel.sh
	bash tools/bazel/test.sh

bazel-build-files:
	python3 tools/bazel/gen_build.py

setup-ui:
	bash tools/setup_ui.sh

ui:
	cd ui && npm ci --no-audit --no-fund && npm run build

# ESLint (TypeScript + react-hooks rules) and Prettier over ui/ (after `make ui` installed them).
lint-ui:
	cd ui && npm run lint && npm run format:check

# Brings up its own cloud + vizier (state dir under /tmp, netns tag pxui), runs Playwright with
# Debian's chromium, and stops everything it started.
ui-test: setup setup-ui ui lint-ui
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(UV) run --all-packages python testing/ui/run

setup-deploy:
	bash tools/setup_deploy.sh

images: setup
	$(UV) run --all-packages python deploy/images/build.py

kube-render:
	bash deploy/helm/setup.sh
	.tools/helm-venv/bin/python deploy/helm/render.py k8s/charts/pyxie-cloud --validate -o /dev/null
	.tools/helm-venv/bin/python deploy/helm/render.py k8s/charts/pyxie-vizier --validate -o /dev/null \
		--set deployKey=px-dep-00000000000000000000 --set cloudAddr=cloud.example.com:51600
	.tools/helm-venv/bin/python deploy/helm/kustomize.py --check

kube-demo: setup images
	$(UV) run --all-packages python -m pyxie_cli.kube.demo up

kube-demo-stop: setup
	$(UV) run --all-packages python -m pyxie_cli.kube.demo down

kube-check: setup
	testing/compat/kube/run

chaos-check: setup
	testing/chaos/run

update-check: setup images
	testing/compat/update/run

# px.export / cron scripts / export budgets against a real vizier with traced demo traffic and
# an OTLP receiver; needs root and bcc (tools/setup_bpf.sh). testing/compat/otel/run
otel-check: setup
	testing/compat/otel/run

# Optional: the socket tracer's parsers as C extension modules next to their .py files (gcc and
# Python headers: tools/setup_mypyc.sh); `make mypyc-clean` goes back to pure Python.
setup-mypyc:
	bash tools/setup_mypyc.sh

mypyc: setup
	$(UV) run --all-packages python tools/mypyc_build.py

mypyc-clean:
	python3 tools/mypyc_build.py --clean

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache
