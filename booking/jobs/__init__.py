"""The worker's duties in one home: schedule.py says what runs when, worker.py runs them
(`booking worker`), runs.py records each run for the operator (job_runs, the lag per job,
`booking worker status`). The arrows run one way: jobs imports the domains, no domain imports
jobs."""
