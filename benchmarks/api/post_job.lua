-- wrk script: POST /v1/jobs with a bearer key from the WORKHORSE_KEY environment variable.
wrk.method = "POST"
wrk.body = '{"task": "noop"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WORKHORSE_KEY")
