"""Every key of VOICEOTP, declared once: default, validation and its entry on the settings page.

``conf`` reads its defaults from here, the system checks validate each value with its
predicate (``checks/settings.py``), and docs/settings.rst renders the entries, section by section
(``docs/_ext/settings_reference.py``). The order is the page's.
"""

from __future__ import annotations

from .registry import (
    Setting,
    boolean,
    cache_alias,
    country_codes,
    dict_or_empty,
    dotted_path_or,
    e164_prefixes,
    empty_or,
    increasing_seconds,
    is_http_url,
    non_empty_string,
    number_types,
    one_of,
    optional,
    phone_region,
    provider_names,
    provider_statuses,
    providers_setting,
    seconds_above_zero,
    seconds_or_zero,
    time_zone,
    timeout,
    whole,
)

PHONE_FORMATS = ("national", "e164")
AUTH_SCHEMES = ("", "Bearer")
#: The flat keys that are the options of the one Pitel provider when PROVIDERS is not set; with
#: it, each provider's entry gives its own.
PROVIDER_OPTIONS = ("API_URL", "SECRET_KEY", "DEFAULT_CAMPAIGN", "AUTH_SCHEME")
#: The dispatchers named by a word; any other is the dotted path of a class.
DISPATCHERS = ("celery", "django")

# The sections of the settings page, in its order.
PROVIDER = "provider"
PHONE = "phone"
DELIVERY = "delivery"
REACHING = "reaching"
VERIFICATION = "verification"
LIMITS = "limits"

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "API_URL",
        None,
        expected="an http(s) URL",
        valid=empty_or(is_http_url),
        check_id="E003",
        checked_by="check_settings",
        required=True,
        section=PROVIDER,
        kind="str, required",
        doc="""
        Base URL of the provider; endpoints are joined under it (with the sandbox: the
        full URL of its mount, ``http://127.0.0.1:8000/sandbox/``). Checks: ``E002`` (not
        set), ``E003`` (not an http(s) URL).
        """,
    ),
    Setting(
        "SECRET_KEY",
        None,
        expected="the secret key the provider issued, a string",
        valid=empty_or(lambda value: isinstance(value, str)),
        checked_by="check_settings",
        required=True,
        secret=True,
        section=PROVIDER,
        kind="str, required",
        doc="""
        The provider's ``secret_key``, exchanged for an access token. Never logged, nor
        shown by ``voiceotp_check``. Checks: ``E002`` (not set), ``E006`` (not a
        string; its type is shown, never its value).
        """,
    ),
    Setting(
        "AUTH_SCHEME",
        "",
        expected=f"one of {AUTH_SCHEMES}",
        valid=one_of(AUTH_SCHEMES),
        check_id="E004",
        checked_by="check_settings",
        section=PROVIDER,
        kind="str",
        doc="""
        ``""`` sends the raw token in ``Authorization`` (the v1 API); ``"Bearer"`` sends
        ``Bearer <token>``. Check: ``E004`` (another value).
        """,
    ),
    Setting(
        "PROVIDERS",
        None,
        expected="None, or a dict of provider names to dicts, each with a BACKEND dotted path",
        valid=providers_setting,
        check_id="E060",
        checked_by="check_providers",
        secret=True,  # its entries hold the providers' credentials
        section=PROVIDER,
        kind="dict or None",
        doc="""
        The voice providers, by name: each a dict with ``BACKEND``, the dotted path of a
        ``BaseProvider`` subclass (``django_voiceotp.providers.base``), and that backend's
        options, e.g. ``{"pitel": {"BACKEND":
        "django_voiceotp.providers.pitel.PitelProvider", "API_URL": ..., "SECRET_KEY": ...,
        "DEFAULT_CAMPAIGN": ...}}``. An option an entry does not give is read from the flat
        key of that name. ``None`` (the default): the flat ``API_URL``, ``SECRET_KEY``,
        ``DEFAULT_CAMPAIGN`` and ``AUTH_SCHEME`` are one Pitel provider named ``"pitel"``.
        New campaigns belong to the first provider; each call is placed by its campaign's.
        See :doc:`providers`. Check: ``E060`` (another shape, a ``BACKEND`` that does not
        import or is not such a class, or a backend's required option missing).
        """,
    ),
    Setting(
        "FAILOVER",
        None,
        expected="None, or a list of distinct provider names",
        valid=provider_names,
        list_as_tuple=True,
        check_id="E062",
        checked_by="check_providers",
        section=PROVIDER,
        kind="list of provider names, or None",
        doc="""
        The providers a call may be placed at, in order of preference: a call that one
        cannot place (it is unavailable, its answer proving it placed nothing, or its circuit
        breaker is open) is placed at the next, with the same passcode, as the same call.
        ``None`` (the default): the default provider alone, no failover. See :doc:`providers`.
        Check: ``E062`` (another shape, or a name that is not a provider of ``PROVIDERS``,
        or not ``"pitel"`` without it).
        """,
    ),
    Setting(
        "BREAKER_THRESHOLD",
        5,
        expected="a whole number of at least 0",
        valid=whole(),
        check_id="E062",
        checked_by="check_providers",
        section=PROVIDER,
        kind="Whole number, 0 or more",
        doc="""
        Unavailable outcomes in a row (timeouts, refused connections, 5xx, 429) that open a
        provider's circuit breaker: its calls skip it, to the next provider of ``FAILOVER``,
        for ``BREAKER_COOLDOWN``. ``0`` turns the breakers off. Shared by every process
        through the ``LIMITS_CACHE_ALIAS`` cache. Check: ``E062``.
        """,
    ),
    Setting(
        "BREAKER_COOLDOWN",
        60,
        expected="a number of seconds above 0",
        valid=seconds_above_zero,
        check_id="E062",
        checked_by="check_providers",
        section=PROVIDER,
        kind="Seconds above 0",
        doc="""
        Seconds an open breaker skips its provider; then one call probes it (half-open):
        placed, the breaker closes; unavailable, it opens again. Check: ``E062``.
        """,
    ),
    Setting(
        "TIMEOUT",
        (5.0, 15.0),
        expected="seconds above 0, or a (connect, read) pair of them",
        valid=timeout,
        list_as_tuple=True,
        section=PROVIDER,
        kind="Seconds, or a (connect, read) pair of them",
        doc="""
        The ``requests`` timeout of every provider request. It also sets the lease of a
        send attempt, ``4 × (connect + read) + 30`` seconds: a call whose worker died
        mid-send is sent again by the sweeper once the lease has passed. Check: ``E006``.
        """,
    ),
    Setting(
        "TOKEN_REFRESH_MARGIN",
        3600,
        expected="a whole number of at least 0",
        valid=whole(),
        section=PROVIDER,
        kind="Whole seconds, 0 or more",
        doc="""
        Seconds before expiry at which the access token is refreshed (at most half its
        lifetime). Check: ``E006``.
        """,
    ),
    Setting(
        "TOKEN_CACHE_ALIAS",
        "default",
        expected="the alias of a cache in CACHES",
        valid=cache_alias,
        section=PROVIDER,
        kind="str, an alias of CACHES",
        doc="""
        The Django cache holding the access token and the sweeper's last run; use a shared
        one (Redis, database) so all processes share one token. Check: ``E006`` (not in
        ``CACHES``).
        """,
    ),
    Setting(
        "PROVIDER_TIMEZONE",
        "Asia/Ho_Chi_Minh",
        expected="a time zone name such as Asia/Ho_Chi_Minh",
        valid=time_zone,
        section=PROVIDER,
        kind="str, a time zone name",
        doc="""
        Time zone of the provider's naive ``start_time`` values. Check: ``E006`` (unknown
        zone).
        """,
    ),
    Setting(
        "PHONE_REGION",
        "VN",
        expected="a region code of phonenumbers such as 'VN'",
        valid=phone_region,
        checked_by="check_settings",
        section=PHONE,
        kind="str, a region code",
        doc="""
        Region of numbers written without a country code (``0771122330``). Check:
        ``E006`` (a region ``phonenumbers`` does not know: such numbers would all be refused
        as invalid).
        """,
    ),
    Setting(
        "PHONE_FORMAT",
        "national",
        expected=f"one of {PHONE_FORMATS}",
        valid=one_of(PHONE_FORMATS),
        check_id="E005",
        checked_by="check_settings",
        section=PHONE,
        kind="str",
        doc="""
        ``"national"`` sends ``0771122330``; ``"e164"`` sends ``+84771122330``. Numbers of
        another country always go as E.164. Check: ``E005``.
        """,
    ),
    Setting(
        "OTP_MIN_LENGTH",
        4,
        expected="a whole number of at least 1",
        valid=whole(1),
        section=PHONE,
        kind="Whole number, 1 or more",
        doc="""
        Fewest digits a passcode given to ``send_otp`` may have. Check: ``E006`` (also
        when above ``OTP_MAX_LENGTH``).
        """,
    ),
    Setting(
        "OTP_MAX_LENGTH",
        8,
        expected="a whole number of at least 1",
        valid=whole(1),
        section=PHONE,
        kind="Whole number, 1 or more",
        doc="""
        Most digits a passcode may have. Check: ``E006``.
        """,
    ),
    Setting(
        "DEFAULT_CAMPAIGN",
        None,
        expected="a campaign id, or None",
        valid=optional(non_empty_string),
        section=DELIVERY,
        kind="str or None",
        doc="""
        Provider campaign id used when ``send_otp`` or ``request_code`` is given none.
        Unset, those raise ``CampaignUnavailable`` unless given a campaign, and
        ``voiceotp_check`` says so. Check: ``E006`` (an empty or non-string id).
        """,
    ),
    Setting(
        "CALLBACK_BASE_URL",
        None,
        expected="an http(s) URL such as https://otp.shop.vn",
        valid=empty_or(is_http_url),
        section=DELIVERY,
        kind="str (an http(s) URL) or None",
        doc="""
        How the provider reaches this site (scheme, host, port; no path): each call's
        result is posted to it plus the callback view's path
        (``/voiceotp/callbacks/<token>/`` with the quickstart's URLs). ``None``: results
        are found by polling only. Checks: ``E006`` (not an http(s) URL), ``E007`` (set,
        but ``django_voiceotp.urls`` is not included), ``E041`` (with ``DEBUG`` off:
        empty, or on a domain reserved for examples such as ``example.com``).
        """,
    ),
    Setting(
        "CALLBACK_MAX_BODY_SIZE",
        16384,
        expected="a whole number of at least 1",
        valid=whole(1),
        section=DELIVERY,
        kind="Whole bytes, 1 or more",
        doc="""
        Largest callback body accepted; a larger one is a 413, unread. Check: ``E006``.
        """,
    ),
    Setting(
        "CALLBACK_TOKEN_MAX_AGE",
        None,
        expected="a number of seconds above 0, or None",
        valid=optional(seconds_above_zero),
        section=DELIVERY,
        kind="Seconds above 0, or None",
        doc="""
        Seconds a call's callback URL is accepted after it was made; ``None`` means the
        last ``POLL_SCHEDULE`` point plus a day. Check: ``E006``.
        """,
    ),
    Setting(
        "CALLBACK_FINAL_GRACE",
        300,
        expected="a number of seconds from 0 to 2592000 (30 days)",
        valid="django_voiceotp.callbacks.is_valid_final_grace",
        section=DELIVERY,
        kind="Seconds, from 0 to 30 days (2592000)",
        doc="""
        Seconds a call's callback URL is still accepted after the call has its result: the
        provider's late copies are counted on one event, not stored one by one. After it
        the token is refused with 403 (reason ``call_finished``), so a token read from an
        access log no longer drives anything (:doc:`security`). Check: ``E006``.
        """,
    ),
    Setting(
        "SEND_MAX_RETRIES",
        5,
        expected="a whole number of at least 0",
        valid=whole(),
        section=DELIVERY,
        kind="Whole number, 0 or more",
        doc="""
        Retries of a send that failed for a reason that may pass (timeout, connection
        error, 5xx, 429). Check: ``E006``.
        """,
    ),
    Setting(
        "SEND_BATCH_SIZE",
        20,
        expected="a whole number from 1 to 500",
        valid=lambda value: whole(1)(value) and value <= 500,
        section=DELIVERY,
        kind="Whole number, 1 to 500",
        doc="""
        Most calls one send job places at once, concurrently, over the shared connection
        pool. A job places the call it was handed with the calls waiting to be placed
        beside it, so under a burst the queue's cost is paid once per batch; at idle a
        batch is the one call, placed at once. While a job is waiting or running, new calls
        publish no job of their own: it takes them on its next round. ``1``: one call per
        job, one job per call. See :doc:`delivery`. Check: ``E006``.
        """,
    ),
    Setting(
        "SEND_RETRY_BACKOFF",
        2,
        expected="a number of seconds above 0",
        valid=seconds_above_zero,
        section=DELIVERY,
        kind="Seconds above 0",
        doc="""
        First retry delay; doubled each time, with jitter. Check: ``E006``.
        """,
    ),
    Setting(
        "SEND_RETRY_BACKOFF_MAX",
        120,
        expected="a number of seconds above 0",
        valid=seconds_above_zero,
        section=DELIVERY,
        kind="Seconds above 0",
        doc="""
        Longest delay between two send retries. Check: ``E006``.
        """,
    ),
    Setting(
        "OTP_MAX_AGE",
        300,
        expected="a number of seconds above 0",
        valid=seconds_above_zero,
        section=DELIVERY,
        kind="Seconds above 0",
        doc="""
        Age after which a passcode is useless: a call still pending then fails with reason
        ``expired``, no redial or fallback is started past it, and the sweeper erases
        older sealed passcodes. Check: ``E006``.
        """,
    ),
    Setting(
        "PENDING_GRACE",
        60,
        expected="a number of seconds above 0",
        valid=seconds_above_zero,
        section=DELIVERY,
        kind="Seconds above 0",
        doc="""
        How long a call may stay ``pending`` past its due time before the sweeper assumes
        its send task was lost and sends it again; also the backlog health finding's
        threshold. Check: ``E006``.
        """,
    ),
    Setting(
        "SWEEPER_MAX_AGE",
        300,
        expected="a number of seconds above 0",
        valid=seconds_above_zero,
        section=DELIVERY,
        kind="Seconds above 0",
        doc="""
        Time since the sweeper's last run after which the health check and
        ``voiceotp_check`` report it late. Check: ``E006``.
        """,
    ),
    Setting(
        "DISPATCHER",
        "celery",
        expected='"celery", "django", or the dotted path of a dispatcher class',
        valid=dotted_path_or(DISPATCHERS),
        check_id="E050",
        checked_by="check_dispatcher",
        section=DELIVERY,
        kind='"celery", "django", or a dotted path',
        doc="""
        The queue the app hands its work to (sending, polling, redials, fallbacks, the
        sweeper): ``"celery"``, the tasks of ``django_voiceotp.tasks``; ``"django"``,
        Django's tasks framework (``django.tasks`` on Django 6, the ``django-tasks`` backport
        on 5.2) through the project's ``TASKS`` setting; or the dotted path of a
        ``BaseDispatcher`` subclass (``django_voiceotp.dispatch.base``); see :doc:`tasks` and
        :doc:`architecture`. Check: ``E050``
        (another value, a path that does not import or is not such a class, or ``"django"``
        with neither ``django.tasks`` nor ``django_tasks`` installed).
        """,
    ),
    Setting(
        "POLL_SCHEDULE",
        (15, 30, 60, 120, 300),
        expected="increasing numbers of seconds above 0",
        valid=increasing_seconds,
        list_as_tuple=True,
        section=DELIVERY,
        kind="Increasing seconds above 0 (a tuple or list)",
        doc="""
        Seconds after sending at which a call without a result is polled (by the sweeper,
        at most one sweeper interval late); past the last one it fails with reason
        ``timeout``. Check: ``E006``.
        """,
    ),
    Setting(
        "REDIAL_MAX",
        0,
        expected="a whole number, 0 or more",
        valid=whole(),
        checked_by="check_delivery_settings",
        section=REACHING,
        kind="Whole number, 0 or more",
        doc="""
        Redials per delivery of a call that did not reach the person (off by default: a
        provider campaign may redial itself, and calls cost). Check: ``E006``.
        """,
    ),
    Setting(
        "REDIAL_DELAY",
        20,
        expected="a number of seconds, 0 or more",
        valid=seconds_or_zero,
        checked_by="check_delivery_settings",
        section=REACHING,
        kind="Seconds, 0 or more",
        doc="""
        Seconds from such a failure to its redial. Check: ``E006``.
        """,
    ),
    Setting(
        "REDIAL_STATUSES",
        None,
        expected="None or a list of provider statuses",
        valid=optional(provider_statuses),
        checked_by="check_delivery_settings",
        section=REACHING,
        kind="List of provider statuses, or None",
        doc="""
        The statuses that are redialed, compared without case; ``None``: the provider's
        "not reached" ones (no answer, busy, unavailable, in every spelling it uses).
        Check: ``E006``.
        """,
    ),
    Setting(
        "FALLBACK_SENDER",
        None,
        expected="None or a dotted path",
        valid=optional(lambda value: isinstance(value, str)),
        checked_by="check_delivery_settings",
        section=REACHING,
        kind="Dotted path of a callable, or None",
        doc="""
        ``sender(phone_number=, otp=, call=)``, run once when a delivery's last call
        failed and its passcode is still valid (:doc:`delivery`).
        ``"django_voiceotp.senders.console_sender"`` prints the message, for development.
        Checks: ``E020`` (cannot be imported), ``E006`` (not a string, or not callable),
        ``W020`` (the console sender with ``DEBUG`` off).
        """,
    ),
    Setting(
        "ESMS",
        {},
        expected=(
            "a dict of the eSMS sender's keys (API_URL, API_KEY, SECRET_KEY, BRANDNAME, SMS_TYPE "
            '"2" or "8", IS_UNICODE, SANDBOX, TIMEOUT, MESSAGE), API_KEY and SECRET_KEY set, '
            'BRANDNAME set with SMS_TYPE "2", MESSAGE with one {code} and, unless IS_UNICODE, '
            "no diacritics"
        ),
        valid="django_voiceotp.senders.esms.valid_settings",
        check_id="E061",
        checked_by="check_delivery_settings",
        secret=True,
        section=REACHING,
        kind="Dict, or empty",
        doc="""
        The eSMS.vn SMS sender, ``FALLBACK_SENDER =
        "django_voiceotp.senders.esms.send_sms"`` (:doc:`sms-fallback`): ``API_KEY`` and
        ``SECRET_KEY`` (required), ``BRANDNAME`` (required with ``SMS_TYPE`` ``"2"``, the
        default; ``"8"`` sends from a fixed number), ``API_URL``
        (``"https://rest.esms.vn/"``), ``IS_UNICODE`` (``False``), ``SANDBOX`` (``False``;
        ``True``: eSMS checks the request and sends nothing), ``TIMEOUT`` (``(5.0,
        15.0)``), ``MESSAGE`` (a Vietnamese text without diacritics, with one ``{code}``).
        Never shown, not even by a check. Check: ``E061`` (a key unknown or malformed, or
        not set while ``FALLBACK_SENDER`` is the eSMS sender).
        """,
    ),
    Setting(
        "CODE_LENGTH",
        6,
        expected="a whole number from OTP_MIN_LENGTH to OTP_MAX_LENGTH",
        valid=whole(),
        checked_by="check_verification_settings",
        section=VERIFICATION,
        kind="Whole number from OTP_MIN_LENGTH to OTP_MAX_LENGTH",
        doc="""
        Digits in a code from ``request_code``. Checks: ``E006`` (outside that range),
        ``W011`` (below 6).
        """,
    ),
    Setting(
        "CODE_TTL",
        300,
        expected="a whole number of at least 1",
        valid=whole(1),
        checked_by="check_verification_settings",
        section=VERIFICATION,
        kind="Whole seconds, 1 or more",
        doc="""
        Seconds a code can be checked after it was requested. Check: ``E006``.
        """,
    ),
    Setting(
        "MAX_ATTEMPTS",
        5,
        expected="a whole number of at least 1",
        valid=whole(1),
        checked_by="check_verification_settings",
        section=VERIFICATION,
        kind="Whole number, 1 or more",
        doc="""
        Wrong tries after which a code is dead (``LOCKED``). Check: ``E006``.
        """,
    ),
    Setting(
        "TEST_NUMBERS",
        {},
        expected='a dict of phone numbers to codes, such as {"+84 77 000 0001": "123456"}',
        valid=dict_or_empty,
        check_id="E011",
        checked_by="check_test_numbers",
        secret=True,
        section=VERIFICATION,
        kind="Dict of phone numbers to codes",
        doc="""
        Numbers that get a fixed code and no call (:doc:`operations`): ``{"+84 77 000
        0001": "123456"}``. Checks: ``E011`` (not a dict, or a code that is not
        ``OTP_MIN_LENGTH`` to ``OTP_MAX_LENGTH`` digits), ``W012`` (a number this site
        cannot call), ``W013`` (set with ``DEBUG`` off), ``W014`` (a code easy to guess),
        ``I003`` (with ``DEBUG`` on: lists the numbers in use, never their codes).
        """,
    ),
    Setting(
        "TEST_GUESSES_PER_DAY",
        20,
        expected="a whole number (0 or None turns the limit off)",
        valid=optional(whole()),
        checked_by="check_verification_settings",
        section=VERIFICATION,
        kind="Whole number, or None",
        doc="""
        Wrong guesses at a test number's fixed code, counted across its codes, per UTC
        day; past them the number is locked until the day ends (:doc:`operations`). ``0``
        or ``None``: no lock. Check: ``E006``.
        """,
    ),
    Setting(
        "RESEND_COOLDOWN",
        60,
        expected="a whole number of at least 0",
        valid=whole(),
        checked_by="check_verification_settings",
        section=LIMITS,
        kind="Whole seconds, 0 or more",
        doc="""
        Seconds before the same number can be sent another code. Check: ``E006``.
        """,
    ),
    Setting(
        "SENDS_PER_NUMBER_PER_HOUR",
        5,
        expected="a whole number (0 or None turns the limit off)",
        valid=optional(whole()),
        checked_by="check_verification_settings",
        section=LIMITS,
        kind="Whole number, or None",
        doc="""
        Calls and fallback messages per number per clock hour (UTC); ``0`` or ``None``
        turns it off. Check: ``E006``.
        """,
    ),
    Setting(
        "SENDS_PER_NUMBER_PER_DAY",
        10,
        expected="a whole number (0 or None turns the limit off)",
        valid=optional(whole()),
        checked_by="check_verification_settings",
        section=LIMITS,
        kind="Whole number, or None",
        doc="""
        Calls and fallback messages per number per UTC day; ``0`` or ``None`` turns it
        off. Check: ``E006``.
        """,
    ),
    Setting(
        "SENDS_PER_IP_PER_HOUR",
        20,
        expected="a whole number (0 or None turns the limit off)",
        valid=optional(whole()),
        checked_by="check_verification_settings",
        section=LIMITS,
        kind="Whole number, or None",
        doc="""
        Calls and fallback messages per client address (IPv6: per /64) per clock hour;
        ``0`` or ``None`` turns it off. Check: ``E006``.
        """,
    ),
    Setting(
        "SENDS_RESERVED_FOR_OWNER_PER_DAY",
        3,
        expected="a whole number (0 or None turns it off)",
        valid=optional(whole()),
        checked_by="check_spending_settings",
        section=LIMITS,
        kind="Whole number, or None",
        doc="""
        Of ``SENDS_PER_NUMBER_PER_DAY``, the sends only a client that verified the number
        before (its owner, :doc:`client-address`) may use: other clients are refused once
        the day's count reaches ``SENDS_PER_NUMBER_PER_DAY`` minus this. ``0`` or ``None``
        turns it off. Checks: ``E006``, ``W037`` (it leaves nothing to other clients).
        """,
    ),
    Setting(
        "SENDS_PER_HOUR",
        500,
        expected="a whole number (0 or None turns it off)",
        valid=optional(whole()),
        checked_by="check_spending_settings",
        section=LIMITS,
        kind="Whole number, or None",
        doc="""
        Calls placed by the whole site (first calls, redials, calls placed again) per
        clock hour (UTC); ``0`` or ``None`` turns it off. Checks: ``E006``, ``W035`` (off,
        and ``SENDS_PER_DAY`` off too).
        """,
    ),
    Setting(
        "SENDS_PER_DAY",
        5000,
        expected="a whole number (0 or None turns it off)",
        valid=optional(whole()),
        checked_by="check_spending_settings",
        section=LIMITS,
        kind="Whole number, or None",
        doc="""
        Calls placed by the whole site per UTC day: set it to the most you are ready to
        pay for in a day; ``0`` or ``None`` turns it off. Checks: ``E006``, ``W035`` (off,
        and ``SENDS_PER_HOUR`` off too).
        """,
    ),
    Setting(
        "FALLBACKS_PER_HOUR",
        200,
        expected="a whole number (0 or None turns it off)",
        valid=optional(whole()),
        checked_by="check_spending_settings",
        section=LIMITS,
        kind="Whole number, or None",
        doc="""
        Fallback messages sent by the whole site per clock hour; ``0`` or ``None`` turns
        it off. Check: ``E006``.
        """,
    ),
    Setting(
        "SENDING_PAUSED",
        False,
        expected="True or False",
        valid=boolean,
        checked_by="check_spending_settings",
        section=LIMITS,
        kind="bool",
        doc="""
        The kill switch: ``True`` refuses every code (``RateLimited``, limit ``paused``)
        and places no call or fallback message not yet placed. The admin's *Sending* page
        pauses and resumes without a deploy (:doc:`limits`). Checks: ``E006`` (not a
        boolean), ``W036`` (on).
        """,
    ),
    Setting(
        "ALLOWED_COUNTRY_CODES",
        (84,),
        expected="country calling codes such as (84,)",
        valid=optional(country_codes),
        checked_by="check_verification_settings",
        section=LIMITS,
        kind="Country calling codes (whole numbers), or None",
        doc="""
        Countries that may be called; ``None`` allows all. Check: ``E006``.
        """,
    ),
    Setting(
        "DENIED_PREFIXES",
        ("+841900",),
        expected="E.164 prefixes such as ('+841900',)",
        valid=e164_prefixes,
        checked_by="check_verification_settings",
        section=LIMITS,
        kind="E.164 prefixes (strings starting with +)",
        doc="""
        Numbers never called (premium-rate ranges). Check: ``E006``.
        """,
    ),
    Setting(
        "ALLOWED_NUMBER_TYPES",
        ("MOBILE", "FIXED_LINE", "FIXED_LINE_OR_MOBILE"),
        expected="names of phonenumbers.PhoneNumberType, or None",
        valid=optional(number_types),
        checked_by="check_verification_settings",
        section=LIMITS,
        kind="Names of phonenumbers.PhoneNumberType, or None",
        doc="""
        The types of number that may be called: toll-free, shared cost, UAN, VoIP,
        premium-rate and the like are refused by default; ``None`` allows every type.
        Check: ``E006``.
        """,
    ),
    Setting(
        "TRUSTED_PROXY_HEADER",
        None,
        expected="a header name or None",
        valid=optional(non_empty_string),
        checked_by="check_verification_settings",
        section=LIMITS,
        kind="Header name, or None",
        doc="""
        The header your own proxy sets with the client's address (``X-Forwarded-For``);
        its last entry is used (behind several proxies, see ``TRUSTED_PROXY_HOPS``).
        ``None`` uses ``REMOTE_ADDR``. A client of unknown address (an empty
        ``REMOTE_ADDR`` on a UNIX socket) is counted as one shared client, never left
        unlimited (:doc:`client-address`). Checks: ``E006`` (an empty or non-string name),
        ``W030`` (unset while the set-up suggests a proxy or a UNIX socket).
        """,
    ),
    Setting(
        "TRUSTED_PROXY_HOPS",
        1,
        expected="a whole number of at least 1",
        valid=whole(1),
        checked_by="check_client_address",
        section=LIMITS,
        kind="Whole number, 1 or more",
        doc="""
        Proxies of your own that each append to ``TRUSTED_PROXY_HEADER``: the entry this
        many places from its right is the client (2 behind a CDN and a load balancer;
        :doc:`client-address`). Checks: ``E006``, ``W031`` (above 1 without
        ``TRUSTED_PROXY_HEADER``).
        """,
    ),
    Setting(
        "OWNER_MAX_AGE",
        90 * 24 * 3600,
        expected="a whole number of seconds (0 recognises no owner)",
        valid=whole(),
        checked_by="check_client_address",
        section=LIMITS,
        kind="Whole seconds, 0 or more",
        doc="""
        Seconds (90 days by default) a client that verified a number stays its owner (the
        owner cookie's max age, and how far back its address counts): it may spend the
        owner's share of the number's day (``SENDS_RESERVED_FOR_OWNER_PER_DAY``) and
        replace a pending code another client asked for. ``0`` recognises no owner and
        sets no cookie. Check: ``E006``.
        """,
    ),
    Setting(
        "LIMITS_CACHE_ALIAS",
        "default",
        expected="the alias of a cache in CACHES",
        valid=cache_alias,
        checked_by="check_verification_settings",
        section=LIMITS,
        kind="str, an alias of CACHES",
        doc="""
        The Django cache holding the limit counters: Redis or Memcached in production.
        Checks: ``E006`` (not in ``CACHES``), ``E010`` (a database, file-based or dummy
        cache: their counters are not atomic, so they are refused, and requesting a code
        raises too), ``W010`` (a LocMemCache with ``DEBUG`` off: each process counts
        alone).
        """,
    ),
)
