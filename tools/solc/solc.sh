#!/bin/sh
# Installed by tools/provision_solc.py as solc-v<version> where py-solc-x looks for compilers.
exec node "@SOLC_JS@" "$@"
