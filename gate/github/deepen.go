package github

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/secgate/secgate/gate/repo"
)

// DeepenFix is the workflow's own way to fetch the history, for a note
// when the clone cannot be deepened.
const DeepenFix = "`fetch-depth: 0` on actions/checkout"

// Deepen makes a shallow checkout hold base..head whole (repo.Deepen)
// with the token actions/checkout persisted: repo.Deepen reads the
// checkout's http.<url>.extraheader itself, so no variable is needed
// (getenv: the signature every platform's Deepen has). note says what was
// done, "" when nothing was needed; the error ends with DeepenFix.
func Deepen(ctx context.Context, getenv func(string) string, root, base, head string) (note string, err error) {
	note, err = repo.Deepen(ctx, root, repo.DeepenOptions{Base: base, Head: head})
	if err != nil {
		return "", fmt.Errorf("%w (%s fetches the history)", err, DeepenFix)
	}
	return note, nil
}

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
