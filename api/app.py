"""The Litestar application."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from api.auth import verified_principal
from api.container import Container
from api.graphql_schema import graphql_controller
from api.limits import body_limits_middleware
from api.middleware import idempotency_middleware, request_id_middleware, security_headers_middleware
from api.oidc import OIDC_HANDLERS, oidc_startup
from api.openapi_responses import ClosedStructSchemaPlugin, declare_responses
from api.problems import EXCEPTION_HANDLERS
from api.routes.accounts import AccountsController, DeparturesController
from api.routes.applications import ApplicationsController
from api.routes.health import health, ready
from api.routes.inbox import InboxController, MentionsController
from api.routes.incidents import AuditController, IncidentsController
from api.routes.integrations import IntegrationsController, token
from api.routes.posts import PostsController
from api.routes.schools import SchoolsController
from api.routes.staff import StaffController
from api.scim import SCIM_HANDLERS
from api.web import template_config, web_router
from infra import logs
from infra.settings import Settings

HERE = Path(__file__).resolve().parent


def create_app(settings: Settings | None = None, container: Container | None = None) -> Litestar:
    settings = settings or (container.settings if container else Settings.from_env())
    logs.configure(settings.log_format, settings.log_level)
    owned = container is None
    c = container or Container(settings)
    app = Litestar(
        route_handlers=[health, ready, SchoolsController, StaffController, ApplicationsController, AccountsController,
                        DeparturesController, IncidentsController, AuditController, InboxController,
                        MentionsController, IntegrationsController, PostsController, token,
                        graphql_controller(settings.is_production),
                        *SCIM_HANDLERS, web_router(), *OIDC_HANDLERS,
                        create_static_files_router(path="/static", directories=[HERE / "static"],
                                                   include_in_schema=False)],
        dependencies={"principal": Provide(verified_principal, sync_to_thread=True)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[body_limits_middleware, idempotency_middleware],  # limits first: nothing reads past them
        template_config=template_config(),
        plugins=[ClosedStructSchemaPlugin()],  # body schemas say additionalProperties: false (decision 0110)
        openapi_config=OpenAPIConfig(
            title="SocialGov API", version="1.0.0", path="/schema",
            description="Social media governance for school trusts. Errors are RFC 9457 problem+json; ids are "
                        "UUIDs; times are RFC 3339. POST commands honour Idempotency-Key.",
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer",
                                                                             bearer_format="JWT")}),
            security=[{"bearer": []}]),
        on_startup=[oidc_startup],  # a broken SOCIALGOV_OIDC_CONFIG stops start-up
        on_shutdown=[c.close] if owned else [],  # a container passed in is closed by its owner
        request_max_body_size=settings.upload_max_bytes,  # litestar's own cap; body_limits_middleware sets each's
        debug=False,
        logging_config=None,
    )
    app.state.container = c
    declare_responses(app)  # each operation's error answers and media types, in one place (decision 0110)
    # Outermost, around litestar's own handling, so that they see every answer as sent: also those built from an
    # exception a middleware raised (413, 429) and the 404 of a path no route matches.
    app.asgi_handler = request_id_middleware(security_headers_middleware(app.asgi_handler))
    return app
