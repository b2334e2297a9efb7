"""The ledger's nightly task through a real Redis broker and a real worker.

An in-process Celery worker (solo pool, in a thread) consumes from Redis,
runs ``verify_all_chains`` against the test database and stores its result
in Redis. Skipped without ``CELERY_BROKER_URL``; CI requires it.
"""

import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest
from celery.backends.redis import RedisBackend
from celery.contrib.testing.worker import start_worker
from celery.result import EagerResult
from celery.signals import task_postrun
from django.conf import settings
from django.db import connections

from disclosure.cases.stages import Stage
from disclosure.celery import app
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.tasks import verify_all_chains
from tests.factories import make_case

pytestmark = pytest.mark.redis


def result_backend_url() -> str:
    """CELERY_RESULT_BACKEND if set, else database 1 of the broker's Redis."""
    if settings.CELERY_RESULT_BACKEND:
        return settings.CELERY_RESULT_BACKEND
    parts = urlsplit(settings.CELERY_BROKER_URL)
    return urlunsplit(parts._replace(path="/1"))


def _close_worker_connections(**kwargs):
    # The worker thread opens its own database connections; close them so the
    # test database can be dropped at the end of the session.
    connections.close_all()


@pytest.fixture
def redis_worker(transactional_db):
    """A worker on a queue of its own (stale messages in the default queue
    are not ours to run), with a Redis result backend for the task."""
    queue = f"test-{uuid.uuid4().hex}"
    task = app.tasks[verify_all_chains.name]
    backend = RedisBackend(app=app, url=result_backend_url())
    saved_eager = app.conf.task_always_eager
    saved_consume_from = getattr(app.amqp.queues, "_consume_from", None)
    app.conf.task_always_eager = False
    task.backend = backend
    task_postrun.connect(_close_worker_connections, weak=False, dispatch_uid=queue)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue]):
            yield task, queue
    finally:
        task_postrun.disconnect(dispatch_uid=queue)
        task.backend = None
        app.conf.task_always_eager = saved_eager
        app.amqp.queues._consume_from = saved_consume_from
        with app.connection_for_write() as conn:
            # Declared on this connection so that delete also drops its binding.
            entity = app.amqp.queues[queue].bind(conn.default_channel)
            entity.declare()
            entity.delete()
        backend.client.close()


def test_verify_all_chains_runs_on_a_real_worker(redis_worker, analyst, vendor):
    task, queue = redis_worker
    cases = [
        make_case(Stage.FOUND, actor=analyst, vendor=vendor),
        make_case(Stage.SECURED, actor=analyst, vendor=vendor),
    ]
    assert CaseEvent.objects.filter(case__in=cases).count() >= 4

    result = task.apply_async(queue=queue)
    assert not isinstance(result, EagerResult)
    outcome = result.get(timeout=30)

    assert result.successful()
    assert outcome == {"verified": 2, "broken": [], "checkpoint_problems": []}
    result.forget()
