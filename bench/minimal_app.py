"""Floors to compare the API against: a flask-smorest endpoint that validates a 20-field body,
inserts one row and sends one Celery message, and one that reads a job row by id; nothing else.

``create_guarded_app`` is the same floor behind the two guards every API request pays for, done
as cheaply as they can be: the caller's key looked up in a dict (the API caches its key checks)
and one Redis round trip counting the request (the API's rate limit). Comparing the API with
both floors tells the cost of our code from the cost of the guards themselves.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask, request
from flask_smorest import Api, Blueprint
from marshmallow import INCLUDE, Schema, fields

from workers.celery_config import create_celery
from workers.settings import get_settings

TABLE = "bench_minimal"
QUEUE = "bench.minimal"


class TwentyFields(Schema):
    class Meta:
        unknown = INCLUDE

    backtest_name = fields.String(required=True)
    backtest_type = fields.String()
    description = fields.String()
    start_date = fields.DateTime(required=True)
    end_date = fields.DateTime(required=True)
    frequency = fields.String()
    timezone = fields.String()
    symbols = fields.List(fields.String(), required=True)
    universes = fields.List(fields.String())
    data_sources = fields.List(fields.String())
    strategy_id = fields.String(required=True)
    strategy_parameters = fields.Dict()
    initial_capital = fields.Float()
    max_position_size = fields.Float()
    max_portfolio_leverage = fields.Float()
    risk_limits = fields.Dict()
    commission_rate = fields.Float()
    slippage_basis_points = fields.Float()
    benchmark_symbol = fields.String()
    risk_free_rate = fields.Float()


def create_guarded_app() -> Flask:
    """The minimal floor behind a key check and a per-owner request counter in Redis."""
    app = create_minimal_app()
    client = redis.Redis.from_url(get_settings().redis_url)
    keys: dict[str, str] = {}

    @app.before_request
    def guard() -> None:
        token = request.headers.get("Authorization", "")
        owner = keys.setdefault(token, hashlib.sha256(token.encode()).hexdigest()[:16])
        pipe = client.pipeline(transaction=False)
        pipe.incr(f"bench:rate:{owner}")
        pipe.expire(f"bench:rate:{owner}", 60)
        pipe.execute()

    return app


def create_minimal_app() -> Flask:
    settings = get_settings()
    engine = sa.create_engine(settings.database_url, pool_size=settings.web_db_pool)  # as the API
    celery = create_celery(settings)
    insert = sa.text(f"INSERT INTO {TABLE} (id, body) VALUES (:id, CAST(:body AS JSONB))")
    app = Flask("minimal")
    app.config.update(API_TITLE="minimal", API_VERSION="1", OPENAPI_VERSION="3.0.3")
    blp = Blueprint("minimal", __name__)

    @blp.route("/minimal", methods=["POST"])
    @blp.arguments(TwentyFields)
    @blp.response(202)
    def submit(body: dict[str, Any]) -> dict[str, str]:
        job_id = uuid.uuid4().hex
        with engine.begin() as conn:
            conn.execute(insert, {"id": job_id, "body": '{"n": 1}'})
        celery.send_task(
            "bench.noop", args=[job_id], queue=QUEUE, ignore_result=True, argsrepr=job_id
        )
        return {"id": job_id}

    select = sa.text("SELECT id, status, progress_percentage, created_at FROM jobs WHERE id = :id")

    @blp.route("/minimal/<string:job_id>", methods=["GET"])
    @blp.response(200)
    def read(job_id: str) -> dict[str, Any]:
        with engine.connect() as conn:
            row = conn.execute(select, {"id": job_id}).mappings().one()
        return {**row, "created_at": row["created_at"].isoformat()}

    Api(app).register_blueprint(blp)
    return app
