#!/bin/bash
# The incident world (incident_lib.sh) on a sandbox whose default branch is
# named production: Scenario 1 B (missing, revert, undo), A-in-place and A, and
# Scenario 3, each judged row by row while the application keeps writing.
set -u
# shellcheck source=tests/integration/incident_lib.sh
. "$(dirname "$0")/incident_lib.sh"

incident_world production
done_testing
