#!/bin/bash
# neon_default_branch.sh with the default branch called main: options B,
# A-in-place and A behave the same whatever the default branch is called.
DEFAULT_BRANCH=main exec "$(dirname "$0")/neon_default_branch.sh"
