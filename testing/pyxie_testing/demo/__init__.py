"""A small shop: two services calling each other over every traced protocol, plus a client loop.

It exists to give the tracer realistic traffic: keep-alive and fresh connections, GETs and POSTs
with JSON bodies, some 4xx/5xx errors, some slow requests, and SQL queries.

    loadgen --> frontend (:8080) --HTTP + gRPC (h2c)--> orders (:8081) --SQL--> PostgreSQL
                   |  --Mux--> recommender (a thread)     |--MySQL--> its own MariaDB (stock)
                                                           |--Redis--> its own redis-server
                                                           |--DNS----> its own dnsmasq
                                                           |--NATS---> its own nats-server
                                                           '--AMQP---> its own RabbitMQ

Calls between the services carry a W3C ``traceparent`` (HTTP header, gRPC metadata, Mux
context). Product pages go over gRPC (``/pyxie.demo.Orders/GetProduct``; orders says where in
``GET /grpc``), read the stock in MariaDB and go through a Redis cache. Each order takes stock
off, counts the buyer's checkouts in Redis, resolves the mailer's name over DNS (dnspython,
unconnected UDP), is published on NATS (``shop.orders.created``) to a mailer, and queues a
shipment over AMQP. Every server but PostgreSQL is a child of orders on a loopback port;
one whose Debian package is missing is skipped with a log line.
"""
