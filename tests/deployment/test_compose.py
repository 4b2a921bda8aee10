"""The compose files of ``wk compose``: valid by the Compose specification's JSON schema, and
holding together as the files are used (a runtime file together with its stores file)."""

from __future__ import annotations

import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.scaffolds.helpers import wk
from wolkenkit.deployment import write_compose_files
from wolkenkit.deployment.compose import MICROSERVICES, PUBLIC_ROUTES, compose_files
from wolkenkit.observability.tracing import is_tracing_configured
from wolkenkit.runtime.services import HTTP_SERVICES
from wolkenkit.runtime.settings import RuntimeSettings
from wolkenkit.scaffolds import create_project

SCHEMA = json.loads((Path(__file__).parent / "compose_spec" / "compose-spec.json").read_text())
DEPLOYMENTS = [
    ("in-memory", "single-process"),
    ("sqlite", "single-process"),
    ("postgres", "single-process"),
    ("mariadb", "single-process"),
    ("postgres", "microservice"),
    ("mariadb", "microservice"),
]
SECRET = re.compile(r"\$\{([A-Z_]+):\?[^}]*\}")


def files_of(store_type: str, runtime: str) -> dict[str, str]:
    return compose_files(store_type, runtime, image="chat", build_context="../..")


def documents(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {name: yaml.safe_load(text) for name, text in files.items() if name.endswith(".yml")}


def together(store_type: str, runtime: str, name: str) -> dict[str, Any]:
    """The services of ``name`` as compose sees them beside the stores file."""
    parsed = documents(files_of(store_type, runtime))
    services: dict[str, Any] = {}
    for file_name in (f"stores.{store_type}.yml", name):
        services.update(parsed.get(file_name, {}).get("services", {}))
    return services


@pytest.mark.parametrize(("store_type", "runtime"), DEPLOYMENTS)
def test_every_file_is_valid_by_the_compose_schema(store_type: str, runtime: str) -> None:
    # The schema does catch mistakes: a misspelt key is one.
    misspelt = {"services": {"main": {"imgae": "chat"}}}
    assert list(jsonschema.Draft201909Validator(SCHEMA).iter_errors(misspelt))
    for name, document in documents(files_of(store_type, runtime)).items():
        errors = list(jsonschema.Draft201909Validator(SCHEMA).iter_errors(document))
        assert errors == [], f"{name}: {errors[0].message}"


@pytest.mark.parametrize(("store_type", "runtime"), DEPLOYMENTS)
def test_every_depends_on_names_a_service(store_type: str, runtime: str) -> None:
    for name in (f"setup.{store_type}.yml", f"{runtime}.{store_type}.yml"):
        services = together(store_type, runtime, name)
        for service_name, service in services.items():
            for dependency in service.get("depends_on", {}):
                assert dependency in services, f"{name}: {service_name} -> {dependency}"


@pytest.mark.parametrize(("store_type", "runtime"), DEPLOYMENTS)
def test_published_ports_do_not_clash(store_type: str, runtime: str) -> None:
    services = together(store_type, runtime, f"{runtime}.{store_type}.yml")
    published = [
        str(port).split(":")[0]
        for service in services.values()
        for port in service.get("ports", [])
    ]

    assert published == ["3000"]


@pytest.mark.parametrize("store_type", ["postgres", "mariadb"])
def test_every_microservice_has_a_health_check(store_type: str) -> None:
    services = together(store_type, "microservice", f"microservice.{store_type}.yml")

    assert set(MICROSERVICES) | {"redis", "gateway", store_type} == set(services)
    for name, service in services.items():
        assert "test" in service["healthcheck"], name
        assert not service["healthcheck"].get("disable", False), name
        assert service["restart"] in ("always", "unless-stopped"), name
    for name in MICROSERVICES:
        assert services[name]["command"] == ["wk", "run", name]
        assert services[name]["healthcheck"]["test"][-1] == "3001"


@pytest.mark.parametrize("store_type", ["postgres", "mariadb"])
def test_the_gateway_routes_the_public_paths_and_checks_health(store_type: str) -> None:
    services = together(store_type, "microservice", f"microservice.{store_type}.yml")

    routes = {}
    for name, service in services.items():
        labels = service.get("labels", {})
        rule = labels.get(f"traefik.http.routers.{name}.rule")
        if rule is not None:
            routes[name] = rule
            balancer = f"traefik.http.services.{name}.loadbalancer"
            assert labels[f"{balancer}.healthcheck.port"] == "3001"
            assert labels[f"{balancer}.healthcheck.path"] == "/health/v2"
    assert routes == {name: f"PathPrefix(`{path}`)" for name, path in PUBLIC_ROUTES.items()}
    # Every service that answers HTTP on the API port is reachable through the gateway.
    assert set(routes) == set(HTTP_SERVICES)
    assert routes["replay"] == "PathPrefix(`/perform-replay`)"
    assert services["gateway"]["ports"] == ["3000:3000"]


@pytest.mark.parametrize(("store_type", "runtime"), DEPLOYMENTS)
def test_passwords_come_from_the_env_file(store_type: str, runtime: str) -> None:
    # No password is ever written into a compose file: each is a required variable of .env
    # (`${NAME:?message}`: compose refuses to start while it is unset or empty), and
    # .env.example lists each one empty, so a copy of it cannot start on a placeholder.
    files = files_of(store_type, runtime)
    passwords = [
        value for document in documents(files).values() for value in password_values(document)
    ]
    assert bool(passwords) == (store_type in ("postgres", "mariadb"))
    for value in passwords:
        assert SECRET.fullmatch(value), value
    referenced = {SECRET.fullmatch(value).group(1) for value in passwords}  # type: ignore[union-attr]
    example = files.get(".env.example", "")
    settings = [line for line in example.splitlines() if line and not line.startswith("#")]
    assert {line.split("=")[0] for line in settings} == referenced
    assert all(line == f"{line.split('=')[0]}=" for line in settings)


def password_values(value: Any, key: str = "") -> list[str]:
    """Every value that is a password: under a key that says so, after --requirepass, or
    inside JSON options; an empty list where there are none (in memory, SQLite)."""
    if isinstance(value, dict):
        return [found for name, item in value.items() for found in password_values(item, name)]
    if isinstance(value, list):
        found = [item for before, item in itertools.pairwise(value) if before == "--requirepass"]
        return found + [inner for item in value for inner in password_values(item)]
    if not isinstance(value, str):
        return []
    if value.startswith("{"):
        return password_values(json.loads(value))
    return [value] if "PASSWORD" in key.upper() or key == "REDISCLI_AUTH" else []


@pytest.mark.parametrize("before", DEPLOYMENTS)
@pytest.mark.parametrize("after", DEPLOYMENTS)
def test_the_env_example_covers_every_compose_file_in_the_directory(
    tmp_path: Path, before: tuple[str, str], after: tuple[str, str]
) -> None:
    # Files written earlier for another store type or runtime stay, and so must their
    # passwords: .env is one file for the whole directory.
    app = tmp_path / "shop"
    app.mkdir()
    write_compose_files(app, *before, tmp_path / "out")
    write_compose_files(app, *after, tmp_path / "out")

    referenced = {
        name
        for path in (tmp_path / "out").glob("*.yml")
        for name in SECRET.findall(path.read_text())
    }
    example = tmp_path / "out" / ".env.example"
    listed = set()
    if example.exists():
        lines = example.read_text().splitlines()
        listed = {line.split("=")[0] for line in lines if line and not line.startswith("#")}
    assert listed == referenced


def test_wk_compose_keeps_the_redis_password_of_the_microservice_files(tmp_path: Path) -> None:
    app = create_project("shop", template="blank", directory=tmp_path / "shop")
    microservice = wk("compose", "postgres", "--runtime", "microservice", cwd=app)
    single_process = wk("compose", "postgres", cwd=app)

    assert microservice.returncode == single_process.returncode == 0
    example = (app / "deployment" / "docker-compose" / ".env.example").read_text()
    assert "\nPOSTGRES_PASSWORD=\n" in example
    assert "\nREDIS_PASSWORD=\n" in example


def test_the_runtime_refuses_the_placeholder_of_earlier_env_examples(tmp_path: Path) -> None:
    # Projects made by an earlier wk compose have .env.example files with a placeholder in
    # place of each password; a .env copied from one must not start a deployment.
    app = create_project("shop", template="blank", directory=tmp_path / "shop")
    redis = {"type": "Redis", "hostName": "127.0.0.1", "password": "replace-this-placeholder"}
    environment = {
        **os.environ,
        "APPLICATION_DIRECTORY": str(app),
        "PORT_OR_SOCKET": str(tmp_path / "api.sock"),
        "HEALTH_PORT_OR_SOCKET": str(tmp_path / "health.sock"),
        "PUB_SUB_OPTIONS": json.dumps({"publisher": redis, "subscriber": redis}),
    }

    result = wk("run", cwd=tmp_path, environment=environment)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: The Redis options hold the placeholder password 'replace-this-placeholder' of "
        ".env.example: choose a real password in .env."
    ]


def test_the_stores_options_use_our_variables() -> None:
    main = together("postgres", "single-process", "single-process.postgres.yml")["main"]
    environment = main["environment"]

    options = json.loads(environment["DOMAIN_EVENT_STORE_OPTIONS"])
    assert options["type"] == "Postgres"
    assert options["hostName"] == "postgres"
    assert json.loads(environment["CONSUMER_PROGRESS_STORE_OPTIONS"])["tableNames"] == {
        "progress": "progress-flow"
    }
    assert main["command"] == ["python", "-m", "wolkenkit.runtime.server"]
    assert main["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_the_microservice_runtime_needs_a_database_server() -> None:
    with pytest.raises(Exception, match="postgres or mariadb"):
        files_of("sqlite", "microservice")


def test_wk_compose_writes_the_files_into_the_app(tmp_path: Path) -> None:
    app = create_project("shop", template="chat", directory=tmp_path / "shop")
    output = tmp_path / "out"

    result = wk(
        "compose",
        "mariadb",
        "--runtime",
        "microservice",
        "--output",
        str(output),
        "--app-dir",
        str(app),
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in output.iterdir()) == [
        ".env.example",
        "microservice.mariadb.yml",
        "setup.mariadb.yml",
        "stores.mariadb.yml",
    ]
    service = yaml.safe_load((output / "microservice.mariadb.yml").read_text())["services"][
        "command"
    ]
    assert service["image"] == "shop"
    # The build context is the app, relative to where the files are; the image gets the
    # drivers of MariaDB and Redis.
    assert service["build"] == {
        "context": "../shop",
        "args": {"WOLKENKIT_EXTRAS": "mariadb,redis"},
    }
    assert "docker compose -f stores.mariadb.yml -f microservice.mariadb.yml up -d" in result.stdout


@pytest.mark.parametrize(
    ("store_type", "runtime", "extras"),
    [
        ("sqlite", "single-process", ""),
        ("in-memory", "single-process", ""),
        ("postgres", "single-process", "postgres"),
        ("mariadb", "single-process", "mariadb"),
        ("postgres", "microservice", "postgres,redis"),
    ],
)
def test_the_image_gets_the_drivers_of_the_deployments_stores(
    store_type: str, runtime: str, extras: str
) -> None:
    services = together(store_type, runtime, f"{runtime}.{store_type}.yml")
    builds = [service["build"] for service in services.values() if "build" in service]

    assert builds
    assert all(build["args"] == {"WOLKENKIT_EXTRAS": extras} for build in builds)


def test_wk_compose_refuses_what_it_cannot_write(tmp_path: Path) -> None:
    result = wk("compose", "sqlite", "--runtime", "microservice", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "postgres or mariadb" in result.stderr
    assert not (tmp_path / "deployment").exists()


@pytest.mark.parametrize(("store_type", "runtime"), DEPLOYMENTS)
def test_the_runtime_accepts_the_environment(store_type: str, runtime: str) -> None:
    # Every app service's variables pass the runtime's own validation, once compose has put
    # the passwords from .env in.
    services = together(store_type, runtime, f"{runtime}.{store_type}.yml")
    for name, service in services.items():
        if "environment" not in service or "build" not in service:
            continue
        environment = {
            key: SECRET.sub("secret", value) for key, value in service["environment"].items()
        }
        settings = RuntimeSettings.from_environment(environment)
        assert settings.port_or_socket == 3000, name
        assert settings.health_port_or_socket == 3001, name


@pytest.mark.parametrize(("store_type", "runtime"), DEPLOYMENTS)
def test_the_view_store_lives_where_the_other_stores_live(store_type: str, runtime: str) -> None:
    # The app's view tables go into the deployment's own database: under the microservice
    # runtime the flow (which writes them) and the view and graphql services (which read them)
    # share them through PostgreSQL or MariaDB, not through a volume.
    services = together(store_type, runtime, f"{runtime}.{store_type}.yml")
    app_services = {name: s for name, s in services.items() if "build" in s}
    assert app_services
    for name, service in app_services.items():
        environment = {
            key: SECRET.sub("secret", value) for key, value in service["environment"].items()
        }
        settings = RuntimeSettings.from_environment(environment)
        views = settings.view_store_options
        assert isinstance(views, dict), name
        # In the flows' progress database: a flow's table writes commit with its progress.
        progress = settings.consumer_progress_store_options
        assert isinstance(progress, dict), name
        assert {key: value for key, value in progress.items() if key != "tableNames"} == views
        if store_type == "in-memory":
            assert views == {"type": "InMemory"}, name
        elif store_type == "sqlite":
            # The same file as the other stores, on the data volume.
            events = settings.domain_event_store_options
            assert isinstance(events, dict)
            assert views == {"type": "Sqlite", "fileName": events["fileName"]}, name
            assert views["fileName"].startswith("/data/")
        else:
            assert views["type"] == {"postgres": "Postgres", "mariadb": "MariaDb"}[store_type]
            assert views["hostName"] == store_type, name
            assert views["database"] == "wolkenkit", name
    if runtime == "microservice":
        for name in ("flow", "view", "graphql"):
            assert "VIEW_STORE_OPTIONS" in services[name]["environment"], name
            assert "volumes" not in services[name] or not any(
                volume.startswith("data:") for volume in services[name]["volumes"]
            ), name


@pytest.mark.parametrize("store_type", ["sqlite", "postgres", "mariadb"])
def test_the_setup_service_sets_up_the_view_tables(store_type: str) -> None:
    setup = together(store_type, "single-process", f"setup.{store_type}.yml")["setup"]
    script = setup["command"][-1]

    assert f'wk setup store view {store_type} --options "$$VIEW_STORE_OPTIONS"' in script
    assert "VIEW_STORE_OPTIONS" in setup["environment"]
    # The app's tables are known once the app is loaded; its infrastructure comes last.
    assert script.endswith("wk setup infrastructure")


@pytest.mark.parametrize(("store_type", "runtime"), DEPLOYMENTS)
def test_the_collector_option_adds_a_collector_every_service_reports_to(
    store_type: str, runtime: str
) -> None:
    # With --otel-collector the runtime file holds a collector service (a published image,
    # its generated configuration), every app service exports its traces to it, and it
    # scrapes every app service's metrics on the health port. Without it, none of that.
    plain = files_of(store_type, runtime)
    files = compose_files(
        store_type, runtime, image="chat", build_context="../..", otel_collector=True
    )
    name = f"{runtime}.{store_type}.yml"
    document = documents(files)[name]
    errors = list(jsonschema.Draft201909Validator(SCHEMA).iter_errors(document))
    assert errors == [], errors[0].message
    services = together(store_type, runtime, name) | document["services"]
    collector = services.pop("otel-collector")
    assert re.fullmatch(r"otel/opentelemetry-collector-contrib:\d+\.\d+\.\d+", collector["image"])
    (mounted,) = collector["configs"]
    assert collector["command"] == [f"--config={mounted['target']}"]
    assert document["configs"][mounted["source"]] == {"file": "./otel-collector.yaml"}
    app_services = [service_name for service_name, s in services.items() if "build" in s]
    for service_name in app_services:
        environment = services[service_name]["environment"]
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
        assert is_tracing_configured(environment), service_name
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in str(documents(plain)[name])

    config = yaml.safe_load(files["otel-collector.yaml"])
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"] == "0.0.0.0:4318"
    (scrape,) = config["receivers"]["prometheus"]["config"]["scrape_configs"]
    assert scrape["metrics_path"] == "/metrics"
    (discovery,) = scrape["dns_sd_configs"]
    assert sorted(discovery["names"]) == sorted(app_services)
    assert discovery["port"] == 3001
    for pipeline in config["service"]["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline[kind]) <= set(config[kind]), (kind, pipeline)
    assert "otel-collector.yaml" not in plain


def test_wk_compose_writes_the_collector_configuration(tmp_path: Path) -> None:
    app = create_project("shop", template="blank", directory=tmp_path / "shop")

    result = wk("compose", "postgres", "--runtime", "microservice", "--otel-collector", cwd=app)

    assert result.returncode == 0, result.stderr
    output = app / "deployment" / "docker-compose"
    assert (output / "otel-collector.yaml").is_file()
    runtime = yaml.safe_load((output / "microservice.postgres.yml").read_text())
    assert "otel-collector" in runtime["services"]
