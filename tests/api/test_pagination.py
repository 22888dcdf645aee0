"""Cursor pagination of ``GET /v1/jobs``: newest first, stable while jobs are added."""

from __future__ import annotations

from typing import Any

import httpx

from workhorse.api.pagination import encode_cursor

from .support import Api, error_of


def _pages(client: httpx.Client, **params: Any) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        body = client.get("/v1/jobs", params=query).json()
        pages.append([job["id"] for job in body["jobs"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"


def test_pages_cover_every_job_once_newest_first(api: Api) -> None:
    ids = [job.id for job in api.app.enqueue_many(_specs(api, 23))]
    pages = _pages(api.client(), limit=5)
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    assert [job_id for page in pages for job_id in page] == sorted(ids, reverse=True)


def test_an_exact_multiple_ends_without_an_empty_page(api: Api) -> None:
    api.app.enqueue_many(_specs(api, 4))
    assert [len(page) for page in _pages(api.client(), limit=2)] == [2, 2]
    empty = api.client("initech").get("/v1/jobs").json()
    assert empty == {"jobs": [], "next_cursor": None}


def test_pages_are_stable_while_jobs_are_enqueued(api: Api) -> None:
    old = [job.id for job in api.app.enqueue_many(_specs(api, 6))]
    client = api.client()
    first = client.get("/v1/jobs", params={"limit": 3}).json()
    api.app.enqueue_many(_specs(api, 5))
    rest = _pages(client, limit=3, cursor=first["next_cursor"])
    seen = [job["id"] for job in first["jobs"]] + [i for page in rest for i in page]
    assert seen == sorted(old, reverse=True), "new jobs do not shift or repeat later pages"


def test_filters_apply_on_every_page(api: Api) -> None:
    for n in range(10):
        api.enqueue("send" if n % 2 else "add")
    pages = _pages(api.client(), limit=2, task="send")
    assert [len(page) for page in pages] == [2, 2, 1]
    jobs = [api.app.get_job(i) for page in pages for i in page]
    assert {job.task for job in jobs} == {"send"}


def _specs(api: Api, count: int) -> list[Any]:
    task = api.app.get_task("add").with_options(tenant="acme")
    return [task.prepare(n, n) for n in range(count)]


def test_any_cursor_of_the_documented_shape_is_accepted_and_others_refused(api: Api) -> None:
    ids = [job.id for job in api.app.enqueue_many(_specs(api, 3))]
    client = api.client()

    def page(cursor: str) -> list[int]:
        response = client.get("/v1/jobs", params={"cursor": cursor})
        assert response.status_code == 200, response.text
        return [job["id"] for job in response.json()["jobs"]]

    assert page(encode_cursor(ids[2])) == [ids[1], ids[0]]
    assert page("c" + "z" * 13) == ids[::-1], "beyond every id: from the newest"
    assert page("c0") == []
    for bad in ("", "c", "C1", "c!", "c" + "0" * 14, "eyJ2IjoxLCJiZWZvcmUiOjUxfQ"):
        response = client.get("/v1/jobs", params={"cursor": bad})
        assert error_of(response) == (422, "invalid_request"), bad
