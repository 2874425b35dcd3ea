"""Fixtures: a local HTTPS server (trustme CA) answering as Salesforce."""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from pytest_httpserver import HTTPServer
from salesforce_fake import FakeSalesforce


@pytest.fixture(scope="session")
def salesforce_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("sf-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture(scope="session")
def salesforce_server(salesforce_ca) -> Iterator[HTTPServer]:
    ca, _ = salesforce_ca
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def salesforce(salesforce_server: HTTPServer, salesforce_ca) -> Iterator[FakeSalesforce]:
    """A fresh fake Salesforce for each test; ``.url`` is https, ``.ca_file`` its CA."""
    fake = FakeSalesforce()
    salesforce_server.clear()
    salesforce_server.expect_request(re.compile(r".*")).respond_with_handler(fake)
    fake.url = salesforce_server.url_for("").rstrip("/")
    fake.ca_file = str(salesforce_ca[1])
    yield fake
    salesforce_server.clear()
