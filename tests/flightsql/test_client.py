"""FlightSQLClient calls other than streaming: URIs, TLS, prepare, tables, count estimate."""

import datetime as dt
import ipaddress
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mmtui.flightsql import ConnectionFailed, FlightSQLClient, TableInfo
from mmtui.flightsql.client import decoded_schema, normalize_uri
from tests.fault_server import FAULTS_SCHEMA, FaultServerHandle, start_fault_server, types_batches


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("grpc://localhost:50051", "grpc://localhost:50051"),
        ("grpc+tls://example.test:443", "grpc+tls://example.test:443"),
        ("http://localhost:50051", "grpc://localhost:50051"),
        ("https://example.test:443", "grpc+tls://example.test:443"),
        ("HTTPS://example.test", "grpc+tls://example.test"),
    ],
)
def test_normalize_uri(uri: str, expected: str) -> None:
    assert normalize_uri(uri) == expected


@pytest.mark.parametrize("uri", ["localhost:50051", "ftp://host:21", "grpc://"])
def test_invalid_uri_rejected(uri: str) -> None:
    with pytest.raises(ValueError, match="uri="):
        FlightSQLClient(uri)


def test_prepare_returns_schema_only(
    fault_client: FlightSQLClient, fault_server: FaultServerHandle
) -> None:
    prepared = fault_client.prepare_statement("SELECT * FROM t -- fault:types")

    assert prepared.query == "SELECT * FROM t -- fault:types"
    # Without preserve_dictionary, a server sends dictionary columns decoded, and the
    # prepared schema gives them decoded too.
    assert prepared.dataset_schema == decoded_schema(types_batches()[0].schema)
    assert fault_server.calls[-1].method == "do_action"

    with FlightSQLClient(fault_server.uri, preserve_dictionary=True) as client:
        encoded = client.prepare_statement("SELECT * FROM t -- fault:types")
    assert encoded.dataset_schema == types_batches()[0].schema
    assert encoded.dataset_schema != prepared.dataset_schema


def test_list_tables_with_get_tables(fault_client: FlightSQLClient) -> None:
    tables = fault_client.list_tables()

    assert tables == [TableInfo("faults", "VIEW", FAULTS_SCHEMA)]


def test_list_tables_falls_back_to_show_tables() -> None:
    handle = start_fault_server(get_tables=False)
    client = FlightSQLClient(handle.uri)
    tables = client.list_tables()
    methods = [call.method for call in handle.calls]
    client.close()
    handle.stop()

    assert tables == [TableInfo("faults", "VIEW", FAULTS_SCHEMA)]
    assert methods == ["get_flight_info", "do_get", "do_action"]


def test_count_estimate_failure_gives_none(
    fault_client: FlightSQLClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="mmtui.flightsql"):
        count = fault_client.count_estimate("SELECT * FROM t -- fault:silent")

    assert count is None
    assert "count estimate failed" in caplog.text
    assert "INVALID_ARGUMENT" in caplog.text


def test_count_estimate_bad_range_gives_none(fault_client: FlightSQLClient) -> None:
    naive = dt.datetime(2026, 1, 1)

    assert fault_client.count_estimate("fault:rows:5", naive, naive) is None


def test_count_estimate_unreachable_gives_none() -> None:
    client = FlightSQLClient("grpc://127.0.0.1:1", call_timeout=5)

    assert client.count_estimate("SELECT 1") is None
    client.close()


def make_certificate(directory: Path) -> tuple[bytes, bytes, Path]:
    """Write a self-signed certificate for 127.0.0.1; return (cert PEM, key PEM, cert path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mmtui test CA")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = directory / "ca.pem"
    path.write_bytes(cert_pem)
    return cert_pem, key_pem, path


@pytest.fixture(scope="module")
def tls_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[FaultServerHandle, Path]]:
    cert_pem, key_pem, path = make_certificate(tmp_path_factory.mktemp("tls"))
    handle = start_fault_server(tls=(cert_pem, key_pem))
    yield handle, path
    handle.stop()


def test_tls_with_custom_ca_file(tls_server: tuple[FaultServerHandle, Path]) -> None:
    handle, ca_path = tls_server
    client = FlightSQLClient(handle.uri, tls_root_certs=ca_path)
    table = client.query("fault:empty_batches_between")
    client.close()

    assert handle.uri.startswith("grpc+tls://")
    assert table.num_rows == 5


def test_tls_https_uri_with_ca_bytes(tls_server: tuple[FaultServerHandle, Path]) -> None:
    handle, ca_path = tls_server
    client = FlightSQLClient(
        handle.uri.replace("grpc+tls://", "https://"), tls_root_certs=ca_path.read_bytes()
    )

    assert client.query("fault:zero_batches").num_rows == 0
    client.close()


def test_tls_default_roots_reject_unknown_ca(tls_server: tuple[FaultServerHandle, Path]) -> None:
    handle, _ca_path = tls_server
    client = FlightSQLClient(handle.uri)

    with pytest.raises(ConnectionFailed):
        client.query("fault:zero_batches")
    client.close()


def test_no_textual_import() -> None:
    code = (
        "import sys, mmtui.flightsql; "
        "bad = [m for m in sys.modules if m.startswith(('textual', 'mmtui.ui'))]; "
        "sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False)

    assert result.returncode == 0


def test_zero_timeouts_turn_off(fault_server: FaultServerHandle) -> None:
    client = FlightSQLClient(fault_server.uri, call_timeout=0, first_batch_timeout=0)
    table = client.query("fault:trickle:3")
    client.close()

    assert client.call_timeout is None
    assert client.first_batch_timeout is None
    assert table.num_rows == 30


@pytest.mark.parametrize("name", ["call_timeout", "first_batch_timeout"])
def test_negative_timeout_rejected(name: str) -> None:
    with pytest.raises(ValueError, match=name):
        FlightSQLClient("grpc://127.0.0.1:1", **{name: -1.0})


@pytest.mark.parametrize(("answer", "expected"), [(7, 7), (0, 0), (-5, None)])
def test_count_estimate_negative_ignored(answer: int, expected: int | None) -> None:
    handle = start_fault_server()
    handle.server.count_answer = answer
    client = FlightSQLClient(handle.uri)
    try:
        assert client.count_estimate("SELECT 1 -- fault:rows:5") == expected
    finally:
        client.close()
        handle.stop()
