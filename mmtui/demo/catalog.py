"""Static description of the demo fleet: services, their processes, log wording and metrics.

The telemetry generator turns this into rows. Log templates use `str.format` fields that the
generator fills from the value pools at the bottom of this module.
"""

from __future__ import annotations

from dataclasses import dataclass

FATAL, ERROR, WARN, INFO, DEBUG, TRACE = 1, 2, 3, 4, 5, 6

#: Share of log rows per level, mostly info and debug as in a real fleet.
LEVEL_WEIGHTS: dict[int, float] = {
    FATAL: 0.0004,
    ERROR: 0.012,
    WARN: 0.05,
    INFO: 0.43,
    DEBUG: 0.36,
    TRACE: 0.1476,
}


@dataclass(frozen=True)
class LogTemplate:
    level: int
    target: str
    text: str


@dataclass(frozen=True)
class ProcessSpec:
    """One process: host, user, lifetime in minutes before now (start, end), build version."""

    computer: str
    username: str
    realname: str
    start_minutes_ago: float
    end_minutes_ago: float
    build_version: str


@dataclass(frozen=True)
class SpanNode:
    """One span of a thread's call tree; begin and duration are fractions of the parent span."""

    name: str
    depth: int
    parent: int
    begin_fraction: float
    duration_fraction: float
    filename: str
    line: int


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    exe: str
    distro: str
    cpu_brand: str
    region: str
    #: Relative log lines per minute of one process.
    log_rate: float
    #: Metric names with their units, beyond cpu_usage and memory_used that every process has.
    metrics: tuple[tuple[str, str], ...]
    threads: tuple[str, ...]
    span_tree: tuple[SpanNode, ...]
    #: Typical duration of a root span in milliseconds.
    root_span_ms: float
    async_names: tuple[str, ...]
    processes: tuple[ProcessSpec, ...]
    templates: tuple[LogTemplate, ...]


INCIDENT_SERVICE = "payments-worker"
INCIDENT_COMPUTER = "worker-02"
#: The recognisable message of the error burst, as it appears in `msg`.
INCIDENT_MESSAGE_PREFIX = "ledger-db connection pool exhausted"
INCIDENT_TEMPLATE = (
    INCIDENT_MESSAGE_PREFIX
    + " (pool=ledger-db, max=32, waiting={n}): payment {payment} rolled back"
)
INCIDENT_TARGET = "payments::ledger::pool"
#: The burst spans these minutes before now.
INCIDENT_MINUTES_AGO = (42.0, 38.0)

T = LogTemplate

SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        name="api-gateway",
        exe="/usr/local/bin/api-gateway",
        distro="Ubuntu 22.04.4 LTS",
        cpu_brand="AMD EPYC 7R13 Processor",
        region="eu-west-1",
        log_rate=3.0,
        metrics=(("request_latency", "ms"),),
        threads=("tokio-runtime-worker-0", "tokio-runtime-worker-1"),
        span_tree=(
            SpanNode("handle_request", 0, -1, 0.0, 1.0, "src/server.rs", 88),
            SpanNode("authenticate", 1, 0, 0.02, 0.15, "src/auth.rs", 41),
            SpanNode("verify_jwt", 2, 1, 0.1, 0.7, "src/auth.rs", 77),
            SpanNode("route", 1, 0, 0.2, 0.75, "src/router.rs", 120),
            SpanNode("call_upstream", 2, 3, 0.05, 0.8, "src/upstream.rs", 64),
            SpanNode("serialize_response", 2, 3, 0.87, 0.1, "src/response.rs", 19),
        ),
        root_span_ms=12.0,
        async_names=("proxy_request", "refresh_jwks", "health_check"),
        processes=(
            ProcessSpec("web-01", "svc-api", "API service", 400, 0, "3.8.1"),
            ProcessSpec("web-02", "svc-api", "API service", 395, 130, "3.8.0"),
            ProcessSpec("web-02", "svc-api", "API service", 129, 0, "3.8.1"),
            ProcessSpec("web-03", "svc-api", "API service", 380, 0, "3.8.1"),
        ),
        templates=(
            T(
                FATAL,
                "api_gateway::main",
                "panic in request handler: index out of bounds: "
                "the len is {n} but the index is {n2}",
            ),
            T(
                ERROR,
                "api_gateway::upstream",
                "upstream {upstream} returned 502 Bad Gateway after {ms} ms",
            ),
            T(
                ERROR,
                "api_gateway::auth",
                "rejected token for user {user}: signature verification failed",
            ),
            T(
                WARN,
                "api_gateway::ratelimit",
                "rate limit reached for client {client} ({n} requests in 60 s)",
            ),
            T(WARN, "api_gateway::upstream", "slow upstream {upstream}: {ms} ms for GET {path}"),
            T(INFO, "api_gateway::access", "GET {path} 200 {ms} ms user={user}"),
            T(INFO, "api_gateway::access", "POST {path} 201 {ms} ms user={user}"),
            T(INFO, "api_gateway::access", "GET {path} 304 {ms} ms"),
            T(INFO, "api_gateway::auth", "user {user} signed in from {ip}"),
            T(DEBUG, "api_gateway::router", "matched route {path} -> {upstream}"),
            T(DEBUG, "api_gateway::cache", "cache miss for key session:{hex}"),
            T(DEBUG, "api_gateway::auth", "JWKS cache hit, kid={hex}"),
            T(TRACE, "api_gateway::http", "read {bytes} bytes from {ip}"),
            T(TRACE, "api_gateway::http", "keep-alive connection {n} reused"),
        ),
    ),
    ServiceSpec(
        name="telemetry-ingestion-srv",
        exe="/opt/micromegas/telemetry-ingestion-srv",
        distro="Debian GNU/Linux 12 (bookworm)",
        cpu_brand="Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
        region="eu-west-1",
        log_rate=2.0,
        metrics=(("request_latency", "ms"),),
        threads=("tokio-runtime-worker-0", "tokio-runtime-worker-1"),
        span_tree=(
            SpanNode("insert_block", 0, -1, 0.0, 1.0, "src/web_ingestion_service.rs", 52),
            SpanNode("decode_payload", 1, 0, 0.02, 0.2, "src/payload.rs", 33),
            SpanNode("write_object", 1, 0, 0.25, 0.5, "src/lake.rs", 91),
            SpanNode("insert_metadata", 1, 0, 0.78, 0.2, "src/sql_telemetry_db.rs", 140),
        ),
        root_span_ms=8.0,
        async_names=("insert_block", "insert_stream", "insert_process"),
        processes=(
            ProcessSpec("ingest-01", "micromegas", "Micromegas ingestion", 420, 0, "0.32.0"),
            ProcessSpec("ingest-02", "micromegas", "Micromegas ingestion", 420, 0, "0.32.0"),
        ),
        templates=(
            T(
                FATAL,
                "telemetry_ingestion_srv::main",
                "cannot connect to object store s3://telemetry-lake: {upstream} unreachable",
            ),
            T(
                ERROR,
                "micromegas_ingestion::web_ingestion_service",
                "error inserting block {uuid}: payload truncated at {bytes} bytes",
            ),
            T(
                ERROR,
                "micromegas_ingestion::data_lake_connection",
                "failed to write object blobs/{hex}: timeout after {ms} ms",
            ),
            T(
                WARN,
                "micromegas_ingestion::web_ingestion_service",
                "block {uuid} arrived {n} s late",
            ),
            T(
                WARN,
                "micromegas_ingestion::data_lake_connection",
                "retrying put_object (attempt {small}/5)",
            ),
            T(
                INFO,
                "micromegas_ingestion::web_ingestion_service",
                "inserted block {uuid} of stream {uuid2} ({bytes} bytes)",
            ),
            T(
                INFO,
                "micromegas_ingestion::web_ingestion_service",
                "new process {uuid} from {host}",
            ),
            T(
                INFO,
                "micromegas_ingestion::web_ingestion_service",
                "new stream {uuid} with tags [log]",
            ),
            T(
                DEBUG,
                "micromegas_ingestion::web_ingestion_service",
                "decoded {n} objects in {ms} ms",
            ),
            T(DEBUG, "micromegas_ingestion::data_lake_connection", "put_object blobs/{hex} done"),
            T(TRACE, "micromegas_ingestion::http", "POST /ingestion/insert_block {bytes} bytes"),
            T(TRACE, "micromegas_ingestion::http", "connection from {ip} accepted"),
        ),
    ),
    ServiceSpec(
        name="flight-sql-srv",
        exe="/opt/micromegas/flight-sql-srv",
        distro="Debian GNU/Linux 12 (bookworm)",
        cpu_brand="Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
        region="eu-west-1",
        log_rate=1.0,
        metrics=(("request_latency", "ms"),),
        threads=("tokio-runtime-worker-0", "tokio-runtime-worker-1"),
        span_tree=(
            SpanNode(
                "flight_sql_execute_query", 0, -1, 0.0, 1.0, "src/flight_sql_service_impl.rs", 180
            ),
            SpanNode("make_session_context", 1, 0, 0.01, 0.08, "src/query.rs", 55),
            SpanNode(
                "flight_sql_query_planning", 1, 0, 0.1, 0.2, "src/flight_sql_service_impl.rs", 214
            ),
            SpanNode(
                "flight_sql_query_execution",
                1,
                0,
                0.32,
                0.66,
                "src/flight_sql_service_impl.rs",
                240,
            ),
            SpanNode("fetch_partitions", 2, 3, 0.02, 0.3, "src/lakehouse/partition_cache.rs", 77),
        ),
        root_span_ms=60.0,
        async_names=("execute_query", "fetch_partitions", "materialize_view"),
        processes=(
            ProcessSpec("analytics-01", "micromegas", "Micromegas analytics", 430, 0, "0.32.0"),
        ),
        templates=(
            T(
                FATAL,
                "flight_sql_srv::main",
                "failed to bind 0.0.0.0:50051: address already in use",
            ),
            T(
                ERROR,
                "micromegas::servers::flight_sql_service_impl",
                "error building dataframe: Schema error: No field named {field}. (query_id={uuid})",
            ),
            T(
                ERROR,
                "micromegas::servers::flight_sql_service_impl",
                "query exceeded the memory budget of {bytes} bytes (query_id={uuid})",
            ),
            T(
                WARN,
                "micromegas::servers::flight_sql_service_impl",
                "query without time range scanned {n} partitions (query_id={uuid})",
            ),
            T(
                INFO,
                "micromegas::servers::flight_sql_service_impl",
                "execute_query range=Some({n} min) "
                'sql="SELECT * FROM log_entries WHERE level <= {small}" limit=None',
            ),
            T(
                INFO,
                "micromegas::servers::flight_sql_service_impl",
                "query {uuid} finished: {n} rows in {ms} ms user={user}",
            ),
            T(
                DEBUG,
                "micromegas_analytics::lakehouse::partition_cache",
                "fetched {n} partitions for view log_entries in {ms} ms",
            ),
            T(DEBUG, "micromegas_analytics::lakehouse::view", "partition {hex} is up to date"),
            T(
                TRACE,
                "micromegas_analytics::lakehouse::reader",
                "reading row group {small} of blobs/{hex}.parquet",
            ),
            T(TRACE, "micromegas::servers::flight_sql_service_impl", "sent batch of {n} rows"),
        ),
    ),
    ServiceSpec(
        name="telemetry-admin",
        exe="/opt/micromegas/telemetry-admin",
        distro="Debian GNU/Linux 12 (bookworm)",
        cpu_brand="Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz",
        region="eu-west-1",
        log_rate=0.4,
        metrics=(),
        threads=("main",),
        span_tree=(
            SpanNode("materialize_partitions", 0, -1, 0.0, 1.0, "src/daemon.rs", 101),
            SpanNode("materialize_log_entries", 1, 0, 0.05, 0.5, "src/lakehouse/log_view.rs", 212),
            SpanNode("materialize_measures", 1, 0, 0.6, 0.35, "src/lakehouse/metrics_view.rs", 198),
        ),
        root_span_ms=900.0,
        async_names=("materialize_partitions", "delete_expired_data"),
        processes=(
            ProcessSpec("analytics-01", "micromegas", "Micromegas maintenance", 430, 0, "0.32.0"),
        ),
        templates=(
            T(
                FATAL,
                "telemetry_admin::main",
                "lost connection to PostgreSQL: server closed the connection unexpectedly",
            ),
            T(
                ERROR,
                "micromegas_analytics::lakehouse::batch_update",
                "materialization of log_entries failed for partition {hex}: object not found",
            ),
            T(
                WARN,
                "micromegas_analytics::lakehouse::batch_update",
                "partition of {n} minutes is behind by {small} minutes",
            ),
            T(
                INFO,
                "micromegas_analytics::lakehouse::batch_update",
                "materialized {n} rows of log_entries in {ms} ms",
            ),
            T(INFO, "micromegas_analytics::delete", "deleted {n} expired blocks"),
            T(
                DEBUG,
                "micromegas_analytics::lakehouse::batch_update",
                "partition {hex} has source hash {hex2}",
            ),
            T(
                TRACE,
                "micromegas_analytics::lakehouse::batch_update",
                "considering partition {hex}",
            ),
        ),
    ),
    ServiceSpec(
        name="payments-worker",
        exe="/srv/payments/bin/payments-worker",
        distro="Ubuntu 24.04.1 LTS",
        cpu_brand="AMD EPYC 9R14 Processor",
        region="eu-central-1",
        log_rate=2.5,
        metrics=(("request_latency", "ms"),),
        threads=("worker-0", "worker-1", "worker-2"),
        span_tree=(
            SpanNode("process_payment", 0, -1, 0.0, 1.0, "payments/worker.py", 144),
            SpanNode("load_account", 1, 0, 0.02, 0.2, "payments/accounts.py", 58),
            SpanNode("fraud_check", 1, 0, 0.25, 0.3, "payments/fraud.py", 23),
            SpanNode("ledger_commit", 1, 0, 0.6, 0.35, "payments/ledger.py", 310),
            SpanNode("acquire_connection", 2, 3, 0.0, 0.3, "payments/ledger.py", 77),
        ),
        root_span_ms=35.0,
        async_names=("process_payment", "send_receipt", "settle_batch"),
        processes=(
            ProcessSpec("worker-01", "payments", "Payments worker", 410, 0, "2024.11.3"),
            ProcessSpec("worker-02", "payments", "Payments worker", 410, 0, "2024.11.3"),
        ),
        templates=(
            T(
                FATAL,
                "payments::worker",
                "worker {small} aborted: invariant violated in ledger balance",
            ),
            T(
                ERROR,
                "payments::provider",
                "card provider returned error 504 for payment {payment}",
            ),
            T(ERROR, "payments::fraud", "fraud service unavailable, payment {payment} queued"),
            T(WARN, "payments::provider", "retrying payment {payment} (attempt {small}/3)"),
            T(WARN, "payments::currency", "exchange rate for {currency} is {n} minutes old"),
            T(INFO, "payments::worker", "payment {payment} settled: {amount} {currency}"),
            T(INFO, "payments::worker", "paiement {payment} accepté pour {person} — {amount} €"),
            T(INFO, "payments::receipts", "receipt sent to {person} for payment {payment}"),
            T(DEBUG, "payments::ledger", "ledger entry {n} written in {ms} ms"),
            T(DEBUG, "payments::fraud", "fraud score {score} for payment {payment}"),
            T(TRACE, "payments::ledger::pool", "connection {small} acquired after {ms} ms"),
            T(TRACE, "payments::queue", "polled queue payments.in: {small} messages"),
        ),
    ),
    ServiceSpec(
        name="game-client",
        exe="C:\\Program Files\\Lumen Saga\\LumenSaga.exe",
        distro="Windows 11 Pro 23H2",
        cpu_brand="AMD Ryzen 7 7800X3D 8-Core Processor",
        region="players",
        log_rate=4.0,
        metrics=(("frame_time", "ms"),),
        threads=("main", "render", "audio"),
        span_tree=(
            SpanNode("frame", 0, -1, 0.0, 1.0, "engine/frame.cpp", 40),
            SpanNode("update_world", 1, 0, 0.02, 0.35, "engine/world.cpp", 210),
            SpanNode("physics_step", 2, 1, 0.1, 0.5, "engine/physics.cpp", 98),
            SpanNode("render_scene", 1, 0, 0.4, 0.5, "engine/render.cpp", 511),
            SpanNode("draw_shadows", 2, 3, 0.05, 0.3, "engine/shadows.cpp", 77),
            SpanNode("draw_opaque", 2, 3, 0.4, 0.5, "engine/render.cpp", 602),
        ),
        root_span_ms=16.0,
        async_names=("load_asset", "matchmaking", "save_game"),
        processes=(
            ProcessSpec("DESKTOP-7Q4K2NM", "marie", "Marie Lefèvre", 340, 250, "1.4.2"),
            ProcessSpec("yuki-pc", "yuki", "山田 由紀", 300, 180, "1.4.2"),
            ProcessSpec("steamdeck-03", "deck", "Jürgen Groß", 200, 95, "1.4.1"),
            ProcessSpec("DESKTOP-9HJ2LQ", "lwang", "王 磊", 90, 0, "1.4.2"),
        ),
        templates=(
            T(FATAL, "lumen::crash", "unhandled exception 0xC0000005 at LumenSaga.exe+0x{hex}"),
            T(ERROR, "lumen::net", "connexion au serveur {host} perdue après {ms} ms"),
            T(ERROR, "lumen::assets", "texture introuvable : textures/{level}/albedo_{small}.dds"),
            T(WARN, "lumen::render", "frame took {ms} ms (budget 16.6 ms)"),
            T(WARN, "lumen::net", "ping élevé vers {host} : {ms} ms"),
            T(INFO, "lumen::level", "niveau « {level} » chargé en {ms} ms"),
            T(INFO, "lumen::level", "レベル「{level}」を読み込みました ({ms} ms)"),
            T(INFO, "lumen::social", "玩家 {person} 加入了房间 {small}"),
            T(INFO, "lumen::session", "player {person} joined lobby {small}"),
            T(DEBUG, "lumen::assets", "streamed mesh props/{level}_{small}.mesh ({bytes} bytes)"),
            T(DEBUG, "lumen::audio", "voix chargée : dialogue_{n}.ogg"),
            T(TRACE, "lumen::input", "input event gamepad button {small}"),
            T(TRACE, "lumen::render", "draw calls: {n}"),
        ),
    ),
)

#: Value pools the generator draws template fields from. Names mix ASCII, accents and CJK.
PERSONS = (
    "Amélie",
    "José",
    "Zoë",
    "Łukasz",
    "Søren",
    "Anaïs",
    "François",
    "Jürgen",
    "Ñuño",
    "山田太郎",
    "佐藤花子",
    "王芳",
    "李娜",
    "김민준",
    "alice",
    "bob",
    "carol",
    "dave",
)
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "amelie", "jose")
PATHS = (
    "/api/v2/orders",
    "/api/v2/orders/{n}",
    "/api/v2/users/me",
    "/api/v2/catalog/search",
    "/api/v2/cart",
    "/healthz",
    "/api/v2/payments",
    "/api/v2/inventory/sku-{n}",
)
UPSTREAMS = ("orders-svc", "users-svc", "catalog-svc", "payments-svc", "inventory-svc")
LEVEL_NAMES = ("Forêt ancienne", "Cité engloutie", "森の神殿", "北方要塞", "Canyon", "Citadelle")
CURRENCIES = ("EUR", "USD", "GBP", "JPY", "CHF")
FIELDS = ("exe_name", "proces_id", "levl", "mesage", "tme")
HOSTS = ("eu.lumen-saga.net", "na.lumen-saga.net", "asia.lumen-saga.net", "ingest.example.com")
