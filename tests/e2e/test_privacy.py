"""What leaves the machine, checked at the fake provider: excluded files never
reach it, the API key never reaches any output, TLS is verified (with a CA bundle
setting and the standard environment variables), proxies from the environment
are used, and plain http to another host draws a warning."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import threading

import pytest
import trustme

from fim_server.fakes.deepseek import FakeDeepSeek, Reply

from .rawlsp import ROOT, RawServer, server_env

KEY = "sk-privacy-RECOGNISABLE-8d1f5e"

SECRET_FILES = [
    ("file:///proj/.env", "dotenv"),
    ("file:///proj/.env.local", "dotenv"),
    ("file:///proj/config/.env.production", "dotenv"),
    ("file:///proj/certs/server.pem", "plaintext"),
    ("file:///proj/certs/tls.key", "plaintext"),
    ("file:///home/u/.ssh/id_rsa", "plaintext"),
    ("file:///home/u/.ssh/id_ed25519.pub", "plaintext"),
    ("file:///home/u/keys/id_rsa_deploy", "plaintext"),
    ("file:///home/u/.netrc", "plaintext"),
    ("file:///proj/.npmrc", "ini"),
    ("file:///home/u/.pypirc", "ini"),
    ("file:///home/u/.git-credentials", "plaintext"),
    ("file:///home/u/.aws/credentials", "ini"),
    ("file:///home/u/.config/gcloud/application_default_credentials.json", "json"),
    ("file:///home/u/.docker/config.json", "json"),
    ("file:///home/u/.kube/config", "yaml"),
    ("file:///C%3A/Users/u/.ENV", "dotenv"),  # Windows path, upper case
    ("file:///proj/deploy/prod.tfvars", "terraform"),
]
USER_EXCLUDED = [
    ("file:///proj/secrets/db.py", "python"),  # excludeGlobs "**/secrets/**"
    ("file:///proj/app/keys.secret.py", "python"),  # excludeGlobs "*.secret.py"
    ("file:///proj/notes/todo.txt", "plaintext"),  # disabledLanguages
]


@pytest.fixture
def fake():
    with FakeDeepSeek(api_key=KEY, default=Reply(text="ok()")) as server:
        yield server


def test_excluded_files_never_reach_the_provider(fake):
    with RawServer(env=server_env()) as server:
        server.initialize(
            {
                "baseUrl": fake.url,
                "apiKey": KEY,
                "debounceMs": 0,
                "excludeGlobs": ["**/secrets/**", "*.secret.py"],
                "disabledLanguages": ["plaintext"],
            }
        )
        canaries = []
        for n, (uri, language) in enumerate(SECRET_FILES + USER_EXCLUDED):
            canary = f"CANARY-{n}-d41d8cd98f"
            canaries.append(canary)
            server.open(uri, f"TOKEN={canary}\nPASSWORD=\n", language)
            assert server.inline(uri, 1, 9) == [], uri
            server.change(uri, 2, (1, 9), (1, 9), "x")
            assert server.inline(uri, 1, 10) == [], uri
        # an ordinary file next to them is completed, with all of them still open
        server.open("file:///proj/app/main.py", "def main():\n    return \n")
        assert server.inline("file:///proj/app/main.py", 1, 11) == ["ok()"]
        stats = server.stats()
        assert stats["not_sent_private"] == 2 * len(canaries)
        logs = "\n".join(m["message"] for m in server.messages("window/logMessage"))
    sent = b"".join(r.raw_body for r in fake.requests)
    assert len(fake.completion_requests()) == 1
    for canary in canaries:
        assert canary.encode() not in sent
    assert "never sent to the provider" in logs and "built-in exclusion" in logs and "excludeGlobs" in logs


def test_excluded_setting_applies_to_open_documents_at_once(fake):
    with RawServer(env=server_env()) as server:
        server.initialize({"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0})
        server.open("file:///proj/internal/plan.py", "SECRET_PLAN = \n")
        assert server.inline("file:///proj/internal/plan.py", 0, 14) == ["ok()"]
        server.notify(
            "workspace/didChangeConfiguration",
            {"settings": {"fimServer": {"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, "excludeGlobs": ["internal/*"]}}},
        )
        server.change("file:///proj/internal/plan.py", 2, (0, 14), (0, 14), "1")
        assert server.inline("file:///proj/internal/plan.py", 0, 15) == []
    assert len(fake.completion_requests()) == 1


# -- the API key ------------------------------------------------------------------------


def test_api_key_never_in_logs_messages_errors_stats_or_crash_output(fake, tmp_path):
    log_file = tmp_path / "server.log"
    env = server_env(DEEPSEEK_API_KEY=KEY)
    with RawServer("-v", "--log-file", str(log_file), env=env) as server:
        server.configuration = {"apiKey": KEY}
        server.initialize({"baseUrl": fake.url, "debounceMs": 0, "apiKey": KEY}, configuration=True)
        server.open("file:///k/a.py", "x = \n")
        assert server.inline("file:///k/a.py", 0, 4) == ["ok()"]
        # settings with the key in odd places, a bad value, an unknown setting
        server.notify(
            "workspace/didChangeConfiguration",
            {"settings": {"fimServer": {"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0, "model": 5, KEY: 1}}},
        )
        # the provider rejects the key and echoes it back in its error
        fake.set_default(Reply.error(401, f"Authentication Fails, Your api key: {KEY} is invalid"))
        server.change("file:///k/a.py", 2, (0, 4), (0, 4), "1")
        assert server.inline("file:///k/a.py", 0, 5) == []
        # keys with a character no HTTP header can carry (copied with a line break, a
        # typographic quote, a NUL): a clear error, not a traceback with the key in it
        for n, bad in enumerate([KEY + "\n" + KEY, KEY + "\u2019", KEY + "\x00x", KEY + " " + KEY]):
            server.notify("workspace/didChangeConfiguration", {"settings": {"fimServer": {"baseUrl": fake.url, "apiKey": bad, "debounceMs": 0}}})
            server.change("file:///k/a.py", 3 + n, (0, 5), (0, 5), "2")
            answer = server.wait_answer(
                server.send_request(
                    "textDocument/inlineCompletion",
                    {"textDocument": {"uri": "file:///k/a.py"}, "position": {"line": 0, "character": 6 + n}, "context": {"triggerKind": 2}},
                )
            )
            assert answer.get("result") == [], answer
        stats = server.stats()
        unknown = server.wait_answer(server.send_request("workspace/executeCommand", {"command": KEY, "arguments": [KEY]}))
        assert "error" in unknown
        messages = server.messages("window/showMessage")
    output = server.all_output() + json.dumps(stats) + log_file.read_text(encoding="utf-8")
    assert "Sending data" in output or "initialize" in output, "the verbose log must hold the protocol traffic"
    assert any("API key" in m["message"] for m in messages)
    assert any("paste it again" in m["message"] for m in messages)
    assert KEY not in output
    assert KEY[3:] not in output  # not even without its prefix


def test_crash_output_hides_the_key(tmp_path):
    """A server that cannot start prints a readable error without the key."""
    env = server_env(DEEPSEEK_API_KEY=KEY)
    missing = tmp_path / "no" / "such" / "dir" / f"{KEY}.log"
    proc = subprocess.run(
        [sys.executable, "-m", "fim_server", "--log-file", str(missing)],
        input=b"",
        capture_output=True,
        cwd=ROOT,
        env=env,
        timeout=30,
    )
    assert proc.returncode != 0
    err = proc.stderr.decode("utf-8", "replace")
    assert "fim-server" in err and "No such file" in err
    assert KEY not in err and KEY not in proc.stdout.decode("utf-8", "replace")


def test_crash_output_hides_every_providers_key_variable(tmp_path):
    """The crash redactor knows OPENAI_API_KEY, MISTRAL_API_KEY, ... too, used or not."""
    from fim_server.providers.catalog import KEY_VARIABLES

    keys = {name: f"sk-crash-{name.lower()}-CANARY" for name in KEY_VARIABLES}
    missing = tmp_path / "no" / "such" / "dir" / ("-".join(keys.values()) + ".log")
    proc = subprocess.run(
        [sys.executable, "-m", "fim_server", "--log-file", str(missing)],
        input=b"", capture_output=True, cwd=ROOT, env=server_env(**keys), timeout=30,
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode != 0 and "No such file" in err
    assert "CANARY" not in err + proc.stdout.decode("utf-8", "replace")


def test_complete_command_verbose_output_hides_the_key(tmp_path, fake):
    source = tmp_path / "a.py"
    source.write_text("x = \n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "fim_server", "complete", f"{source}:1:5", "--set", f"baseUrl={fake.url}",
         "--set", f"apiKey={KEY}", "-v"],
        capture_output=True,
        cwd=ROOT,
        env=server_env(DEEPSEEK_API_KEY=KEY),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.decode().strip() == "ok()"
    assert KEY.encode() not in proc.stderr + proc.stdout
    assert fake.completion_requests()[0].bearer == KEY


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return ca_file, context


@pytest.fixture
def tls_fake(tls):
    with FakeDeepSeek(api_key=KEY, default=Reply(text="secure()"), ssl_context=tls[1]) as server:
        yield server


def test_tls_verified_by_default(tls_fake):
    assert tls_fake.url.startswith("https://")
    with RawServer(env=server_env()) as server:
        server.initialize({"baseUrl": tls_fake.url, "apiKey": KEY, "debounceMs": 0})
        server.open("file:///t/a.py", "x = \n")
        assert server.inline("file:///t/a.py", 0, 4) == []
        (message,) = server.messages("window/showMessage")
        assert "cannot connect" in message["message"]
    assert tls_fake.completion_requests() == [], "nothing may be sent over an unverified connection"


def test_ca_bundle_setting(tls, tls_fake):
    with RawServer(env=server_env()) as server:
        server.initialize({"baseUrl": tls_fake.url, "apiKey": KEY, "debounceMs": 0, "caBundle": str(tls[0])})
        server.open("file:///t/a.py", "x = \n")
        assert server.inline("file:///t/a.py", 0, 4) == ["secure()"]
        # a bundle that does not exist: one settings message, the default (system trust) applies
        server.notify(
            "workspace/didChangeConfiguration",
            {"settings": {"fimServer": {"baseUrl": tls_fake.url, "apiKey": KEY, "debounceMs": 0, "caBundle": "/no/such/ca.pem"}}},
        )
        server.change("file:///t/a.py", 2, (0, 4), (0, 4), "1")
        assert server.inline("file:///t/a.py", 0, 5) == []
        messages = [m["message"] for m in server.messages("window/showMessage")]
    assert any("caBundle" in m and "readable PEM" in m for m in messages), messages
    assert len(tls_fake.completion_requests()) == 1


def test_ssl_cert_file_environment_variable(tls, tls_fake):
    with RawServer(env=server_env(SSL_CERT_FILE=str(tls[0]))) as server:
        server.initialize({"baseUrl": tls_fake.url, "apiKey": KEY, "debounceMs": 0})
        server.open("file:///t/a.py", "x = \n")
        assert server.inline("file:///t/a.py", 0, 4) == ["secure()"]


# -- proxies from the environment --------------------------------------------------------


class LoopbackProxy:
    """An HTTP proxy on 127.0.0.1: forwards absolute-form requests (plain http) to
    ``upstream`` and tunnels CONNECT (https) to the loopback port asked for."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.seen: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _serve(self, conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            data = conn.recv(65536)
            if not data:
                conn.close()
                return
            head += data
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
        self.seen.append(f"{method} {target}")
        if method == "CONNECT":
            port = int(target.rsplit(":", 1)[1])
            upstream = socket.create_connection(("127.0.0.1", port))
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            path = "/" + target.split("://", 1)[1].split("/", 1)[1]
            headers = [h for h in lines[1:] if not h.lower().startswith(("connection:", "proxy-connection:"))]
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            request = "\r\n".join([f"{method} {path} {version}", *headers, "Connection: close", "", ""]).encode("latin-1")
            upstream.sendall(request + rest)
            rest = b""
        if rest:
            upstream.sendall(rest)
        threading.Thread(target=self._pipe, args=(upstream, conn), daemon=True).start()
        self._pipe(conn, upstream)

    def close(self) -> None:
        self.listener.close()


def test_http_proxy_environment_variable_and_plain_http_warning(fake):
    proxy = LoopbackProxy(fake.port)
    try:
        # a host name that only the proxy can reach
        base = f"http://provider.invalid:{fake.port}"
        with RawServer(env=server_env(HTTP_PROXY=proxy.url)) as server:
            server.initialize({"baseUrl": base, "apiKey": KEY, "debounceMs": 0})
            server.open("file:///p/a.py", "x = \n")
            assert server.inline("file:///p/a.py", 0, 4) == ["ok()"]
            messages = [m["message"] for m in server.messages("window/showMessage")]
    finally:
        proxy.close()
    assert proxy.seen and proxy.seen[0] == f"POST {base}/completions"
    assert len(fake.completion_requests()) == 1
    (warning,) = messages
    assert "plain http" in warning and "provider.invalid" in warning and "https://" in warning


def test_https_proxy_environment_variable(tls, tls_fake):
    proxy = LoopbackProxy(tls_fake.port)
    try:
        with RawServer(env=server_env(HTTPS_PROXY=proxy.url)) as server:
            server.initialize({"baseUrl": tls_fake.url, "apiKey": KEY, "debounceMs": 0, "caBundle": str(tls[0])})
            server.open("file:///p/a.py", "x = \n")
            assert server.inline("file:///p/a.py", 0, 4) == ["secure()"]
            assert server.messages("window/showMessage") == []
    finally:
        proxy.close()
    assert proxy.seen == [f"CONNECT 127.0.0.1:{tls_fake.port}"]


def test_no_warning_for_loopback_or_https(fake):
    with RawServer(env=server_env()) as server:
        server.initialize({"baseUrl": fake.url, "apiKey": KEY, "debounceMs": 0})
        server.stats()
        server.notify(
            "workspace/didChangeConfiguration",
            {"settings": {"fimServer": {"baseUrl": f"http://localhost:{fake.port}", "apiKey": KEY}}},
        )
        server.stats()
        assert server.messages("window/showMessage") == []


def test_complete_command_refuses_secret_files(tmp_path, fake):
    secret = tmp_path / ".env"
    secret.write_text("TOKEN=CANARY-cli-77\nPASSWORD=\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "fim_server", "complete", f"{secret}:2:10", "--set", f"baseUrl={fake.url}"],
        capture_output=True,
        cwd=ROOT,
        env=server_env(DEEPSEEK_API_KEY=KEY),
        timeout=60,
    )
    assert proc.returncode == 1
    assert b"never sent" in proc.stderr
    assert fake.requests == []


def test_ca_bundle_that_is_not_pem_falls_back_to_default_trust(tls_fake, tmp_path):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n", encoding="utf-8")
    with RawServer(env=server_env()) as server:
        server.initialize({"baseUrl": tls_fake.url, "apiKey": KEY, "debounceMs": 0, "caBundle": str(junk)})
        server.open("file:///t/a.py", "x = \n")
        assert server.inline("file:///t/a.py", 0, 4) == []  # the test CA is not trusted by default
        server.stats()
        logs = "\n".join(m["message"] for m in server.messages("window/logMessage"))
    assert "cannot be read as PEM" in logs
    assert tls_fake.completion_requests() == []

