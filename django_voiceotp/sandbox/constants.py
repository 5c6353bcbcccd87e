"""The sandbox account's credentials and the simulated call outcomes, taken from the spec."""

# The spec's own example values, so a project configured from the docs works against the sandbox.
SECRET_KEY = "30511f666-f888-411b-a6e0-11111fb6gg7a"
USER_ID = "f461"
ACCESS_TOKEN = "1ebe8f88MzA1MTNkZjMtZjc3My00MTmY"
CAMPAIGN_ID = "c78af"

#: v1 answers ``expire_at`` with the token lifetime in seconds (180 days).
TOKEN_LIFETIME = 15552000

#: The call's result, chosen by the last digit of the phone number; any other digit succeeds.
#: "NOANWSER" is the provider's own spelling.
OUTCOME_BY_LAST_DIGIT = {"9": "Fail", "8": "NOANWSER", "7": "BUSY"}
SUCCESS = "Success"
#: Statuses a scripted call may end with that count as answered (compared without case).
SUCCESS_STATUSES = ("success", "answered")

#: Seconds a successful call lasts, as in the spec's example; failed calls last 0.
SUCCESS_DURATION = 11
