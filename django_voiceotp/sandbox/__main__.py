"""Serve the sandbox provider on its own: ``python -m django_voiceotp.sandbox``."""

import argparse
import secrets

import django
from django.conf import settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m django_voiceotp.sandbox",
        description="A simulated OTP Voice Autocall provider. Not for production.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="IPv4 address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0: any free)")
    args = parser.parse_args(argv)

    # Only what the views need: no database, no apps, no middleware.
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="django_voiceotp.sandbox.urls",
        SECRET_KEY=secrets.token_urlsafe(32),  # Django insists on one; nothing here signs
        USE_TZ=True,
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        DATABASES={},
    )
    django.setup()

    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class SandboxServer(ThreadedWSGIServer):
        # Django's default backlog (10) resets connections when dozens of clients call at once,
        # as a worker with a threads pool does; a provider would accept them.
        request_queue_size = 256

    server = SandboxServer((args.host, args.port), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    host, port = server.server_address[:2]
    assert isinstance(host, str)  # an IPv4 or IPv6 server's address, not a socket path
    print(f"Sandbox provider (not for production) at http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
