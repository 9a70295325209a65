#!/usr/bin/env bash
echo "infrastructure checks: none yet"
