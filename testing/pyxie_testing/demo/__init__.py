"""A small shop: two HTTP services calling each other and PostgreSQL, plus a client loop.

It exists to give the tracer realistic traffic: keep-alive and fresh connections, GETs and POSTs
with JSON bodies, some 4xx/5xx errors, some slow requests, and SQL queries.

    frontend (:8080)  --HTTP + gRPC (h2c)-->  orders (:8081)  --SQL-->  PostgreSQL
         ^                                       |  --NATS--> its own nats-server --> mailer
      loadgen

Calls between the services carry a W3C ``traceparent`` (HTTP header, gRPC metadata). Product
pages go over gRPC (``/pyxie.demo.Orders/GetProduct``; orders says where in ``GET /grpc``).
Each order is published on NATS (``shop.orders.created``, with the traceparent as a header) to
a nats-server the orders process starts, and consumed by a subscriber in the same process.
When Debian's rabbitmq-server is installed, orders also queues a shipment per order over AMQP
on a private RabbitMQ node it starts, and a packer thread takes them off the queue.
"""
