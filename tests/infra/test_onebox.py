"""The one-box profile (issue #6 item 1): the Nginx site passes `nginx -t`, its limits and the systemd unit."""

import configparser
import re
import shutil
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_DIR

INFRA = PROJECT_DIR / "infra"
sys.path.insert(0, str(INFRA / "scripts"))
import render_cloudflare_conf  # noqa: E402


def test_the_cloudflare_snippet_allows_exactly_the_published_ranges():
    snippet = render_cloudflare_conf.render()
    ranges = render_cloudflare_conf.ranges()

    assert len(ranges) >= 20 and "173.245.48.0/20" in ranges and "2606:4700::/32" in ranges
    assert snippet.count("allow ") == snippet.count("set_real_ip_from ") == len(ranges)


def test_nginx_accepts_the_site(tmp_path):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert shutil.which(nginx), "nginx is not installed: run `make test`, which installs Debian's nginx"
    (tmp_path / "cloudflare.conf").write_text(render_cloudflare_conf.render())
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=viztube",
                    "-keyout", str(tmp_path / "origin.key"), "-out", str(tmp_path / "origin.pem")],
                   check=True, capture_output=True)
    site = (INFRA / "nginx" / "viztube.conf").read_text()
    site = (site.replace("/etc/nginx/viztube/cloudflare.conf", str(tmp_path / "cloudflare.conf"))
                .replace("/etc/ssl/viztube/", f"{tmp_path}/").replace("/var/log/nginx/", f"{tmp_path}/"))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path};\n  include {tmp_path}/site.conf;\n}}\n")

    result = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
                            capture_output=True, text=True)

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_only_upload_routes_take_large_bodies():
    site = (INFRA / "nginx" / "viztube.conf").read_text()
    pattern = re.compile(re.search(r"location ~ (\S+) \{\n\s+client_max_body_size 112m;", site).group(1))

    for path in ("/api/v2/videos", "/api/v2/videos/", "/api/v2/videos/0190a000-0000-7000-8000-000000000000",
                 "/api/v2/uploads/0190a000-0000-7000-8000-000000000000", "/api/v2/user/register",
                 "/api/v2/user/update-avatar", "/api/v2/user/update-cover-image"):
        assert pattern.match(path), path
    for path in ("/api/v2/user/login", "/api/v2/comments/x", "/api/v2/uploads", "/api/v2/videos/a/b",
                 "/api/v2/playlist"):
        assert not pattern.match(path), path
    assert "client_max_body_size 1m;" in site


@pytest.mark.parametrize("key,expected", [("ExecStartPre", "-m shared.migrate"), ("ExecStart", "-m infra.serve")])
def test_the_unit_migrates_before_it_starts_the_server(key, expected):
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(INFRA / "systemd" / "viztube.service")

    assert expected in unit["Service"][key]
    environment = " ".join(line.split("=", 1)[1] for line in (INFRA / "systemd" / "viztube.service").read_text()
                           .splitlines() if line.startswith("Environment="))  # systemd adds them all up
    assert "WEB_CONCURRENCY=1" in environment and "TRUSTED_PROXIES=127.0.0.1/32" in environment
    assert unit["Service"]["MemoryMax"] == "750M"


def test_the_nginx_site_lets_every_upload_route_of_the_policy_through_and_nothing_else(tmp_path):
    """shared.web.upload_policy is where upload routes and their limits are declared; the site must agree."""
    from shared.settings import load_settings
    from shared.web import upload_policy

    site = (INFRA / "nginx" / "viztube.conf").read_text()
    location = re.search(r"location ~ (\S+) \{\n\s+client_max_body_size (\d+)m;\n\s+proxy_request_buffering off;", site)
    pattern, nginx_limit = re.compile(location.group(1)), int(location.group(2)) * 1024 * 1024
    defaults = load_settings({"VIZTUBE_STAGE": "dev", "VIZTUBE_HOME": str(tmp_path)})

    for route in upload_policy.ROUTES:
        path = re.sub(r"\{[^}]+\}", "0190a000-0000-7000-8000-000000000000", route.path)
        assert pattern.match(path), route.path  # streamed straight through to the server, unbuffered
        assert route.body_limit(defaults) <= nginx_limit, route.path
        assert upload_policy.route_for(route.method, path) is route
    assert upload_policy.route_for("POST", "/api/v2/user/login") is None
    assert upload_policy.body_limit("POST", "/api/v2/user/login", "multipart/form-data") == defaults.max_json_bytes
