#!/usr/bin/env bash
# The README's first command: set the machine up, bring up examples/hello, and show it running.
# The project stays up afterwards; `corral down -p hello` takes it away.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
echo "+ corral up -d -f examples/hello/corral.yaml"
corral up -d -f examples/hello/corral.yaml
echo "+ corral ps -p hello"
corral -p hello ps
echo "+ corral logs -f -p hello web/client   (for 5 seconds)"
timeout 5 corral -p hello logs -f web/client || true
echo
echo "The hello project is running. Try: corral -p hello ps; corral -p hello logs -f web/server; corral -p hello down"
