"""docker-compose.yml is not run here (no Docker engine) but must stay a valid, complete file."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_declares_the_production_services():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"minio", "minio-init", "postgres", "redis", "elasticsearch", "sohoa"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)
    env = services["sohoa"]["environment"]
    assert env["SOHOA_STORAGE_URL"].startswith("s3://") and "@minio:9000/" in env["SOHOA_STORAGE_URL"]
    assert env["SOHOA_BROKER_URL"].startswith("redis://redis:")
    assert "--with-lock" in services["minio-init"]["entrypoint"]  # object lock needs it at creation
    for volume in compose["volumes"]:
        assert any(volume + ":" in v for s in services.values() for v in s.get("volumes", []))


def test_dockerfile_installs_tesseract_vie():
    text = (ROOT / "Dockerfile").read_text()
    assert "tesseract-ocr-vie" in text and "pip install" in text
