"""The demo's Kafka: orders produces an ``order-created`` record per order, a mailer consumes.

No Kafka broker installs here, so the shop runs the one-broker test server of
``pyxie_testing.wire.kafka_server`` (kafka-python's own protocol structs, Kafka 2.8 API versions)
as a child of the orders process, on an ephemeral loopback port. A kafka-python KafkaProducer
sends each order (with its traceparent as a record header); a KafkaConsumer in the consumer group
``mailers`` polls them on a thread of its own, so the traffic carries Produce, Fetch, ListOffsets,
Metadata and the group protocol (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
OffsetCommit).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

__all__ = ["TOPIC", "OrderRecords"]

TOPIC = "order-created"


class OrderRecords:
    """A private Kafka test broker, one producer and one consuming "mailer" thread."""

    def __init__(self) -> None:
        from kafka import KafkaProducer

        self._server = subprocess.Popen(
            [sys.executable, "-m", "pyxie_testing.wire.kafka_server"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        assert self._server.stdout is not None
        line = self._server.stdout.readline()
        if not line.strip().isdigit():
            self._server.kill()
            self._server.wait(5)
            raise RuntimeError("the demo's Kafka test broker did not come up")
        self.port = int(line)
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.consumed = 0
        self._stop = threading.Event()
        self._producer: Any = KafkaProducer(bootstrap_servers=self.bootstrap, client_id="orders")
        self._thread = threading.Thread(target=self._consume, name="order-records", daemon=True)
        self._thread.start()

    def _consume(self) -> None:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(
            TOPIC,
            bootstrap_servers=self.bootstrap,
            client_id="mailer",
            group_id="mailers",
            auto_offset_reset="earliest",
        )
        try:
            while not self._stop.is_set():
                for records in consumer.poll(timeout_ms=500).values():
                    self.consumed += len(records)  # "send the mail"
        finally:
            consumer.close()

    def publish(self, order_id: int, email: str, traceparent: str | None) -> None:
        value = json.dumps({"order_id": order_id, "email": email}).encode()
        headers = [("traceparent", traceparent.encode())] if traceparent else []
        self._producer.send(TOPIC, value=value, headers=headers)

    def close(self) -> None:
        self._stop.set()
        try:
            self._producer.close(timeout=5)
            self._thread.join(10)
        finally:
            self._server.terminate()
            self._server.wait(5)
            if self._server.stdout is not None:
                self._server.stdout.close()
