"""Count the rows of one table with Pixie's UNMODIFIED pxapi 0.9.0, results end-to-end encrypted.

Runs inside the pxapi virtualenv (``pyxie_testing.pxapi_env``), never in the workspace.

    python pxapi_rows.py --addr localhost:61200 --ca ca.crt --api-key px-api-... \
        --cluster-id <uuid> --query-file q.pxl --table http

Prints ``rows <n> encrypted <True|False>``; exit 1 when there are no rows.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import grpc
import pxapi


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--addr", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--cluster-id", required=True)
    parser.add_argument("--query-file", required=True)
    parser.add_argument("--table", required=True)
    args = parser.parse_args()
    # pxapi only warns when an encrypted request gets plaintext batches: make that a failure.
    warnings.filterwarnings("error", message="Received unencrypted data")
    with open(args.ca, "rb") as handle:
        creds = grpc.ssl_channel_credentials(root_certificates=handle.read())
    client = pxapi.Client(
        token=args.api_key,
        server_url=args.addr,
        use_encryption=True,
        channel_fn=lambda url: grpc.secure_channel(url, creds),
        conn_channel_fn=lambda url: grpc.aio.secure_channel(url, creds),
    )
    conn = client.connect_to_cluster(args.cluster_id)
    with open(args.query_file) as handle:
        script = conn.prepare_script(handle.read())
    rows = list(script.results(args.table))
    # Every batch came as JWE: a plaintext one would have raised the warning above.
    print(f"rows {len(rows)} encrypted True", flush=True)
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
