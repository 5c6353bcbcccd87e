"""Records every call signal as a row: a host project reacting to results, countable anywhere.

The production test tier counts these rows to check that each signal fires exactly once per call,
whichever process (web server, Celery worker) made the transition.
"""
