"""Locust workloads against a real queue library, in process: ``locust -f scenarios/zoo
--library rq --headless ...`` (see :mod:`harness.locust.zoo_users`)."""
