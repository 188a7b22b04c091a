"""Pinning a rendered chart to a verified release: digests only, nothing unsigned."""

from __future__ import annotations

from typing import Any

import pytest
from pyxie_operator.controllers.manifests import (
    RELEASE_ANNOTATION,
    chart_values,
    component_of,
    pin_images,
)
from pyxie_operator.controllers.resource import VizierSpec
from pyxie_release.verify import UpdateRefused, VerifiedRelease

DIGEST = "sha256:" + "a" * 64


def deployment(name: str, image: str) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": f"pyxie-{name}"},
        "spec": {"template": {"spec": {"containers": [{"name": name, "image": image}]}}},
    }


def test_component_names_come_from_chart_and_registry_references() -> None:
    assert component_of("localhost/pyxie-query-broker:0.1.0") == "query-broker"
    assert component_of(f"reg:5000/pyxie/pem@{DIGEST}") == "pem"
    assert component_of("reg:5000/pyxie-cloud-connector") == "cloud-connector"


def test_every_image_is_replaced_by_the_signed_digest_and_the_connector_learns_the_version() -> (
    None
):
    release = VerifiedRelease(
        version="0.2.0",
        images={
            "pem": f"reg:5000/pyxie/pem@{DIGEST}",
            "cloud-connector": f"reg:5000/pyxie/cloud-connector@{DIGEST}",
        },
        chart_digest="",
    )
    objects = [
        deployment("pem", "localhost/pyxie-pem:0.1.0"),
        deployment("cloud-connector", "localhost/pyxie-cloud-connector:0.1.0"),
        {"kind": "ConfigMap", "metadata": {"name": "x"}},
    ]
    pinned = pin_images(objects, release)
    assert objects[0]["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":0.1.0")
    pem = pinned[0]["spec"]["template"]["spec"]["containers"][0]
    assert pem["image"] == f"reg:5000/pyxie/pem@{DIGEST}"
    assert pinned[0]["metadata"]["annotations"][RELEASE_ANNOTATION] == "0.2.0"
    connector = pinned[1]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "PL_VIZIER_VERSION", "value": "0.2.0"} in connector["env"]
    assert pinned[2] == {"kind": "ConfigMap", "metadata": {"name": "x"}}


def test_a_component_the_release_does_not_sign_is_refused() -> None:
    release = VerifiedRelease(
        version="0.2.0", images={"pem": f"r/pyxie/pem@{DIGEST}"}, chart_digest=""
    )
    with pytest.raises(UpdateRefused, match="no signed image for kelvin"):
        pin_images([deployment("kelvin", "localhost/pyxie-kelvin:0.1.0")], release)
    tagged = VerifiedRelease(version="0.2.0", images={"pem": "r/pyxie/pem:0.2.0"}, chart_digest="")
    with pytest.raises(UpdateRefused, match="not pinned by digest"):
        pin_images([deployment("pem", "localhost/pyxie-pem:0.1.0")], tagged)


def test_chart_values_follow_the_spec_over_the_backend_base() -> None:
    spec = VizierSpec(
        version="0.2.0",
        cloud_addr="cloud:51600",
        deploy_key_secret="k",
        cluster_name="prod",
        data_access="PIIRestricted",
        pem_memory_limit="3Gi",
        metadata_store="etcd",
    )
    base = {"ports": {"nats": 1}, "metadata": {"provider": "local"}}
    values = chart_values(spec, "px-dep-x", base)
    assert values["ports"] == {"nats": 1}
    assert values["metadata"] == {"provider": "local", "store": "etcd"}
    assert values["resources"]["pem"]["limits"]["memory"] == "3Gi"
    assert (values["deployKey"], values["dataAccess"], values["clusterName"]) == (
        "px-dep-x",
        "PIIRestricted",
        "prod",
    )
    assert base == {"ports": {"nats": 1}, "metadata": {"provider": "local"}}


def test_the_crd_declares_exactly_the_spec_and_status_the_operator_uses() -> None:
    from pathlib import Path

    import yaml
    from pyxie_operator.controllers.resource import GROUP, KIND, PLURAL, VERSION, VizierStatus

    crd_file = Path(__file__).resolve().parents[4] / "k8s" / "operator" / "crd.yaml"
    if not crd_file.exists():  # Bazel's sandbox holds only this package's files
        pytest.skip("k8s/operator is not in this sandbox")
    crd = yaml.safe_load(crd_file.read_text())
    assert crd["spec"]["group"] == GROUP and crd["spec"]["names"]["plural"] == PLURAL
    assert crd["spec"]["names"]["kind"] == KIND
    (version,) = crd["spec"]["versions"]
    assert version["name"] == VERSION and "status" in version["subresources"]
    schema = version["schema"]["openAPIV3Schema"]["properties"]
    spec = schema["spec"]
    assert set(spec["required"]) == {"version", "cloudAddr", "deployKeySecretRef"}
    assert set(spec["properties"]) == {
        "version",
        "cloudAddr",
        "cloudCACert",
        "deployKeySecretRef",
        "clusterName",
        "dataAccess",
        "pemMemoryLimit",
        "metadataStore",
        "requestedImages",
        "autoUpdate",
    }
    assert set(schema["status"]["properties"]) == set(VizierStatus().to_dict())
    assert schema["status"]["properties"]["phase"]["enum"] == [
        "Pending",
        "Deploying",
        "Updating",
        "Healthy",
        "Degraded",
        "Failed",
    ]
