-- wrk script: GET /v1/jobs/{id} with a bearer key from the WORKHORSE_KEY environment variable.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WORKHORSE_KEY")
