"""A project with django-allauth's phone sign-up and login, its codes read out by voice call."""
