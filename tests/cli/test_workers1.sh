# The HTTP tests with one worker thread (tests/cli/workers_run.sh).
exec bash "$(dirname "$0")/workers_run.sh" 1 "$1"
