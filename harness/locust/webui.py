"""The qharness tab in Locust's web UI, through Locust's own extension points.

Locust's React UI shows an extra tab for each entry of ``template_args["extended_tabs"]``
as a table (``extended_tables``: its columns) whose rows it reads from the
``extended_stats`` of each ``/stats/requests`` poll (every 2 s). So the tab is live with
no JavaScript of ours: an ``after_request`` hook adds the rows of :class:`LiveState`.
Two Flask routes: ``/qharness/state`` (the same as JSON) and ``/qharness/report/`` (the
run's ``index.html`` and its plots once the run has ended, also linked from the UI's
Download Data tab).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, send_from_directory
from flask import request as flask_request

from harness.locust.live_view import LiveState

TAB = "qharness"
REPORT_ROUTE = "/qharness/report/"  # the slash: the page's plots are relative links


def install(web_ui: Any, state: LiveState) -> None:
    """Add the tab, its rows and the two routes to Locust's web UI (``web_ui`` may be None)."""
    if web_ui is None:
        return
    web_ui.template_args["extended_tabs"] = [{"title": TAB, "key": TAB}]
    web_ui.template_args["extended_tables"] = [
        {"key": TAB, "structure": [{"key": "item", "title": TAB}, {"key": "value", "title": ""}]}
    ]
    web_ui.template_args["extended_csv_files"] = [
        {"href": f".{REPORT_ROUTE}", "title": "qharness race report (once the run has ended)"}
    ]
    app = web_ui.app

    @app.after_request  # type: ignore[untyped-decorator]
    def with_qharness_rows(response: Response) -> Response:
        if flask_request.path != "/stats/requests" or not response.is_json:
            return response
        extended = [{"key": TAB, "data": state.rows()}]
        response.set_data(json.dumps({**(response.json or {}), "extended_stats": extended}))
        return response

    @app.route("/qharness/state")  # type: ignore[untyped-decorator]
    def qharness_state() -> Response:
        return Response(json.dumps(state.rows()), mimetype="application/json")

    @app.route(REPORT_ROUTE)  # type: ignore[untyped-decorator]
    @app.route(f"{REPORT_ROUTE}<path:name>")  # type: ignore[untyped-decorator]
    def qharness_report(name: str = "index.html") -> Response:
        report = state.report
        if report is None or state.run_dir is None:
            abort(404)
        return send_from_directory(state.run_dir, name)
