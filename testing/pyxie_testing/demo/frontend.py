"""The shop front end: a JSON API that calls the orders service."""

from __future__ import annotations

import random
import time
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from ._grpc import ProductClient, new_traceparent
from ._http import JSONHandler, KeepAliveClient
from ._mux import RecommenderClient, serve_recommender

__all__ = ["serve_frontend"]


def serve_frontend(port: int, orders_url: str, host: str = "0.0.0.0") -> None:
    """Serve until interrupted."""
    orders = KeepAliveClient(orders_url)

    def grpc_port() -> int:
        status, body = orders.request("GET", "/grpc")
        if status != 200:
            raise OSError(f"orders has no gRPC endpoint (HTTP {status})")
        return int(body["port"])

    products = ProductClient(urlsplit(orders_url).hostname or "127.0.0.1", grpc_port)
    _recommender, recommender_port = serve_recommender()  # Mux, in this process
    recommender = RecommenderClient("127.0.0.1", recommender_port)

    class Handler(JSONHandler):
        def traceparent(self) -> str:
            # Propagate the caller's W3C trace context, or start a trace here.
            return self.headers.get("traceparent") or new_traceparent()

        def do_GET(self) -> None:
            if self.path == "/health":
                self.send_json(200, {"ok": True})
            elif self.path == "/api/products":
                status, body = orders.request("GET", "/products", traceparent=self.traceparent())
                self.send_json(status, body)
            elif self.path.startswith("/api/products/"):
                # Product pages go to orders over gRPC.
                tail = self.path.rsplit("/", 1)[1]
                if not tail.isdigit():
                    self.send_json(400, {"error": "product id must be a number"})
                    return
                try:
                    product = products.get_product(int(tail), self.traceparent())
                except Exception as exc:
                    self.send_json(502, {"error": f"orders unavailable: {exc}"})
                    return
                if product is None:
                    self.send_json(404, {"error": f"no product {tail}"})
                else:
                    self.send_json(200, product)
            elif self.path == "/api/recommendations":
                # The slow endpoint: a "model" that sometimes takes its time.
                time.sleep(random.choice([0.01, 0.02, 0.05, 0.3, 0.8]))
                try:
                    picks = recommender.recommend(3, self.traceparent())
                except OSError as exc:
                    self.send_json(502, {"error": f"recommender unavailable: {exc}"})
                    return
                self.send_json(200, {"recommended": picks})
            else:
                self.send_json(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            if self.path != "/api/checkout":
                self.send_json(404, {"error": f"no route {self.path}"})
                return
            cart = self.read_json() or {}
            if random.random() < 0.02:
                self.send_json(500, {"error": "internal error in checkout"})
                return
            status, body = orders.request("POST", "/orders", cart, self.traceparent())
            self.send_json(status, body)

    ThreadingHTTPServer((host, port), Handler).serve_forever()
