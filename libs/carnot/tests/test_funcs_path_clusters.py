"""Request-path clustering logic: masking ids, collapsing high-cardinality segments, matching."""

from __future__ import annotations

import pytest
from pyxie_carnot.funcs._extras import kmeans_nearest, parse_uri
from pyxie_carnot.funcs._path_clusters import (
    MAX_DISTINCT_SEGMENTS,
    best_template,
    build_templates,
    mask_path,
    match_endpoint,
)


@pytest.mark.parametrize(
    ("path", "masked"),
    [
        ("/users/123/orders", "/users/*/orders"),
        ("/o/6f1c2a8e-1d2b-4c3d-9e8f-0a1b2c3d4e5f", "/o/*"),
        ("/blob/0123456789abcdef0123", "/blob/*"),
        ("/t/abcDEF123456ghiJKL78?x=1#f", "/t/*"),
        ("/plain/words", "/plain/words"),
        ("", "/"),
    ],
)
def test_id_looking_segments_are_masked(path: str, masked: str) -> None:
    assert mask_path(path) == masked


def test_many_distinct_values_collapse_but_few_stay_literal() -> None:
    many = [f"/u/{name}/cart" for name in ("ann", "bob", "cy", "dee", "ed", "flo")] * 2
    many += [f"/u/user{chr(97 + i)}x/cart" for i in range(MAX_DISTINCT_SEGMENTS)]
    few = ["/catalogue", "/catalogue/size", "/login"]
    assert build_templates(many + few) == ["/catalogue", "/catalogue/size", "/login", "/u/*/cart"]
    assert build_templates(["/u/ann/cart", "/u/bob/cart"]) == ["/u/ann/cart", "/u/bob/cart"]


def test_matching_and_prediction_prefer_the_most_specific_template() -> None:
    templates = ["/u/*/cart", "/u/admin/cart", "/*/*/*"]
    assert best_template("/u/admin/cart", templates) == "/u/admin/cart"
    assert best_template("/u/zed/cart", templates) == "/u/*/cart"
    assert best_template("/x/42", templates) == "/x/*"  # no template: ids masked
    assert match_endpoint("/a/1/b", "/a/{id}/b") and match_endpoint("/a/1/b", "/a/:id/b")
    assert not match_endpoint("/a/1/b/c", "/a/*/b")
    assert not match_endpoint("/a/1/c", "/a/*/b")


def test_uri_parse_of_garbage_is_an_empty_object() -> None:
    assert parse_uri("http://[::1") == "{}"


def test_kmeans_nearest_rejects_other_dimensions() -> None:
    model = '{"k": 2, "centroids": [[0, 0], [10, 10]]}'
    assert kmeans_nearest("[9, 8]", model) == 1
    assert kmeans_nearest('{"point": [1, 0]}', model) == 0
    assert kmeans_nearest("[1]", model) == -1
    assert kmeans_nearest("not json", model) == -1
