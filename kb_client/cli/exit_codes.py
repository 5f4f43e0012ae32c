"""Exit codes a shell script can act on; the README lists them too."""

OK = 0  # done; for jobs: every job completed
ERROR = 1  # the service refused the request or could not be reached (message on stderr)
USAGE = 2  # bad flags, arguments, configuration or input file
FAILED = 3  # a job ended `failed`
CANCELLED = 4  # a job ended `cancelled`
TIMEOUT = 5  # `--timeout` passed with jobs still running
RUNNING = 6  # `status`: the job is still pending or processing

OF_STATUS = {"completed": OK, "failed": FAILED, "cancelled": CANCELLED, "pending": RUNNING, "processing": RUNNING}


def worst(codes: list[int]) -> int:
    """One code for several jobs: failed beats cancelled beats anything else."""
    for code in (FAILED, CANCELLED, TIMEOUT, RUNNING, ERROR):
        if code in codes:
            return code
    return OK
