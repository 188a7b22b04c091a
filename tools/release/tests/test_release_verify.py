"""A real signed release verifies; every attack on the update path is tried and refused.

Real components: Debian's docker-registry, skopeo pushes, TUF metadata served over HTTP and
read by python-tuf's ngclient. Images are tiny one-file OCI images (no base image needed).
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil
from collections.abc import Iterator

import pytest
from pyxie_release.__main__ import main
from pyxie_release.registry import free_port
from pyxie_release.repository import serve_repository
from pyxie_release.scenarios import ATTACKS, ReleaseLab
from pyxie_release.verify import UpdateRefused, verify_release

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
        reason="needs docker-registry and skopeo (tools/setup_deploy.sh)",
    ),
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReleaseLab]:
    with ReleaseLab(tmp_path_factory.mktemp("lab")) as lab:
        lab.build("1.0.0")
        lab.build("1.1.0")
        yield lab


def test_release_signed_release_verifies_by_digest(lab: ReleaseLab, tmp_path: pathlib.Path) -> None:
    release = lab.verify(tmp_path / "cache", running_version="1.0.0")
    manifest = lab.manifests["1.1.0"]
    assert release.version == "1.1.0"
    assert release.images == {
        name: f"{lab.address}/{ref.repository}@{ref.digest}"
        for name, ref in manifest.images.items()
    }
    assert all("@sha256:" in ref for ref in release.images.values())
    assert release.chart_digest == manifest.chart["sha256"]
    # An explicit older version is still offered when nothing newer runs.
    assert lab.verify(tmp_path / "cache2", version="1.0.0").version == "1.0.0"


def test_release_cloud_may_request_exactly_the_signed_images(
    lab: ReleaseLab, tmp_path: pathlib.Path
) -> None:
    signed = lab.verify(tmp_path / "cache").images
    assert lab.verify(tmp_path / "cache", requested_images=signed).images == signed
    service = sorted(signed)[0]
    other = lab.manifests["1.0.0"].images[service]
    with pytest.raises(UpdateRefused, match="not the image"):
        lab.verify(
            tmp_path / "cache",
            requested_images={service: f"{lab.address}/{other.repository}@{other.digest}"},
        )


@pytest.mark.parametrize("attack", ATTACKS)
def test_release_attack_is_refused(lab: ReleaseLab, attack: str, tmp_path: pathlib.Path) -> None:
    with (
        lab.attack(attack, running_version="1.1.0") as offered,
        pytest.raises(UpdateRefused) as refused,
    ):
        verify_release(
            repository_url=offered.repository_url,
            trusted_root=offered.trusted_root,
            cache_dir=offered.cache_dir,
            registry=offered.registry,
            version=offered.version,
            running_version=offered.running_version,
            signing_public_key=lab.signing_public_key,
            requested_images=offered.requested_images,
        )
    assert offered.expected_reason in refused.value.reason
    # The good repository and registry are untouched by the attack.
    assert lab.verify(tmp_path / "after", running_version="1.1.0").version == "1.1.0"


def test_release_cli_verify_prints_release_or_refusal(
    lab: ReleaseLab, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "verify",
        "--repository-url",
        lab.repository_url,
        "--trusted-root",
        str(lab.trusted_root),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--registry",
        lab.address,
        "--public-key",
        str(lab.keys.image.public_path),
    ]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["version"] == "1.1.0"
    assert main([*args, "--running", "9.0.0"]) == 3
    assert "older than the running version 9.0.0" in capsys.readouterr().err


def test_release_artifact_index_is_pixies_manifest_newest_first(lab: ReleaseLab) -> None:
    data = (lab.repository.path / "manifest.json").read_bytes()
    digest = (lab.repository.path / "manifest.json.sha256").read_text().strip()
    assert hashlib.sha256(data).hexdigest() == digest
    sets = {item["name"]: item for item in json.loads(data)}
    assert set(sets) == {"vizier", "cli", "operator"}
    vizier = sets["vizier"]["artifact"]
    assert [a["versionStr"] for a in vizier][:2] == ["1.1.0", "1.0.0"]
    mirror = vizier[0]["availableArtifactMirrors"][0]
    assert mirror["artifactType"] == "AT_CONTAINER_SET_TEMPLATE_YAMLS"
    assert mirror["sha256"] == lab.manifests["1.1.0"].chart["sha256"]
    chart = (lab.repository.path / mirror["urls"][0]).read_bytes()
    assert hashlib.sha256(chart).hexdigest() == mirror["sha256"]


def test_release_cli_builds_a_release_that_verifies(
    lab: ReleaseLab, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, keys = tmp_path / "repo", tmp_path / "keys"
    args = ["build", "--version", "3.0.0", "--registry", lab.address, "--repo", str(repo)]
    args += ["--keys", str(keys), "--tiny-images", "--only", "pem,kelvin", "--no-cli-wheel"]
    assert main(args) == 0
    assert "release 3.0.0: 2 signed images published" in capsys.readouterr().out
    with serve_repository(repo) as url:
        release = verify_release(
            repository_url=url,
            trusted_root=repo / "metadata" / "1.root.json",
            cache_dir=tmp_path / "cache",
            registry=lab.address,
            version=None,
            running_version="2.9.9",
            signing_public_key=(keys / "cosign.pub").read_bytes(),
        )
    assert (release.version, sorted(release.images)) == ("3.0.0", ["kelvin", "pem"])
    # The lab's image key did not sign these images: its public key refuses them.
    with serve_repository(repo) as url, pytest.raises(UpdateRefused, match="another key"):
        verify_release(
            repository_url=url,
            trusted_root=repo / "metadata" / "1.root.json",
            cache_dir=tmp_path / "cache2",
            registry=lab.address,
            version="3.0.0",
            running_version=None,
            signing_public_key=lab.signing_public_key,
        )


def test_release_unreachable_repository_is_refused(lab: ReleaseLab, tmp_path: pathlib.Path) -> None:
    with pytest.raises(UpdateRefused, match="cannot be reached"):
        lab.verify(tmp_path / "cache", repository_url=f"http://127.0.0.1:{free_port()}")
