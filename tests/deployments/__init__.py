"""Small test-only deployments, served for real over HTTP (uvicorn on 127.0.0.1).

- ``memory_queue``  an in-memory leased queue; fencing by token (correct) or by status
                    only (the classic F5 with a narrow window: a superseded worker's
                    completion is accepted while the new holder is working)
- ``contract_app``  that queue behind the worker API of DESIGN.md §3
- ``jobs_app``      the same queue behind a differently shaped API (other paths, field
                    names, status codes, an ``X-Api-Key`` header, a claim that is a POST),
                    for the custom-client example (docs/custom-client.md)
- ``served``        run an app on a free port in a background thread
"""
