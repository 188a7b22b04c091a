"""Every unary method of `px.cloudapi` answers, for a valid key, something other than
UNIMPLEMENTED (or a bug's INTERNAL/UNKNOWN): the check walks the proto descriptors, so a method
added to the proto without a handler fails here."""

from __future__ import annotations

from typing import Any, Final

import grpc
from pyxie_api.testing import PROVIDED_ELSEWHERE, CloudHarness, unary_methods

_NOT_ANSWERED: Final = frozenset(
    {grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
)


async def _code_of(channel: grpc.aio.Channel, call: tuple[str, str, Any, Any], key: str) -> Any:
    service, method, request_type, response_type = call
    rpc = channel.unary_unary(
        f"/{service}/{method}",
        request_serializer=request_type.SerializeToString,
        response_deserializer=response_type.FromString,
    )
    try:
        await rpc(request_type(), metadata=[("pixie-api-key", key)], timeout=30)
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details()
    return grpc.StatusCode.OK, ""


def test_the_descriptor_walk_sees_every_service() -> None:
    services = {service for service, *_ in unary_methods()}
    assert "px.cloudapi.UserService" in services and "px.cloudapi.ScriptMgr" in services
    assert len(unary_methods()) >= 55


async def test_every_unary_method_answers_for_a_valid_key(cloud: CloudHarness) -> None:
    unanswered = []
    async with cloud.channel() as channel:
        for call in unary_methods():
            if call[0] in PROVIDED_ELSEWHERE:
                continue
            code, details = await _code_of(channel, call, cloud.org_a.admin_key)
            if code in _NOT_ANSWERED:
                unanswered.append(f"{call[0]}/{call[1]}: {code.name} {details}")
    assert not unanswered, "methods not answered:\n" + "\n".join(unanswered)
