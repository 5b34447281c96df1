#!/bin/sh
# Release script of the demo shop (fake token, planted for secgate's demo).
set -eu

export GITHUB_TOKEN="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"
gh release create "$1" dist/*
curl -X POST -H 'Content-type: application/json' --data '{"text":"released"}' \
  -H "Authorization: Bearer xoxb-147405376053-0072224738192-1ia135N6H02Q4mMv6DrI8cpy" https://slack.com/api/chat.postMessage
