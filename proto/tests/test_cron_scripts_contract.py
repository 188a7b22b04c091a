"""The cron-script checksum both ends of the bridge compute."""

from pyxie_proto.cloud import cronscripts
from pyxie_proto.cloud.cvmsgspb import cvmsgs_pb2


def _script(text: str, freq: int = 60, configs: str = "") -> cvmsgs_pb2.CronScript:
    return cvmsgs_pb2.CronScript(script=text, configs=configs, frequency_s=freq)


def test_checksum_ignores_insertion_order() -> None:
    a = {"1": _script("x"), "2": _script("y")}
    b = {"2": _script("y"), "1": _script("x")}
    assert cronscripts.cron_scripts_checksum(a) == cronscripts.cron_scripts_checksum(b)


def test_checksum_changes_with_any_field() -> None:
    base = cronscripts.cron_scripts_checksum({"1": _script("x")})
    assert cronscripts.cron_scripts_checksum({"1": _script("x", freq=61)}) != base
    assert cronscripts.cron_scripts_checksum({"1": _script("x", configs="c")}) != base
    assert cronscripts.cron_scripts_checksum({"1": _script("xx")}) != base
    assert cronscripts.cron_scripts_checksum({"2": _script("x")}) != base
    # Fields are length-prefixed: moving text between fields changes the sum.
    assert cronscripts.cron_scripts_checksum(
        {"1": _script("ab", configs="c")}
    ) != cronscripts.cron_scripts_checksum({"1": _script("a", configs="bc")})


def test_topics() -> None:
    assert cronscripts.checksum_response_topic("t1") == "GetCronScriptsCheckSumResponse:t1"
    assert cronscripts.scripts_response_topic("t1") == "GetCronScriptsResponse:t1"
    assert cronscripts.updates_response_topic("r") == "CronScriptsUpdatesResponse:r"
