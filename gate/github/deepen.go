package github

import (
	"cmp"
	"encoding/json"
	"os"
	"strings"
)

// DeepenFix is the workflow's own way to fetch the history, for a note
// when the clone cannot be deepened. (The credentials to deepen with are
// the checkout's own: repo.Deepen reads the http.<url>.extraheader that
// actions/checkout persists, which needs no variable.)
const DeepenFix = "`fetch-depth: 0` on actions/checkout"

// PushRange is a push's previous and new head from the event payload, for
// deepening a shallow checkout before the range is decided (Context
// judges a push on before..after only when the clone holds before; a
// depth-1 checkout does not). "" for other events, a new branch (before
// all zeros), or a payload that cannot be read (Context says why).
func PushRange(getenv func(string) string) (before, after string) {
	if getenv("GITHUB_EVENT_NAME") != "push" || getenv("GITHUB_EVENT_PATH") == "" {
		return "", ""
	}
	data, err := os.ReadFile(getenv("GITHUB_EVENT_PATH"))
	if err != nil {
		return "", ""
	}
	var e struct{ Before, After string }
	if json.Unmarshal(data, &e) != nil || strings.Trim(e.Before, "0") == "" {
		return "", ""
	}
	return e.Before, cmp.Or(e.After, getenv("GITHUB_SHA"))
}
