#!/usr/bin/env bash
echo "workflow checks: none yet"
