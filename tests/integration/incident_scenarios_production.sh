#!/bin/bash
# The incident world (incident_lib.sh) on a sandbox whose default branch is
# named production: Scenario 3 for a deleted day range (missing) and for rows
# deleted and corrupted (undo), option B for clients deleted with their
# visits (parents first), option A-in-place and option A, judged row by row
# while the application keeps writing.
set -u
# shellcheck source=tests/integration/incident_lib.sh
. "$(dirname "$0")/incident_lib.sh"

incident_world production selective selective_undo cascade_b a_in_place a
done_testing
