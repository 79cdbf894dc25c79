#!/usr/bin/env python3
"""Authorise pp-collector to read Google Analytics as you, once, and write its credentials files.

    tools/generate-ga-credentials.py path/to/client_secret.json [--output DIR] [--force]
                                     [--port N] [--no-browser] [--timeout SECONDS]

`client_secret.json` is an OAuth client of type "Desktop app" ("installed") downloaded from the
Google Cloud console. The tool runs Google's installed-app flow with a loopback redirect: it starts
a one-shot web server on localhost, prints the consent URL (and opens it in a browser unless
--no-browser), and once you approve, exchanges the code for tokens. (Google switched off the old
copy-and-paste "out of band" flow in 2022.) On a machine without a browser, forward the port first,
e.g. `ssh -L 8085:localhost:8085 host`, run with `--port 8085 --no-browser`, and open the URL locally.

It writes, under DIR (default ./creds):
- `ga/storage.db`: the stored tokens, google-auth `authorized_user` JSON with `token_uri` (mode 0600);
- `ga/client_secret.json`: a copy of the client secrets (mode 0600);
- `ga.json`: `{"CLIENT_SECRETS": <abs path>, "STORAGE_PATH": <abs path>}`, a credentials file for
  `pp-collector -c`.
Existing files are left alone unless --force is given (exit 2 otherwise).

For cron jobs, a service account needs no human at all: put `SERVICE_ACCOUNT_KEY` in the
credentials file instead. Tokens of an OAuth app whose consent screen is in "Testing" mode expire
after 7 days.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import webbrowser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

try:
    import performanceplatform.collector  # noqa: F401 (only checks that the package is importable)
except ImportError:
    # Run from a checkout without installing: the package sits beside tools/.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from performanceplatform.collector.errors import EXIT_COLLECTION_FAILED, EXIT_OK, EXIT_USAGE, ConfigurationError
from performanceplatform.collector.ga.auth import (
    GENERATOR,
    SCOPE,
    credentials_from_config,
    load_client_secrets,
    write_json_atomically,
)
from performanceplatform.collector.http import Timeouts, is_loopback, require_secure_transport
from performanceplatform.collector.redaction import RedactingFilter, redact, register_secret

log = logging.getLogger("generate-ga-credentials")

PROMPT = (
    "Open this URL in a browser and allow pp-collector to read your Google Analytics data:\n\n"
    "{url}\n\n"
    "Waiting for Google to send the browser back to this machine..."
)
EPILOG = """\
writes, under DIR:
  ga.json                 {"CLIENT_SECRETS": ..., "STORAGE_PATH": ...}, for pp-collector -c
  ga/storage.db           the stored tokens (google-auth authorized_user JSON, mode 0600)
  ga/client_secret.json   a copy of the client secrets (mode 0600)

On a host without a browser: ssh -L 8085:localhost:8085 host, then run with
--port 8085 --no-browser and open the printed URL on your own machine.
For cron jobs, a service account (SERVICE_ACCOUNT_KEY) needs no human at all."""
SUCCESS_PAGE = "pp-collector is authorised. You can close this window and go back to the terminal."


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=GENERATOR,
        description="Run Google's installed-app OAuth flow and write a GA credentials file for pp-collector.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument("client_secrets", type=Path, help="the OAuth client's client_secret.json")
    parser.add_argument(
        "--output", type=Path, default=Path("creds"), metavar="DIR", help="where to write the files (default ./creds)"
    )
    parser.add_argument("--force", action="store_true", help="overwrite files written before")
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        metavar="N",
        help="port of the local redirect server (default: any free port)",
    )
    parser.add_argument("--no-browser", action="store_true", help="print the URL only; do not open a browser")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="how long to wait for the browser to come back (default 600)",
    )
    arguments = parser.parse_args(argv)
    if not 0 <= arguments.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if arguments.timeout <= 0:
        parser.error("--timeout must be positive")
    return arguments


def main(argv: list[str] | None = None) -> int:
    # The URL must reach a reader at once even when stdout is a pipe (ssh, tee, a test).
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], format="%(levelname)s: %(message)s")
    arguments = parse_arguments(argv)
    missing = _missing_oauth_flow()
    if missing:
        print(
            f"{GENERATOR}: needs google-auth-oauthlib (no module named '{missing}'), which pp-collector "
            "installs only with its 'tools' extra: "
            "pip install 'pp-collector[tools]' (in a checkout: pip install '.[tools]')",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        return generate(arguments)
    except ConfigurationError as error:
        print(f"{GENERATOR}: {redact(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except _FlowFailed as error:
        print(f"{GENERATOR}: {redact(str(error))}", file=sys.stderr)
        return EXIT_COLLECTION_FAILED


def _missing_oauth_flow() -> str | None:
    """The module of the `tools` extra that is not installed, if one is not."""
    try:
        # Only checks that the extra is installed: the package, then what its flow imports.
        import google_auth_oauthlib
        import google_auth_oauthlib.flow  # noqa: F401
    except ModuleNotFoundError as error:
        return error.name or "google_auth_oauthlib"
    return None


class _FlowFailed(Exception):
    """The OAuth flow did not end with tokens."""


def generate(arguments: argparse.Namespace) -> int:
    secrets_path = arguments.client_secrets.expanduser().resolve()
    client = load_client_secrets(secrets_path, source=str(arguments.client_secrets))
    if client.auth_uri is None or client.token_uri is None:
        raise ConfigurationError(
            f"'{client.kind}' needs 'auth_uri' and 'token_uri' (download the file again from the console)",
            source=str(secrets_path),
        )
    require_secure_transport(client.token_uri, "the OAuth client secret")

    output = arguments.output.expanduser().resolve()
    credentials_path = output / "ga.json"
    storage_path = output / "ga" / "storage.db"
    secrets_copy = output / "ga" / "client_secret.json"
    existing = [path for path in (credentials_path, storage_path, secrets_copy) if path.exists()]
    # Checked before the flow, so nobody goes through the consent screen for nothing.
    if existing and not arguments.force:
        raise ConfigurationError(
            "will not overwrite " + ", ".join(str(path) for path in existing) + "; pass --force to replace them"
        )

    credentials = _run_flow(secrets_path, client.token_uri, arguments)
    if not credentials.refresh_token:
        raise _FlowFailed(
            "Google returned no refresh token; revoke pp-collector's access at "
            "https://myaccount.google.com/permissions and run this again"
        )
    register_secret(credentials.token)
    register_secret(credentials.refresh_token)

    storage: dict[str, Any] = {
        "type": "authorized_user",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "refresh_token": credentials.refresh_token,
        "token_uri": client.token_uri,
        "scopes": list(credentials.granted_scopes or credentials.scopes or [SCOPE]),
        "token": credentials.token,
        "expiry": credentials.expiry.replace(microsecond=0).isoformat() + "Z" if credentials.expiry else None,
    }
    (output / "ga").mkdir(parents=True, exist_ok=True, mode=0o700)
    write_json_atomically(secrets_copy, dict(client.raw))
    write_json_atomically(storage_path, storage)
    config = {"CLIENT_SECRETS": str(secrets_copy), "STORAGE_PATH": str(storage_path)}
    write_json_atomically(credentials_path, config)
    # Proves the files load the way pp-collector will load them (the new token is still valid,
    # so this sends nothing).
    credentials_from_config(config, source=str(credentials_path))

    print(f"Wrote {credentials_path}")
    print(f"  CLIENT_SECRETS: {secrets_copy}")
    print(f"  STORAGE_PATH:   {storage_path}")
    print(f"Use it with: pp-collector -c {credentials_path} ...")
    return EXIT_OK


def _run_flow(secrets_path: Path, token_uri: str, arguments: argparse.Namespace) -> Any:
    # Imported here: google-auth-oauthlib is only in the `tools` extra, not a collector dependency.
    import requests
    from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    if token_uri.startswith("http://") and is_loopback(urlsplit(token_uri).hostname):
        # oauthlib refuses plain http outright; require_secure_transport has already limited it to
        # a server on this machine (a stand-in), where nothing crosses the network.
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"

    timeouts = Timeouts.from_environment()

    class Flow(InstalledAppFlow):
        def fetch_token(self, **kwargs: Any) -> Any:
            # run_local_server gives the token request no timeout; every request must have one.
            kwargs.setdefault("timeout", (timeouts.connect, timeouts.read))
            return super().fetch_token(**kwargs)

    flow = Flow.from_client_secrets_file(str(secrets_path), scopes=[SCOPE])
    open_browser = not arguments.no_browser
    if open_browser:
        try:
            webbrowser.get()
        except webbrowser.Error:
            print("No browser found here; open the URL below yourself.")
            open_browser = False
    try:
        flow.run_local_server(
            host="localhost",
            port=arguments.port,
            open_browser=open_browser,
            authorization_prompt_message=PROMPT,
            success_message=SUCCESS_PAGE,
            timeout_seconds=arguments.timeout,
            # A refresh token is only issued with offline access, and again only on consent.
            access_type="offline",
            prompt="consent",
        )
    except OSError as error:
        if arguments.port:
            raise ConfigurationError(
                f"cannot listen on localhost port {arguments.port} ({error.strerror or error}); "
                "pick another with --port"
            ) from None
        raise _FlowFailed(f"cannot start the local redirect server: {error}") from None
    except OAuth2Error as error:
        description = f": {error.description}" if error.description else ""
        raise _FlowFailed(f"Google did not authorise pp-collector ({error.error}{description})") from None
    except requests.RequestException as error:
        raise _FlowFailed(f"could not reach the token endpoint {token_uri}: {type(error).__name__}") from None
    except WSGITimeoutError:
        raise _FlowFailed(f"no answer from the browser within {arguments.timeout:.0f} s") from None
    return flow.credentials


if __name__ == "__main__":
    sys.exit(main())
