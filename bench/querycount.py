"""SQL queries per request, counted inside the app process: a middleware that the bench settings modules put first
when BENCH_COUNT_QUERIES=1. It answers the count in an `X-Bench-Queries` header, which the load generator adds up
per login. Only queries that go through Django's cursor are seen (every ORM query, session and auth query); the
`SELECT 1` of CONN_HEALTH_CHECKS runs on the raw connection and is not."""

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse

HEADER = "X-Bench-Queries"


class QueryCountMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = 0

        def counting(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counting):
            response = self.get_response(request)
        response[HEADER] = str(count)
        return response
