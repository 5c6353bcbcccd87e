"""The queue the app hands its work to: the DISPATCHER setting, and Celery's set-up."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib.util import find_spec

from django.conf import settings
from django.core.checks import Error, Info, Tags, Warning, register
from django.utils.module_loading import import_string

from ..conf import SETTINGS_NAME, voiceotp_settings
from ..dispatch.base import BaseDispatcher
from .settings import malformed_values, readable

SWEEPER_TASK = "django_voiceotp.tasks.poll_pending_calls"
#: What a project's celery.py passes to config_from_object() to read the CELERY_* settings.
DJANGO_CONFIG_SOURCE = "django.conf:settings"
#: Django's tasks framework: built in from Django 6.0, and the backport for earlier versions.
DJANGO_TASKS_MODULES = ("django.tasks", "django_tasks")


@register(Tags.compatibility)
def check_dispatcher(app_configs=None, **kwargs):
    """DISPATCHER names a queue the app can hand its work to."""
    if not readable():
        return []
    errors = malformed_values("check_dispatcher")
    name = voiceotp_settings.DISPATCHER
    if errors or name == "celery":
        return errors
    hint = (
        'Use "celery", "django", or the dotted path of a dispatcher class such as '
        '"myproject.dispatch.Dispatcher" (see '
        "https://django-voiceotp.readthedocs.io/en/latest/settings.html)."
    )
    if name == "django":
        if any(_importable(module) for module in DJANGO_TASKS_MODULES):
            return []
        return [
            Error(
                f"{SETTINGS_NAME}['DISPATCHER'] is 'django', but Django's tasks framework is not "
                "installed: neither django.tasks (Django 6.0 and later) nor the django_tasks "
                "backport can be imported.",
                hint="Install the backport (pip install django-tasks) or upgrade Django.",
                id="django_voiceotp.E050",
            )
        ]
    try:
        target = import_string(name)
    except Exception as err:  # ImportError, or whatever the module raises as it is imported
        return [
            Error(
                f"{SETTINGS_NAME}['DISPATCHER'] cannot be imported: {err}",
                hint=hint,
                id="django_voiceotp.E050",
            )
        ]
    if not (inspect.isclass(target) and issubclass(target, BaseDispatcher)):
        if inspect.isclass(target):
            found = f"the class {target.__name__}"
        else:
            found = f"a {type(target).__name__}"
        return [
            Error(
                f"{SETTINGS_NAME}['DISPATCHER'] must name a subclass of "
                f"django_voiceotp.dispatch.base.BaseDispatcher; {name!r} is {found}.",
                hint=hint,
                id="django_voiceotp.E050",
            )
        ]
    return []


@register()
def check_django_tasks(app_configs=None, **kwargs):
    """With Django's tasks framework: its backend takes the app's tasks, and does not run them
    inside the web request outside development."""
    if not readable() or voiceotp_settings.DISPATCHER != "django":
        return []
    if not any(_importable(module) for module in DJANGO_TASKS_MODULES):
        return []  # check_dispatcher reports it
    from .. import dispatch

    try:
        dispatcher = dispatch.get_dispatcher()
        dispatcher.validate()
        inline = dispatcher.runs_inline
    except Exception as err:  # an unknown backend, a backend whose QUEUES leave out "default"
        return [
            Error(
                f"Django's tasks framework cannot take the app's tasks: {type(err).__name__}: "
                f"{err}",
                hint='TASKS["default"] must name an installed backend whose QUEUES (if set) '
                'include "default".',
                id="django_voiceotp.E051",
            )
        ]
    if inline and not settings.DEBUG:
        return [
            Warning(
                "Django's tasks framework runs tasks at once (ImmediateBackend, the default of "
                "TASKS) in a project with DEBUG off: every call is placed inside the web request "
                "that asked for it.",
                hint="Set TASKS to a worker backend (django-tasks-db) and run its db_worker "
                "(https://django-voiceotp.readthedocs.io/en/latest/tasks.html).",
                id="django_voiceotp.W051",
            )
        ]
    return []


def _importable(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that is not a package; a module without a spec
        return False


@dataclass(frozen=True)
class CelerySetup:
    """What the Celery app that runs the app's tasks is configured with: read once, so the checks
    and voiceotp_check tell the same story."""

    app_name: str
    #: False when the app does not read Django's settings (no celery.py, or one never imported):
    #: then CELERY_* settings, eager mode and the beat schedule among them, do not apply.
    from_django: bool
    eager: bool
    #: The sweeper's interval in the beat schedule, or None when it is not scheduled.
    sweeper_schedule: object | None


def _reads_django_settings(app) -> bool:
    # Celery has no public accessor for the source given to config_from_object().
    source = getattr(app, "_config_source", None)
    return source is settings or (isinstance(source, str) and source == DJANGO_CONFIG_SOURCE)


def celery_setup() -> CelerySetup:
    """The configuration of the Celery app ``send_otp`` enqueues on (Celery's current app)."""
    from ..dispatch.celery import celery_app

    app = celery_app()
    conf = app.conf
    schedule = conf.beat_schedule or {}
    sweeper = [entry for entry in schedule.values() if entry.get("task") == SWEEPER_TASK]
    return CelerySetup(
        app_name=app.main or "default",
        from_django=_reads_django_settings(app),
        eager=bool(conf.task_always_eager),
        sweeper_schedule=sweeper[0].get("schedule") if sweeper else None,
    )


@register()
def check_celery(app_configs=None, **kwargs):
    """A Celery app that ignores Django's settings, eager mode outside development, and a sweeper
    nobody schedules, are easy to miss (when the app's work goes to Celery)."""
    if readable() and voiceotp_settings.DISPATCHER != "celery":
        return []  # another queue: Celery's settings are not the app's concern
    setup = celery_setup()
    if not setup.from_django:
        # Eager mode and the beat schedule are then Celery's defaults, not the project's: the
        # other two checks would report on settings that do not apply.
        return [
            Warning(
                f"The Celery app in use ({setup.app_name!r}) is not configured from Django's "
                "settings: CELERY_* settings (the broker, eager mode, the beat schedule) do not "
                "apply, so calls may never leave 'pending'.",
                hint="Create your project's celery.py with "
                'app.config_from_object("django.conf:settings", namespace="CELERY") and import '
                "it in the project package's __init__.py (see the README's quickstart). If "
                "the app is configured another way on purpose, silence this check with "
                'SILENCED_SYSTEM_CHECKS = ["django_voiceotp.W003"].',
                id="django_voiceotp.W003",
            )
        ]
    messages = []
    if setup.eager and not settings.DEBUG:
        messages.append(
            Warning(
                "Celery runs tasks eagerly (CELERY_TASK_ALWAYS_EAGER) in a project with "
                "DEBUG off: every call is placed inside the web request that asked for it.",
                hint="Run a Celery worker and turn eager mode off in production.",
                id="django_voiceotp.W002",
            )
        )
    if setup.sweeper_schedule is None:
        messages.append(
            Info(
                f"No periodic sweeper: {SWEEPER_TASK} is not in the Celery beat schedule, so "
                "lost sends and calls without a callback are never picked up.",
                hint="Add it to CELERY_BEAT_SCHEDULE (see "
                "https://django-voiceotp.readthedocs.io/en/latest/production.html). If you "
                "schedule it another way (django-celery-beat, cron running voiceotp_sweep), "
                "silence this check with "
                'SILENCED_SYSTEM_CHECKS = ["django_voiceotp.I001"].',
                id="django_voiceotp.I001",
            )
        )
    return messages
