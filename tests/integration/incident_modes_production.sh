#!/bin/bash
# The incident world (incident_lib.sh) on a sandbox whose default branch is
# named production: Scenario 1 option B with copy_mode missing (a day range deleted),
# revert (a column corrupted) and undo (both), judged row by row while the
# application keeps writing.
set -u
# shellcheck source=tests/integration/incident_lib.sh
. "$(dirname "$0")/incident_lib.sh"

incident_world production b_missing b_revert b_undo
done_testing
