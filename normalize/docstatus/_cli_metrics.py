"""``--metrics-port N`` (``docstatus track run``): the run's metrics for Prometheus.

With the option, the command is the application: it configures the OpenTelemetry SDK's global
``MeterProvider`` with a ``PrometheusMetricReader`` and serves ``/metrics`` (``prometheus_client``)
on ``--metrics-host`` (``127.0.0.1`` unless told otherwise) and port ``N``, from a daemon thread
for the life of the process. The default ``OpenTelemetryHook`` then records every attempt and
job (``docstatus_poll_attempts_total``, ``docstatus_poll_duration_seconds``, ... by provider,
server address and outcome; no ref, no credential). Without the option nothing is imported.
The packages come with ``pip install 'docstatus[prometheus]'``; without them the option is refused
(exit 2) before anything is polled.
"""

from __future__ import annotations

import argparse
from typing import Final

from ._cli import fail

#: What to install for ``--metrics-port``.
INSTALL: Final = "pip install 'docstatus[prometheus]'"


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return port


def add_options(parser: argparse.ArgumentParser) -> None:
    """``--metrics-port`` and ``--metrics-host`` on ``parser``."""
    parser.add_argument(
        "--metrics-port",
        type=_port,
        metavar="N",
        help=f"serve the run's metrics for Prometheus on http://HOST:N/metrics (needs {INSTALL})",
    )
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        metavar="HOST",
        help="the address --metrics-port listens on (default 127.0.0.1: this machine only)",
    )


def serve(command: str, args: argparse.Namespace) -> bool:
    """Serve the metrics when ``--metrics-port`` was given; ``False`` (after one line on stderr)
    when it cannot be: the packages are missing or the port cannot be listened on."""
    port: int | None = getattr(args, "metrics_port", None)
    if port is None:
        return True
    host: str = getattr(args, "metrics_host", "127.0.0.1")
    try:
        from opentelemetry import metrics  # noqa: PLC0415  # only with the option
        from opentelemetry.exporter.prometheus import PrometheusMetricReader  # noqa: PLC0415
        from opentelemetry.sdk.metrics import MeterProvider  # noqa: PLC0415
        from prometheus_client import start_http_server  # noqa: PLC0415
    except ImportError as exc:
        missing = exc.name or "a package"
        fail(
            command,
            "--metrics-port",
            f"needs the OpenTelemetry SDK and Prometheus exporter ({missing} is missing): {INSTALL}",
        )
        return False
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        fail(command, "--metrics-port", f"cannot listen on {host}:{port} ({exc.strerror or exc}); give another port")
        return False
    metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))
    return True
